/**
 * One table of cases checking every exposed kernel: the scalar reference against an independent
 * float64 TypeScript formula, and every SIMD level this machine runs against the scalar reference,
 * on random shapes including sizes that are not multiples of any vector width.
 */
import { kernels } from '../lib';
import { gaussian, rng, toBf16Bits, fromBf16Bits, toF16Bits, fromF16Bits } from './helpers/checkpoint-writer';
import { linear, rmsnorm as refRmsnorm, rope as refRope } from './reference/griffin';

const levels = kernels.availableSimdLevels();
const simdLevels = levels.filter((l) => l !== 'scalar');
const rand = rng(42);
const randn = (n: number, std = 1, mean = 0) => Float32Array.from({ length: n }, () => mean + std * gaussian(rand));

/** max |a - b| / (1 + max |b|): a scale-aware error measure. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return m / (1 + s);
}

interface KernelCase {
  name: string;
  /** The kernel at a level. */
  run: (level: kernels.KernelLevel) => Float32Array;
  /** An independent float64 expectation of the scalar result. */
  reference: () => ArrayLike<number>;
  tol: number;
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function matmulCase(T: number, rows: number, cols: number, dtype: 'F32' | 'BF16' | 'F16', withBias: boolean): KernelCase {
  const x = randn(T * cols);
  const wf = randn(rows * cols, 1 / Math.sqrt(cols));
  let weight: Float32Array | Uint16Array = wf;
  let stored = Float64Array.from(wf);
  if (dtype !== 'F32') {
    const bits = Uint16Array.from(wf, (v) => (dtype === 'BF16' ? toBf16Bits(v) : toF16Bits(v)));
    weight = bits;
    stored = Float64Array.from(bits, (h) => (dtype === 'BF16' ? fromBf16Bits(h) : fromF16Bits(h)));
  }
  const bias = withBias ? randn(rows) : undefined;
  return {
    name: `matmul ${dtype} T=${T} ${rows}x${cols}${withBias ? ' +bias' : ''}`,
    run: (level) => kernels.matmul({ x, T, weight, dtype, rows, cols, bias }, level),
    reference: () => {
      const out = new Float64Array(T * rows);
      for (let t = 0; t < T; t++) out.set(linear(stored, bias ? Float64Array.from(bias) : undefined, x.subarray(t * cols, (t + 1) * cols), rows), t * rows);
      return out;
    },
    tol: 1e-5,
  };
}

function rglruCase(T: number, L: number, position: number): KernelCase {
  const x = randn(T * L), gateX = randn(T * L), gateA = randn(T * L);
  const negSoftplus8 = Float32Array.from(randn(L, 0.5, -1), (p) => -8 * Math.log1p(Math.exp(p)));
  const h = randn(L);
  return {
    name: `rglru T=${T} L=${L} position=${position}`,
    run: (level) => {
      const r = kernels.rglruScan({ x, gateX, gateA, negSoftplus8, T, L, position, h }, level);
      return Float32Array.from([...r.y, ...r.h]);
    },
    reference: () => {
      const y = new Float64Array(T * L);
      const state = Float64Array.from(h);
      for (let t = 0; t < T; t++)
        for (let c = 0; c < L; c++) {
          const i = t * L + c;
          const logA = negSoftplus8[c]! / (1 + Math.exp(-gateA[i]!));
          const reset = position + t === 0;
          const mult = reset ? 1 : Math.sqrt(1 - Math.exp(2 * logA));
          state[c] = (reset ? 0 : Math.exp(logA) * state[c]!) + (x[i]! / (1 + Math.exp(-gateX[i]!))) * mult;
          y[i] = state[c]!;
        }
      return [...y, ...state];
    },
    tol: 1e-5,
  };
}

function conv1dCase(T: number, L: number, K: number): KernelCase {
  const x = randn(T * L), weight = randn(L * K), bias = randn(L), state = randn((K - 1) * L);
  return {
    name: `conv1d T=${T} L=${L} K=${K}`,
    run: (level) => {
      const r = kernels.conv1d({ x, T, L, weight, K, bias, state }, level);
      return Float32Array.from([...r.y, ...r.state]);
    },
    reference: () => {
      // Rows of (state ; x), then every output is a K-tap dot product ending at its own row.
      const rows = [...Array.from({ length: K - 1 }, (_, s) => state.subarray(s * L, (s + 1) * L)), ...Array.from({ length: T }, (_, t) => x.subarray(t * L, (t + 1) * L))];
      const y: number[] = [];
      for (let t = 0; t < T; t++)
        for (let c = 0; c < L; c++) {
          let acc = bias[c]!;
          for (let k = 0; k < K; k++) acc += weight[c * K + k]! * rows[t + k]![c]!;
          y.push(acc);
        }
      const newState: number[] = [];
      for (let s = 0; s < K - 1; s++) for (let c = 0; c < L; c++) newState.push(rows[T + s]![c]!);
      return [...y, ...newState];
    },
    tol: 1e-5,
  };
}

