/**
 * Per-machine tuning of the decode matmuls (lib/tuning/): the software prefetch distance never
 * changes a result (every level, weight format and streaming shape, exact and fast, compared bit
 * for bit), the measurement is cached per CPU, options and environment override it, bad values are
 * typed errors, and model.runtime reports what is in effect.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, InvalidArgumentError, RecurrentGemma, kernels } from '../lib';
import { addon } from '../lib/native';
import { resolveSpinMicros } from '../lib/tuning/spin';
import { applyStreamTuning, currentStreamTuning, measurePrefetch, pickPrefetch, tuningCacheFile, tuningKey } from '../lib/tuning/stream';
import { gaussian, rng, toBf16Bits, toF16Bits } from './helpers/checkpoint-writer';

const rand = rng(7);
const randn = (n: number) => Float32Array.from({ length: n }, () => gaussian(rand));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-tuning-'));
const initial = kernels.streamTuning();
afterEach(() => kernels.setStreamTuning(initial));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Dtype = 'F32' | 'BF16' | 'F16' | 'Q8' | 'Q4';
function weightsFor(dtype: Dtype, rows: number, cols: number) {
  const w = randn(rows * cols);
  if (dtype === 'F32') return { weight: w };
  if (dtype === 'BF16') return { weight: Uint16Array.from(w, toBf16Bits) };
  if (dtype === 'F16') return { weight: Uint16Array.from(w, toF16Bits) };
  const q = addon.quantize({ data: w, dtype: 'F32', rows, cols, format: dtype === 'Q8' ? 'int8' : 'q4' });
  return { weight: dtype === 'Q8' ? new Int8Array(q.data.buffer, q.data.byteOffset, q.data.length) : q.data, scales: q.scales };
}

describe('the prefetch distance never changes a result', () => {
  const levels = kernels.availableSimdLevels().filter((l) => l !== 'scalar');
  // Streaming shapes: T = 1 (one row after the other), 2-4 (row tiles), up to 16 (token groups);
  // 96 columns leave a tail after the 64-wide blocks; quantized weights need cols % 32 == 0.
  const shapes: [number, number, number][] = [[1, 37, 96], [1, 9, 2048], [3, 19, 160], [4, 8, 64], [7, 21, 96], [16, 5, 128]];
  const table = levels.flatMap((level) =>
    (['F32', 'BF16', 'F16', 'Q8', 'Q4'] as const).flatMap((dtype) =>
      (kernels.hasFastMatmul(level) ? (['exact', 'fast'] as const) : (['exact'] as const)).flatMap((precision) =>
        shapes.map(([T, rows, cols]) => ({ level, dtype, precision, T, rows, cols })),
      ),
    ),
  );
  (table.length ? test.each(table) : test.skip.each([{ level: 'none', dtype: 'F32', precision: 'exact', T: 0, rows: 0, cols: 0 }]))(
    '$level $dtype $precision T=$T $rows x $cols',
    ({ level, dtype, precision, T, rows, cols }) => {
      const x = randn(T * cols);
      const bias = randn(rows);
      const args = { x, T, rows, cols, bias, dtype: dtype as Dtype, precision: precision as 'exact' | 'fast', ...weightsFor(dtype as Dtype, rows, cols) };
      kernels.setStreamTuning({ prefetchBytes: 0 });
      const off = kernels.matmul(args, level as kernels.KernelLevel);
      for (const prefetchBytes of [64, 512, 4096]) {
        expect(kernels.setStreamTuning({ prefetchBytes }).prefetchBytes).toBe(prefetchBytes);
        expect(kernels.matmul(args, level as kernels.KernelLevel)).toEqual(off);
      }
    },
  );
});

test('setStreamTuning rounds down to cache lines and rejects values out of range', () => {
  expect(kernels.setStreamTuning({ prefetchBytes: 1000 }).prefetchBytes).toBe(960);
  expect(kernels.streamTuning().prefetchBytes).toBe(960);
  expect(() => kernels.setStreamTuning({ prefetchBytes: -1 })).toThrow(/prefetchBytes/);
  expect(() => kernels.setStreamTuning({ prefetchBytes: 1 << 20 })).toThrow(/prefetchBytes/);
});

test('pickPrefetch keeps hardware prefetching unless a distance clearly beats it', () => {
  expect(pickPrefetch([{ prefetchBytes: 0, gbPerSecond: 20 }, { prefetchBytes: 512, gbPerSecond: 20.8 }])).toBe(0); // 4 %: noise margin
  expect(pickPrefetch([{ prefetchBytes: 0, gbPerSecond: 20 }, { prefetchBytes: 512, gbPerSecond: 21.2 }])).toBe(512);
  expect(pickPrefetch([{ prefetchBytes: 0, gbPerSecond: 14 }, { prefetchBytes: 512, gbPerSecond: 20 }, { prefetchBytes: 1024, gbPerSecond: 22 }])).toBe(1024);
  expect(pickPrefetch([{ prefetchBytes: 256, gbPerSecond: 22 }, { prefetchBytes: 0, gbPerSecond: 25 }])).toBe(0);
});

describe('applyStreamTuning', () => {
  const simd = kernels.cpuInfo().selected;
  const base = { simd, threads: 2, hugePages: false, streamBytes: 2 ** 31 };

  test('option, then environment, take precedence over any measurement', () => {
    expect(applyStreamTuning({ ...base, option: 512, env: { RECURRENTGEMMA_PREFETCH_BYTES: '1024' } })).toEqual({ prefetchBytes: 512, source: 'option' });
    expect(kernels.streamTuning().prefetchBytes).toBe(512);
    expect(applyStreamTuning({ ...base, env: { RECURRENTGEMMA_PREFETCH_BYTES: '1024' } })).toEqual({ prefetchBytes: 1024, source: 'env' });
    expect(currentStreamTuning()).toEqual({ prefetchBytes: 1024, source: 'env' });
    expect(() => applyStreamTuning({ ...base, env: { RECURRENTGEMMA_PREFETCH_BYTES: 'far' } })).toThrow(InvalidArgumentError);
    expect(() => applyStreamTuning({ ...base, option: -5 })).toThrow(/streamPrefetchBytes must be an integer/);
  });

  (simd === 'scalar' ? test.skip : test)('measures once per machine and caches the choice keyed by the CPU model', () => {
    const env = { XDG_CACHE_HOME: path.join(tmp, 'cache') };
    const file = tuningCacheFile(env);
    expect(file).toBe(path.join(tmp, 'cache', 'recurrentgemma', 'stream-tuning.json'));
    const first = applyStreamTuning({ ...base, env, measureBytes: 4 << 20 });
    expect(first.source).toBe('measured');
    const cached = JSON.parse(fs.readFileSync(file, 'utf8'));
    const key = tuningKey(base);
    expect(key).toContain(kernels.cpuInfo().modelName);
    expect(cached[key].prefetchBytes).toBe(first.prefetchBytes);
    expect(cached[key].measured.map((m: { prefetchBytes: number }) => m.prefetchBytes)).toContain(0);
    expect(applyStreamTuning({ ...base, env, measureBytes: 4 << 20 })).toEqual({ prefetchBytes: first.prefetchBytes, source: 'cached' });
    // Small models (weights in cache memory) never measure.
    kernels.setStreamTuning({ prefetchBytes: 128 });
    expect(applyStreamTuning({ ...base, streamBytes: 1 << 20, env: { XDG_CACHE_HOME: path.join(tmp, 'other') } }).prefetchBytes).toBe(128);
    expect(fs.existsSync(path.join(tmp, 'other'))).toBe(false);
  });

  (simd === 'scalar' ? test.skip : test)('measurePrefetch reports a throughput per candidate and restores the setting', () => {
    kernels.setStreamTuning({ prefetchBytes: 192 });
    const m = measurePrefetch({ threads: 1, simd, hugePages: false, bytes: 1 << 20, rounds: 1, candidates: [0, 1024] });
    expect(m.map((c) => c.prefetchBytes)).toEqual([0, 1024]);
    for (const c of m) expect(c.gbPerSecond).toBeGreaterThan(0);
    expect(kernels.streamTuning().prefetchBytes).toBe(192);
  });
});

test('spinMicros: option, environment, default, and typed errors', () => {
  expect(resolveSpinMicros(undefined, {})).toBe(0);
  expect(resolveSpinMicros(undefined, { RECURRENTGEMMA_SPIN_US: '0' })).toBe(0);
  expect(resolveSpinMicros(50, { RECURRENTGEMMA_SPIN_US: '0' })).toBe(50);
  expect(() => resolveSpinMicros(undefined, { RECURRENTGEMMA_SPIN_US: '-3' })).toThrow(InvalidArgumentError);
  expect(() => resolveSpinMicros(1.5)).toThrow(/spinMicros must be an integer/);
});

test('model.runtime reports the tuning in effect, the spin and AMX', async () => {
  const model = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { threads: 2, streamPrefetchBytes: 256, spinMicros: 20 });
  try {
    const rt = model.runtime;
    expect(rt.streamPrefetchBytes).toBe(256);
    expect(rt.streamTuning).toBe('option');
    expect(rt.spinMicros).toBe(20);
    expect(rt.amx).toBe(kernels.cpuInfo().amx.usable);
    expect(rt.releasedBytes).toBe(0); // stored weights stay mapped
  } finally {
    model.dispose();
  }
  await expect(RecurrentGemma.load(DEFAULT_MODEL_DIR, { spinMicros: -1 })).rejects.toThrow(InvalidArgumentError);
  await expect(RecurrentGemma.load(DEFAULT_MODEL_DIR, { streamPrefetchBytes: 'far' as never })).rejects.toThrow(/streamPrefetchBytes/);
});

test('cpuInfo names the CPU and says whether AMX is usable (and why not)', () => {
  const cpu = kernels.cpuInfo();
  expect(typeof cpu.modelName).toBe('string');
  expect(cpu.amx.usable).toBe(cpu.amx.usable && cpu.amx.tile);
  if (!cpu.amx.usable) expect(cpu.amx.reason).toMatch(/AMX/);
  if (process.platform === 'linux' && process.arch === 'x64') {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
    expect(cpu.amx.tile).toBe(/\bamx_tile\b/.test(cpuinfo));
  }
});
