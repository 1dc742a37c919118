/** `recurrentgemma validate`: exit code and report for a good checkpoint and a poisoned one. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, synthesizeCheckpoint, validateCheckpoint } from '../lib';
import { readSafetensorsHeader } from '../lib/checkpoint';
import { cli } from './helpers/cli';
import { ensureDistBuilt } from './helpers/dist';

const fixture = path.join(__dirname, 'fixtures', 'tiny-f32');

function run(args: string[]) {
  const r = cli(args, { timeoutMs: 60_000 });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(ensureDistBuilt);

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

describe('tokenizer and chat template', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-validate-tok-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the demo model with `edit` applied to it. */
  function variant(name: string, edit: (dir: string) => void): string {
    const dir = path.join(tmp, name);
    fs.cpSync(DEFAULT_MODEL_DIR, dir, { recursive: true });
    edit(dir);
    return dir;
  }
  function editJson(file: string, change: (j: Record<string, unknown>) => void): void {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    change(j);
    fs.writeFileSync(file, JSON.stringify(j));
  }
  const codes = (r: { issues: { severity: string; code: string }[] }) => r.issues.map((i) => `${i.severity} ${i.code}`);

  test('the demo model: tokenizer, special tokens and chat template reported on stdout', () => {
    const r = run(['validate']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tokenizer: 4096 ids \(<bos> 2, <eos> 1, <pad> 0, <start_of_turn> \d+, <end_of_turn> \d+\); chat template: tokenizer_config.json's, renders$/m);
  });

  test('unparseable tokenizer.json is an error (and the weights are still checked)', async () => {
    const dir = variant('bad-json', (d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": '));
    const r = await validateCheckpoint(dir);
    expect(r.ok).toBe(false);
    expect(r.tensorCount).toBeGreaterThan(0);
    expect(codes(r)).toEqual(['error ERR_RG_TOKENIZER_FILE']);
    expect(r.issues[0]!.message).toMatch(/tokenizer\.json.* not valid JSON/);
  });

  test('special token ids that disagree with config.json are errors', async () => {
    const dir = variant('bos', (d) => editJson(path.join(d, 'config.json'), (j) => (j.bos_token_id = 3)));
    const r = await validateCheckpoint(dir);
    expect(codes(r)).toEqual(['error ERR_RG_SPECIAL_TOKEN']);
    expect(r.issues[0]!.message).toMatch(/bos token is id 2 but config\.json's bos_token_id is 3/);
  });

  test.each([
    ['does not parse', '{% for m in messages %}{{ m.content }}', /does not render.*parse/],
    ['raises', "{{ raise_exception('system messages are not supported') }}", /does not render.*system messages are not supported/],
    ['drops a turn', '{{ bos_token }}{{ messages[0].content }}', /does not render.*assistant message "A rule that defines each term from the previous ones\." is missing/],
  ])('a chat template that %s is an error', async (name, template, message) => {
    const dir = variant(`tpl-${name.replace(/ /g, '-')}`, (d) => editJson(path.join(d, 'tokenizer_config.json'), (j) => (j.chat_template = template)));
    const r = await validateCheckpoint(dir);
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(['error ERR_RG_CHAT_TEMPLATE']);
    expect(r.issues[0]!.message).toMatch(message);
    const cliRun = run(['validate', '--model', dir]);
    expect(cliRun.status).toBe(1);
    expect(cliRun.stdout).toMatch(/^error ERR_RG_CHAT_TEMPLATE: .*tokenizer_config\.json/m);
  });

  test('vocab_size padded above the tokenizer is a warning; a tokenizer larger than vocab_size an error', async () => {
    const copyTokenizer = (d: string) => {
      for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) fs.copyFileSync(path.join(DEFAULT_MODEL_DIR, f), path.join(d, f));
    };
    const padded = path.join(tmp, 'padded');
    synthesizeCheckpoint(padded, { preset: 'tiny', overrides: { vocab_size: 4160 } });
    copyTokenizer(padded);
    const p = await validateCheckpoint(padded);
    expect(p.ok).toBe(true);
    expect(codes(p)).toEqual(['warning ERR_RG_VOCAB_PADDED']);
    expect(p.issues[0]!.message).toMatch(/4096 ids, config\.json's vocab_size is 4160: ids 4096\.\.4159 are embedding padding/);

    const small = path.join(tmp, 'small');
    synthesizeCheckpoint(small, { preset: 'tiny', overrides: { vocab_size: 4000 } });
    copyTokenizer(small);
    const s = await validateCheckpoint(small);
    expect(s.ok).toBe(false);
    expect(codes(s)).toContain('error ERR_RG_TOKENIZER_FILE');
    expect(s.issues.find((i) => i.code === 'ERR_RG_TOKENIZER_FILE')!.message).toMatch(/4096 ids but config\.json's vocab_size is 4000/);
  });
});