function attentionCase(T: number, numHeads: number, headDim: number, window: number, position: number): KernelCase {
  const q = randn(T * numHeads * headDim), k = randn(T * headDim), v = randn(T * headDim);
  const keyCache = randn(window * headDim), valueCache = randn(window * headDim);
  return {
    name: `localAttention T=${T} H=${numHeads} hd=${headDim} W=${window} position=${position}`,
    run: (level) => kernels.localAttention({ q, k, v, keyCache, valueCache, position, T, numHeads, headDim, window }, level),
    reference: () => {
      const out = new Float64Array(T * numHeads * headDim);
      const keyAt = (p: number, arr: Float32Array, cache: Float32Array) => (p < position ? cache.subarray((p % window) * headDim, (p % window + 1) * headDim) : arr.subarray((p - position) * headDim, (p - position + 1) * headDim));
      for (let t = 0; t < T; t++) {
        const p = position + t;
        const first = Math.max(0, p - window);
        for (let h = 0; h < numHeads; h++) {
          const qh = q.subarray((t * numHeads + h) * headDim, (t * numHeads + h + 1) * headDim);
          const s: number[] = [];
          for (let j = first; j <= p; j++) s.push(keyAt(j, k, keyCache).reduce((acc, kv, d) => acc + kv * qh[d]!, 0) / Math.sqrt(headDim));
          const m = Math.max(...s);
          const e = s.map((z) => Math.exp(z - m));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let j = first; j <= p; j++) {
            const vr = keyAt(j, v, valueCache);
            for (let d = 0; d < headDim; d++) out[(t * numHeads + h) * headDim + d] += (e[j - first]! / sum) * vr[d]!;
          }
        }
      }
      return out;
    },
    tol: 1e-5,
  };
}

function rmsnormCase(n: number): KernelCase {
  const x = randn(n, 3), weight = randn(n, 0.2);
  return { name: `rmsnorm n=${n}`, run: (level) => kernels.rmsnorm({ x, weight, eps: 1e-6 }, level), reference: () => refRmsnorm(x, Float64Array.from(weight)), tol: 1e-6 };
}

function ropeCase(T: number, heads: number, headDim: number, rotaryDims: number, position: number): KernelCase {
  const x = randn(T * heads * headDim);
  return {
    name: `rope T=${T} heads=${heads} hd=${headDim} rot=${rotaryDims} position=${position}`,
    run: (level) => kernels.rope({ x, T, heads, headDim, rotaryDims, position, base: 10000 }, level),
    reference: () => {
      const y = Float64Array.from(x);
      for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) refRope(y, (t * heads + h) * headDim, headDim, rotaryDims, position + t);
      return y;
    },
    // float32 angles at large positions differ from float64 by ~|theta| * 6e-8 (docs/MODEL.md#rope).
    tol: 1e-6 + (position + T) * 2e-7,
  };
}

function elementwiseCase(op: 'gelu' | 'geluMul' | 'softcap', n: number): KernelCase {
  const x = randn(n, 4), u = randn(n);
  const cap = 3;
  return {
    name: `${op} n=${n}`,
    run: (level) => kernels.elementwise({ op, x, u, cap }, level),
    reference: () => Array.from(x, (v, i) => (op === 'gelu' ? gelu(v) : op === 'geluMul' ? gelu(v) * u[i]! : cap * Math.tanh(v / cap))),
    tol: 1e-6,
  };
}

const cases: KernelCase[] = [
  matmulCase(1, 37, 53, 'F32', true),
  matmulCase(1, 64, 256, 'BF16', false),
  matmulCase(3, 19, 100, 'BF16', true),
  matmulCase(5, 33, 97, 'F16', true),
  matmulCase(17, 70, 129, 'F32', false),
  matmulCase(9, 48, 64, 'BF16', true),
  rglruCase(1, 37, 5),
  rglruCase(7, 67, 0),
  rglruCase(4, 256, 3),
  conv1dCase(1, 33, 4),
  conv1dCase(2, 19, 4),
  conv1dCase(9, 70, 4),
  conv1dCase(5, 17, 3),
  attentionCase(1, 3, 32, 16, 40),
  attentionCase(6, 2, 20, 5, 3),
  attentionCase(9, 4, 17, 4, 30),
  attentionCase(3, 1, 64, 64, 0),
  rmsnormCase(1),
  rmsnormCase(77),
  rmsnormCase(256),
  ropeCase(3, 2, 16, 8, 0),
  ropeCase(2, 3, 36, 18, 5000),
  elementwiseCase('gelu', 101),
  elementwiseCase('geluMul', 33),
  elementwiseCase('softcap', 70),
];

describe('scalar kernels against float64 formulas', () => {
  test.each(cases)('$name', ({ run, reference, tol }) => {
    expect(relErr(run('scalar'), reference())).toBeLessThan(tol);
  });
});

const simdTable = simdLevels.flatMap((level) => cases.map((c) => ({ ...c, level })));
(simdTable.length ? describe : describe.skip)('SIMD levels against the scalar reference', () => {
  test.each(simdTable)('$level: $name', ({ run, tol, level }) => {
    expect(relErr(run(level), run('scalar'))).toBeLessThan(tol * 4);
  });
});

test('an unknown or unavailable level is a clear error', () => {
  expect(() => kernels.rmsnorm({ x: new Float32Array(4), weight: new Float32Array(4), eps: 1e-6 }, 'sse9' as never)).toThrow(/unknown SIMD level/);
  expect(() => kernels.conv1d({ x: new Float32Array(3), T: 2, L: 2, weight: new Float32Array(8), K: 4, bias: new Float32Array(2), state: new Float32Array(6) })).toThrow(/x must have 4 elements/);
});
