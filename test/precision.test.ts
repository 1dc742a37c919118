/**
 * The `fast` precision: the matmul kernels (scalar reference against float64 expectations of its
 * definition and against exact float64 products with the error bound its rounding implies; every
 * SIMD level against the reference) and the model (fast vs exact on the demo model and the
 * tiny-f32 fixture).
 */
import * as fs from 'fs';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, RecurrentGemma, kernels } from '../lib';
import { fromBf16Bits, gaussian, rng, toBf16Bits } from './helpers/checkpoint-writer';
import { compareLogits } from './helpers/precision';

const rand = rng(7);
const randn = (n: number, std = 1) => Float32Array.from({ length: n }, () => std * gaussian(rand));
const fastLevels = kernels.availableSimdLevels().filter((l) => l !== 'scalar' && kernels.hasFastMatmul(l));
const bf16 = (v: number) => fromBf16Bits(toBf16Bits(v));

type Quant = 'Q8' | 'Q4';
interface Case {
  T: number;
  rows: number;
  cols: number;
  dtype: 'BF16' | Quant;
  x: Float32Array;
  weight: Uint16Array | Int8Array | Uint8Array;
  scales?: Float32Array;
  bias: Float32Array;
  /** Dequantized / widened weights, row-major. */
  w: Float64Array;
}

function makeCase(T: number, rows: number, cols: number, dtype: 'BF16' | Quant): Case {
  const x = randn(T * cols, 2), bias = randn(rows);
  const w = new Float64Array(rows * cols);
  if (dtype === 'BF16') {
    const weight = Uint16Array.from(randn(rows * cols, 1 / Math.sqrt(cols)), toBf16Bits);
    weight.forEach((h, i) => (w[i] = fromBf16Bits(h)));
    return { T, rows, cols, dtype, x, weight, bias, w };
  }
  const G = cols / 32;
  const scales = Float32Array.from({ length: rows * G }, () => 0.001 + 0.02 * rand());
  const q = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * (dtype === 'Q8' ? 255 : 16)) - (dtype === 'Q8' ? 127 : 8));
  q.forEach((v, i) => (w[i] = v * scales[Math.floor(i / cols) * G + Math.floor((i % cols) / 32)]!));
  if (dtype === 'Q8') return { T, rows, cols, dtype, x, weight: q, scales, bias, w };
  const packed = new Uint8Array((rows * cols) / 2);
  for (let i = 0; i < packed.length; i++) packed[i] = (q[2 * i]! + 8) | ((q[2 * i + 1]! + 8) << 4);
  return { T, rows, cols, dtype, x, weight: packed, scales, bias, w };
}

/** sum |x w| + |bias| of one output: the scale of its float32 summation error. */
function magnitude(c: Case, t: number, r: number): number {
  let m = Math.abs(c.bias[r]!);
  for (let k = 0; k < c.cols; k++) m += Math.abs(c.x[t * c.cols + k]! * c.w[r * c.cols + k]!);
  return m;
}

const run = (c: Case, level: kernels.KernelLevel, precision: 'exact' | 'fast') =>
  kernels.matmul({ x: c.x, T: c.T, weight: c.weight, dtype: c.dtype, rows: c.rows, cols: c.cols, bias: c.bias, scales: c.scales, precision }, level);

