/**
 * RECURRENTGEMMA_SIMD is read by the addon in the process that loads the model, so each case runs
 * in a fresh node process with the variable set, loading the built package (dist/, as installed
 * users get it) and reporting which kernels the model runs with.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { kernels } from '../lib';

const root = path.join(__dirname, '..');
const distEntry = path.join(root, 'dist', 'index.js');
const fixture = path.join(__dirname, 'fixtures', 'tiny-f32');
const ALL_LEVELS = ['scalar', 'avx2', 'avx512'] as const;

interface ChildReport {
  simd?: string;
  selected?: string;
  best?: string;
  selectionError?: string;
  error?: { name: string; code: string; message: string };
}

/** Loads the fixture in a child process with RECURRENTGEMMA_SIMD=`value` (unset when undefined). */
function loadWithEnv(value: string | undefined): ChildReport {
  const env = { ...process.env };
  delete env.RECURRENTGEMMA_SIMD;
  if (value !== undefined) env.RECURRENTGEMMA_SIMD = value;
  const script = `
    const rg = require(${JSON.stringify(distEntry)});
    const out = (o) => process.stdout.write(JSON.stringify(o));
    const info = rg.kernels.cpuInfo();
    rg.RecurrentGemma.load(${JSON.stringify(fixture)}, { threads: 1 }).then(
      (m) => { out({ simd: m.runtime.simd, selected: info.selected, best: info.best, selectionError: info.selectionError }); m.dispose(); },
      (e) => out({ error: { name: e.constructor.name, code: e.code, message: e.message } }),
    );`;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

const available = kernels.availableSimdLevels();
const unavailable = ALL_LEVELS.filter((l) => !available.includes(l));

beforeAll(() => {
  if (!fs.existsSync(distEntry)) throw new Error(`${distEntry} is missing: run \`npm run build\` first`);
});

test('without RECURRENTGEMMA_SIMD the model runs the best level this CPU and binary support', () => {
  const r = loadWithEnv(undefined);
  expect(r.error).toBeUndefined();
  expect(r.simd).toBe(available[available.length - 1]);
  expect(r.best).toBe(r.simd);
  expect(r.selected).toBe(r.simd);
});

test('an empty RECURRENTGEMMA_SIMD counts as unset', () => {
  expect(loadWithEnv('').simd).toBe(available[available.length - 1]);
});

test.each(available)('RECURRENTGEMMA_SIMD=%s selects that level', (level) => {
  const r = loadWithEnv(level);
  expect(r.error).toBeUndefined();
  expect(r.simd).toBe(level);
  expect(r.selected).toBe(level);
  expect(r.selectionError).toBeUndefined();
});

// On a CPU (and binary) that runs every level there is nothing unsupported to ask for.
(unavailable.length > 0 ? test.each(unavailable) : test.skip.each(['(every level is available)']))(
  'RECURRENTGEMMA_SIMD=%s, unsupported here, fails the load with a clear error',
  (level) => {
    const r = loadWithEnv(level);
    expect(r.simd).toBeUndefined();
    expect(r.error).toMatchObject({ name: 'InvalidArgumentError', code: 'ERR_RG_INVALID_SIMD' });
    expect(r.error!.message).toContain(`RECURRENTGEMMA_SIMD=${level} is not supported`);
    expect(r.error!.message).toContain(`best: ${available[available.length - 1]}`);
  },
);

test.each(['sse9', 'AVX2', ' scalar'])('RECURRENTGEMMA_SIMD=%j is rejected as unknown', (value) => {
  const r = loadWithEnv(value);
  expect(r.simd).toBeUndefined();
  expect(r.error).toMatchObject({ name: 'InvalidArgumentError', code: 'ERR_RG_INVALID_SIMD' });
  expect(r.error!.message).toBe(`RECURRENTGEMMA_SIMD must be scalar, avx2 or avx512, got '${value}'`);
});
