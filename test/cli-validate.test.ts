/** `recurrentgemma validate`: exit code and report for a good checkpoint and a poisoned one. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readSafetensorsHeader } from '../lib/checkpoint';

const root = path.join(__dirname, '..');
const main = path.join(root, 'dist', 'cli', 'main.js');
const fixture = path.join(__dirname, 'fixtures', 'tiny-f32');

function run(args: string[]) {
  return spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'validate.js'))) spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
});

test('a sound checkpoint validates with exit code 0', () => {
  const r = run(['validate', '--model', fixture, '--scan-values']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^ok: .*tiny-f32 \(\d+ tensors, \d+ bytes scanned\)/);
});

test('NaN and Inf weights are reported by tensor name with exit code 1', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-validate-'));
  try {
    fs.copyFileSync(path.join(fixture, 'config.json'), path.join(dir, 'config.json'));
    const file = path.join(dir, 'model.safetensors');
    fs.copyFileSync(path.join(fixture, 'model.safetensors'), file);
    const victim = 'model.layers.3.mlp_block.up_proj.weight';
    const t = readSafetensorsHeader(file).tensors.get(victim)!;
    const bytes = fs.readFileSync(file);
    bytes.writeFloatLE(NaN, t.offset + 8);
    bytes.writeFloatLE(Infinity, t.offset + 40);
    fs.writeFileSync(file, bytes);

    const r = run(['validate', '--model', dir, '--scan-values', '--json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; nonFinite: Array<{ tensor: string; nan: number; posInf: number; firstIndex: number }> };
    expect(report.ok).toBe(false);
    expect(report.nonFinite).toEqual([expect.objectContaining({ tensor: victim, nan: 1, posInf: 1, firstIndex: 2 })]);
    // Without the scan the headers are fine: the poison is only found by reading the values.
    expect(run(['validate', '--model', dir]).status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