/** float64 value of the fast definition (bf16 activations / per-group int8 activations), and the bound |fast - exact| may reach. */
function expectations(c: Case, t: number, r: number): { fast: number; exact: number; bound: number; mag: number } {
  const { cols } = c;
  const x = c.x.subarray(t * cols, (t + 1) * cols);
  let fast = c.bias[r]!, exact = c.bias[r]!, bound = 0, mag = Math.abs(c.bias[r]!);
  if (c.dtype === 'BF16') {
    for (let k = 0; k < cols; k++) {
      const wk = c.w[r * cols + k]!;
      fast += bf16(x[k]!) * wk;
      exact += x[k]! * wk;
      bound += Math.abs(x[k]! * wk) * 2 ** -9; // RNE to 8 significant bits: relative error <= 2^-9
      mag += Math.abs(x[k]! * wk);
    }
  } else {
    for (let g = 0; g < cols / 32; g++) {
      let amax = 0;
      for (let k = 32 * g; k < 32 * g + 32; k++) amax = Math.max(amax, Math.abs(x[k]!));
      const inv = Math.fround(127 / amax), sx = Math.fround(amax / 127);
      let wsum = 0;
      for (let k = 32 * g; k < 32 * g + 32; k++) {
        const wk = c.w[r * cols + k]!;
        let q = Math.fround(x[k]! * inv);
        q = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : Math.round(q); // ties to even
        fast += Math.max(-127, Math.min(127, q)) * sx * wk;
        exact += x[k]! * wk;
        mag += Math.abs(x[k]! * wk);
        wsum += Math.abs(wk);
      }
      bound += (amax / 127 / 2) * wsum * (1 + 1e-6); // each activation moves by at most half a step
    }
  }
  return { fast, exact, bound, mag };
}

const cases = [
  makeCase(4, 19, 100, 'BF16'),
  makeCase(9, 37, 333, 'BF16'),
  makeCase(16, 21, 96, 'Q8'),
  makeCase(19, 35, 320, 'Q8'),
  makeCase(16, 18, 64, 'Q4'),
  makeCase(23, 33, 256, 'Q4'),
  // decode (T < 16 reads the weights as stored; an odd number of groups leaves a half block)
  makeCase(1, 21, 96, 'Q8'),
  makeCase(3, 35, 320, 'Q8'),
  makeCase(1, 18, 224, 'Q4'),
  makeCase(6, 33, 256, 'Q4'),
];

describe('fast matmul: scalar reference', () => {
  test.each(cases.map((c) => [`${c.dtype} T=${c.T} ${c.rows}x${c.cols}`, c] as const))('%s: its definition in float64, and within the rounding bound of exact', (_n, c) => {
    const y = run(c, 'scalar', 'fast');
    let boundHits = 0;
    for (let t = 0; t < c.T; t++)
      for (let r = 0; r < c.rows; r++) {
        const e = expectations(c, t, r), got = y[t * c.rows + r]!;
        expect(Math.abs(got - e.fast)).toBeLessThanOrEqual(1e-6 * e.mag); // float32 summation only
        expect(Math.abs(got - e.exact)).toBeLessThanOrEqual(e.bound + 1e-6 * e.mag);
        if (Math.abs(got - e.exact) > 1e-6 * e.mag) boundHits++;
      }
    expect(boundHits).toBeGreaterThan(0); // the reduced precision is really in effect
  });

  test('fewer tokens than the threshold run exact (decode)', () => {
    for (const c of [makeCase(3, 17, 64, 'BF16')]) expect(run(c, 'scalar', 'fast')).toEqual(run(c, 'scalar', 'exact'));
  });
});

(fastLevels.length ? describe : describe.skip)('fast matmul: SIMD levels against the scalar reference', () => {
  const table = fastLevels.flatMap((level) => [...cases, makeCase(1, 40, 2560, 'BF16'), makeCase(37, 29, 2560, 'BF16'), makeCase(21, 40, 1024, 'Q4'), makeCase(1, 40, 2560, 'Q8'), makeCase(2, 41, 2592, 'Q8'), makeCase(1, 40, 2592, 'Q4'), makeCase(5, 23, 2560, 'Q4')].map((c) => [level, `${c.dtype} T=${c.T} ${c.rows}x${c.cols}`, c] as const));
  test.each(table)('%s: %s', (level, _n, c) => {
    const a = run(c, level, 'fast'), b = run(c, 'scalar', 'fast');
    for (let t = 0; t < c.T; t++)
      for (let r = 0; r < c.rows; r++) expect(Math.abs(a[t * c.rows + r]! - b[t * c.rows + r]!)).toBeLessThanOrEqual(2e-6 * magnitude(c, t, r));
  });
});

