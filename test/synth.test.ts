/**
 * Synthetic checkpoints (lib/synth.ts), the streaming safetensors writer, huge-page weight copies
 * and the benchmark helpers of the native addon.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { InvalidArgumentError, RecurrentGemma, openCheckpoint } from '../lib';
import { compareLogits } from '../lib/bench/quality';
import { linePlot } from '../lib/bench/plot';
import { cpuModelName, type MachineLimits } from '../lib/bench/machine';
import { pathPeak } from '../lib/bench/run';
import { readSafetensorsHeader } from '../lib/checkpoint';
import { SafetensorsWriter } from '../lib/checkpoint/writer';
import { addon } from '../lib/native';
import { SYNTH_PRESETS, synthConfigJson, synthesizeCheckpoint } from '../lib/synth';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-synth-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function bf16ToF32(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
}

function tensorValues(file: string, name: string): Float32Array {
  const h = readSafetensorsHeader(file);
  const t = h.tensors.get(name)!;
  const buf = fs.readFileSync(file).subarray(t.offset, t.offset + t.nbytes);
  if (t.dtype === 'F32') return new Float32Array(new Uint8Array(buf).buffer);
  const u16 = new Uint16Array(new Uint8Array(buf).buffer);
  return Float32Array.from(u16, bf16ToF32);
}

describe('synthesizeCheckpoint', () => {
  const dir = path.join(tmp, 'tiny');
  let result: ReturnType<typeof synthesizeCheckpoint>;
  beforeAll(() => {
    result = synthesizeCheckpoint(dir, { preset: 'tiny', seed: 9, shardBytes: 100_000 });
  });

  test('writes a sharded HF folder the loader accepts, with the preset sizes', () => {
    expect(result.files.length).toBeGreaterThan(1);
    expect(fs.existsSync(path.join(dir, 'model.safetensors.index.json'))).toBe(true);
    const ck = openCheckpoint(dir);
    expect(ck.config.width).toBe(SYNTH_PRESETS.tiny.hidden_size);
    expect(ck.config.mlpWidth).toBe(SYNTH_PRESETS.tiny.intermediate_size! / 2);
    expect(ck.dtype).toBe('BF16');
    const bytes = ck.tensors.reduce((s, t) => s + t.nbytes, 0);
    expect(bytes).toBe(result.bytes);
    expect(result.params * 2).toBe(result.bytes);
  });

  test('values are finite, normal and at the scale of their role', () => {
    const ck = openCheckpoint(dir);
    const D = ck.config.width;
    for (const t of ck.tensors) {
      const v = tensorValues(ck.files[t.file]!, t.name);
      const bad = v.filter((x) => !Number.isFinite(x) || (x !== 0 && Math.abs(x) < 1.2e-38));
      expect(bad.length).toBe(0);
      const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
      if (t.name === 'model.embed_tokens.weight') expect(std).toBeCloseTo(1 / Math.sqrt(D), 2);
      if (t.name.endsWith('mlp_block.down_proj.weight')) expect(std).toBeCloseTo(1 / Math.sqrt(ck.config.mlpWidth), 2);
      if (t.name.endsWith('recurrent_param')) {
        // Decay per step a = exp(-softplus(p)) in [0.9, 0.999].
        const a = Array.from(v, (p) => Math.exp(-Math.log1p(Math.exp(p))));
        expect(Math.min(...a)).toBeGreaterThan(0.899);
        expect(Math.max(...a)).toBeLessThan(0.9991);
      }
    }
  });

  test('is deterministic for a seed and differs across seeds', () => {
    const again = synthesizeCheckpoint(path.join(tmp, 'again'), { preset: 'tiny', seed: 9 });
    const other = synthesizeCheckpoint(path.join(tmp, 'other'), { preset: 'tiny', seed: 10 });
    const name = 'model.layers.1.mlp_block.up_proj.weight';
    const ck = openCheckpoint(dir);
    const a = tensorValues(ck.files[ck.tensors.find((t) => t.name === name)!.file]!, name);
    expect(Array.from(tensorValues(again.files[0]!, name))).toEqual(Array.from(a));
    expect(Array.from(tensorValues(other.files[0]!, name))).not.toEqual(Array.from(a));
  });

  test('runs: finite logits, and huge-page copies give the same logits as the mapping', async () => {
    const ids = [2, 40, 41, 42, 300];
    const mapped = await RecurrentGemma.load(dir, { threads: 1 });
    const huge = await RecurrentGemma.load(dir, { threads: 1, hugePages: true });
    const a = await mapped.forward(mapped.createState(), ids, { allLogits: true });
    const b = await huge.forward(huge.createState(), ids, { allLogits: true });
    expect(a.every(Number.isFinite)).toBe(true);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(huge.runtime.ownedBytes).toBeGreaterThan(mapped.runtime.ownedBytes);
    expect(mapped.runtime.streamBytes).toBe(huge.runtime.streamBytes);
    // Random weights still give a spread distribution, not a degenerate one.
    const q = compareLogits(a, b, ids, mapped.config.vocabSize);
    expect(q.perplexityReference).toBeGreaterThan(1);
    mapped.dispose();
    huge.dispose();
  });

  test('custom sizes and bad options', () => {
    const c = synthConfigJson('2b', { num_hidden_layers: 2 });
    expect(c.hidden_size).toBe(2560);
    expect(c.num_hidden_layers).toBe(2);
    expect(c.head_dim).toBe(256);
    expect(() => synthConfigJson('3b' as '2b')).toThrow(InvalidArgumentError);
    expect(() => synthConfigJson('tiny', { hidden_size: 0 })).toThrow(/positive integer/);
    expect(() => synthesizeCheckpoint(path.join(tmp, 'x'), { dtype: 'f8' as 'f32' })).toThrow(InvalidArgumentError);
  });
});

describe('SafetensorsWriter', () => {
  test('writes in plan order and refuses out-of-order or oversized writes', () => {
    const file = path.join(tmp, 'w.safetensors');
    const w = new SafetensorsWriter(file, [{ name: 'a', dtype: 'BF16', shape: [3] }, { name: 'b', dtype: 'F32', shape: [2] }], { k: 'v' });
    expect(w.next!.name).toBe('b');  // wider dtypes first
    expect(() => w.write('a', new Uint16Array(3))).toThrow(/expected b/);
    w.write('b', new Float32Array([1.5, -2]));
    expect(() => w.write('a', new Uint16Array(4))).toThrow(/more than its 6/);
    w.write('a', new Uint16Array([1, 2]));
    w.write('a', new Uint16Array([3]));
    w.close();
    const h = readSafetensorsHeader(file);
    expect(h.metadata).toEqual({ k: 'v' });
    expect(h.dataOffset % 8).toBe(0);
    expect(Array.from(tensorValues(file, 'b'))).toEqual([1.5, -2]);
    const w2 = new SafetensorsWriter(path.join(tmp, 'w2.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }]);
    expect(() => w2.close()).toThrow(/before tensor a was complete/);
  });
});

describe('benchmark helpers', () => {
  test('read bandwidth and compute peaks are positive and finite', () => {
    const r = addon.bench.readBandwidth(64 << 20, 1, false);
    expect(r.gbPerSecond).toBeGreaterThan(0.1);
    expect(Number.isFinite(r.checksum)).toBe(true);
    const cpu = addon.cpuInfo();
    const fma = addon.bench.computePeak('fma32', 1, 0.02);
    if (cpu.features.avx2 || cpu.features.avx512f) expect(fma).toBeGreaterThan(1e9);
    expect(() => addon.bench.computePeak('fp64' as 'fma32', 1)).toThrow(/kind must be/);
    expect(() => addon.bench.readBandwidth(64 << 20, 0)).toThrow(/out of range/);
  });

  test('AMX peaks are measured only where the CPU reports AMX and the OS grants it', () => {
    const cpu = addon.cpuInfo();
    for (const kind of ['amx-bf16', 'amx-int8'] as const) {
      const peak = addon.bench.computePeak(kind, 1, 0.02);
      if (cpu.amx.usable) expect(peak).toBeGreaterThan(1e10);
      else expect(peak).toBe(0);
    }
    const m = { bf16Gflops: 100, int8Gops: 400, fmaGflops: 200 } as MachineLimits;
    expect(pathPeak(m, 'stored', 'exact').name).toBe('fp32 FMA');
    expect(pathPeak(m, 'int8', 'exact').value).toBe(200);
    expect(pathPeak(m, 'stored', 'fast')).toEqual({ name: 'bf16-dot (vdpbf16ps)', value: 100 });
    expect(pathPeak(m, 'q4', 'fast')).toEqual({ name: 'int8-dot (vpdpbusd)', value: 400 });
    expect(pathPeak({ ...m, bf16Gflops: 0 }, 'stored', 'fast').name).toBe('fp32 FMA');
  });

  test('the machine report names the CPU and says whether AMX is there', () => {
    const cpu = addon.cpuInfo();
    expect(cpuModelName()).toContain(`family ${cpu.family} model ${cpu.model}`);
    if (cpu.modelName) expect(cpuModelName()).toContain(cpu.modelName);
  });

  test('kernel cases run the fast matmul when asked', () => {
    const c = new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'Q8', rows: 64, cols: 128, T: 1, threads: 2, hugePages: false, precision: 'fast' });
    c.run();
    c.dispose();
    expect(() => new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'Q8', rows: 64, cols: 128, precision: 'fastest' as 'fast' })).toThrow(/precision must be/);
  });

  test('kernel cases run at their shape and report bytes and flops', () => {
    const c = new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'Q4', rows: 64, cols: 128, T: 2, threads: 2, hugePages: false });
    c.run();
    expect(c.flopsPerRun).toBe(2 * 64 * 128 * 2);
    expect(c.bytesPerRun).toBe(64 * 64 + 64 * 4 * 4 + 4 * (2 * 128 + 2 * 64));
    c.dispose();
    expect(() => c.run()).toThrow(/disposed/);
    expect(() => new addon.bench.KernelCase({ kernel: 'conv' as 'matmul' })).toThrow(/unknown kernel/);
    expect(() => new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'Q8', rows: 4, cols: 40 })).toThrow(/divisible by 32/);
  });

  test('plots are well-formed SVG with every series', () => {
    const svg = linePlot({ title: 'a < b', xLabel: 'x', yLabel: 'y', series: [{ name: 'one', points: [[0, 1], [10, 2]] }, { name: 'two', points: [[0, 3]] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt; b');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
  });
});