test('precision option is validated and reported', async () => {
  await expect(RecurrentGemma.load(DEFAULT_MODEL_DIR, { precision: 'fastest' as never })).rejects.toThrow(/precision must be 'exact' or 'fast'/);
  const exact = await RecurrentGemma.load(DEFAULT_MODEL_DIR);
  expect(exact.runtime.precision).toBe('exact');
  exact.dispose();
  const scalar = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { precision: 'fast', simd: 'scalar' });
  expect(scalar.runtime.precision).toBe('fast'); // the scalar reference defines fast everywhere
  scalar.dispose();
});

interface GoldenCase {
  name: string;
  prompt_ids: number[];
  greedy_ids: number[];
}
const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8')) as { cases: GoldenCase[] };

describe('fast vs exact on models', () => {
  test('tiny-f32 (F32 weights): fast changes nothing', async () => {
    const dir = path.join(__dirname, 'fixtures', 'tiny-f32');
    const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % 250);
    const [exact, fast] = await Promise.all([RecurrentGemma.load(dir), RecurrentGemma.load(dir, { precision: 'fast' })]);
    const a = await exact.forward(exact.createState(), ids, { allLogits: true });
    const b = await fast.forward(fast.createState(), ids, { allLogits: true });
    expect(b).toEqual(a);
    exact.dispose();
    fast.dispose();
  });

  (fastLevels.length ? test : test.skip)('demo model (BF16): top-1 agreement, KL, perplexity and golden greedy steps', async () => {
    const [exact, fast] = await Promise.all([RecurrentGemma.load(), RecurrentGemma.load(DEFAULT_MODEL_DIR, { precision: 'fast' })]);
    expect(fast.runtime.precision).toBe('fast');
    const V = exact.config.vocabSize;
    const stats = { positions: 0, agree: 0, kl: 0, nllExact: 0, nllFast: 0 };
    let greedySteps = 0, greedyTotal = 0;
    for (const c of golden.cases) {
      // Teacher-forced: the prompt and the reference continuation in one forward (prefill-sized).
      const ids = [...c.prompt_ids, ...c.greedy_ids];
      const a = await exact.forward(exact.createState(), ids, { allLogits: true });
      const b = await fast.forward(fast.createState(), ids, { allLogits: true });
      const s = compareLogits(a, b, V, c.prompt_ids.length - 1, ids.length - 1, (t) => ids[t + 1]!);
      for (const k of Object.keys(stats) as Array<keyof typeof stats>) stats[k] += s[k];
      // Greedy with the fast model: prompt prefill (fast), then decode steps.
      const state = fast.createState();
      let logits = await fast.forward(state, c.prompt_ids);
      let steps = 0;
      for (const want of c.greedy_ids) {
        let best = 0;
        for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
        if (best !== want) break;
        steps++;
        logits = await fast.forward(state, [best]);
      }
      greedySteps += steps;
      greedyTotal += c.greedy_ids.length;
    }
    const n = stats.positions;
    const report = {
      positions: n,
      top1Agreement: stats.agree / n,
      meanKL: stats.kl / n,
      perplexityExact: Math.exp(stats.nllExact / n),
      perplexityFast: Math.exp(stats.nllFast / n),
      greedySteps: `${greedySteps}/${greedyTotal}`,
    };
    console.log('fast vs exact, demo model:', report);
    // Bounds from measurement (README "Precision"), with headroom for other levels / summation orders.
    // Measured on avx512: 99.6 % agreement, KL 7.7e-6 nats, perplexity ratio 1 - 2e-5, 223/256 steps.
    expect(report.top1Agreement).toBeGreaterThanOrEqual(0.98);
    expect(report.meanKL).toBeLessThan(1e-4);
    expect(Math.abs(report.perplexityFast / report.perplexityExact - 1)).toBeLessThan(0.01);
    expect(greedySteps).toBeGreaterThanOrEqual(0.8 * greedyTotal);
    exact.dispose();
    fast.dispose();
  });
});
