/**
 * Sampling as pure functions: each filter against a direct reference (full sort), the PRNG
 * against xoshiro128**'s published reference outputs, and the seeded sampler's empirical
 * frequencies against softmax with a chi-square test.
 */
import { sampling } from '../lib';

const { argmax, applyRepetitionPenalty, minPFilter, sampleFrom, sampleToken, samplingDistribution, softmax, topKIds, topPFilter, Xoshiro128 } = sampling;

const OFF = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/** Deterministic pseudo-random logits. */
function randomLogits(n: number, seed: number, scale = 4): Float32Array {
  const rng = new Xoshiro128(seed);
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 2 * scale);
}

/** Reference: ids sorted by descending logit, ties by id. */
function sortedIds(logits: Float32Array): number[] {
  return Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
}

function referenceSoftmax(logits: Float32Array, t = 1): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (l) => Math.exp((l - max) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Chi-square statistic of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[], draws: number): number {
  return counts.reduce((acc, c, i) => acc + (c - draws * probs[i]!) ** 2 / (draws * probs[i]!), 0);
}

describe('xoshiro128** PRNG', () => {
  test('matches the reference implementation from state {1, 2, 3, 4}', () => {
    // First outputs of Blackman & Vigna's xoshiro128starstar.c seeded with s = {1, 2, 3, 4}.
    const rng = Xoshiro128.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  test('same seed, same stream; different seeds, different streams; floats in [0, 1)', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const c = new Xoshiro128(43);
    const d = new Xoshiro128(42 + 2 ** 32);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c.next())).not.toEqual(xs);
    expect(Array.from({ length: 1000 }, () => d.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / xs.length));
  });
});

describe('filters', () => {
  test('argmax picks the largest logit, ties to the lowest id', () => {
    expect(argmax(Float32Array.from([1, 5, 3, 5]))).toBe(1);
    expect(argmax(Float32Array.from([-Infinity, -3, -Infinity]))).toBe(1);
  });

  test('topKIds returns exactly the k best ids in order, for k below and above the vocabulary', () => {
    for (const seed of [1, 2, 3]) {
      const logits = randomLogits(1000, seed);
      logits[10] = logits[20] = logits[30] = 9; // ties at the top
      const ref = sortedIds(logits);
      for (const k of [1, 3, 7, 64, 999, 1000, 5000]) expect(Array.from(topKIds(logits, k))).toEqual(ref.slice(0, Math.min(k, 1000)));
    }
  });

  test('top-k never samples outside the k best', () => {
    const logits = randomLogits(500, 7, 2);
    const best = new Set(sortedIds(logits).slice(0, 5));
    const rng = new Xoshiro128(1);
    for (let i = 0; i < 3000; i++) expect(best.has(sampleToken(logits, { ...OFF, topK: 5 }, rng))).toBe(true);
  });

  test('top-p keeps the smallest set whose mass reaches p', () => {
    for (const seed of [1, 2, 3, 4]) {
      const logits = randomLogits(2000, seed, 6);
      const probs = referenceSoftmax(logits);
      const order = sortedIds(logits);
      for (const p of [0.01, 0.3, 0.5, 0.9, 0.95, 0.999]) {
        let n = 0;
        for (let mass = 0; mass < p; n++) mass += probs[order[n]!]!;
        const d = samplingDistribution(logits, { ...OFF, topP: p });
        expect(new Set(d.ids)).toEqual(new Set(order.slice(0, n)));
        const kept = order.slice(0, n).reduce((s, id) => s + probs[id]!, 0);
        d.ids.forEach((id, i) => expect(d.probs[i]).toBeCloseTo(probs[id]! / kept, 12));
      }
    }
  });

  test('top-p on a flat distribution and with ties resolves towards lower ids', () => {
    const d = topPFilter({ ids: Int32Array.from([0, 1, 2, 3]), probs: Float64Array.from([0.25, 0.25, 0.25, 0.25]) }, 0.5);
    expect(Array.from(d.ids)).toEqual([0, 1]);
    expect(Array.from(d.probs)).toEqual([0.5, 0.5]);
  });

  test('min-p keeps tokens at least minP times as likely as the best', () => {
    const logits = randomLogits(300, 11, 5);
    const probs = referenceSoftmax(logits);
    const max = Math.max(...probs);
    for (const minP of [0.01, 0.1, 0.5]) {
      const d = minPFilter({ ids: Int32Array.from(probs.keys()), probs: Float64Array.from(probs) }, minP);
      expect(Array.from(d.ids)).toEqual([...probs.keys()].filter((i) => probs[i]! >= minP * max));
      expect(d.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  test('temperature scales logits before softmax; temperature near 0 equals greedy', () => {
    const logits = randomLogits(100, 5);
    const ids = Int32Array.from(logits.keys());
    const ref = referenceSoftmax(logits, 0.5);
    softmax(logits, ids, 0.5).forEach((p, i) => expect(p).toBeCloseTo(ref[i]!, 12));
    const greedy = argmax(logits);
    const rng = new Xoshiro128(3);
    expect(sampleToken(logits, { ...OFF, temperature: 0 }, rng)).toBe(greedy);
    for (let i = 0; i < 500; i++) expect(sampleToken(logits, { ...OFF, temperature: 1e-3 }, rng)).toBe(greedy);
  });

  test('repetition penalty divides positive and multiplies negative logits of seen tokens once', () => {
    const logits = Float32Array.from([2, -2, 1, 0.5]);
    const out = applyRepetitionPenalty(logits, [0, 1, 0, 1, 0], 2);
    expect(Array.from(out)).toEqual([1, -4, 1, 0.5]);
    expect(Array.from(logits)).toEqual([2, -2, 1, 0.5]); // input untouched
    expect(Array.from(applyRepetitionPenalty(logits, [0, 1], 1))).toEqual([2, -2, 1, 0.5]);
  });
});

describe('seeded sampling matches the distribution', () => {
  const logits = Float32Array.from([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -2.0, 0.25, 1.25]);
  const draws = 40000;
  // Critical chi-square values at p = 0.001: df 9 -> 27.88, df 3 -> 16.27. A fixed seed makes the test deterministic.
  test('plain softmax sampling (chi-square, 9 degrees of freedom)', () => {
    const probs = referenceSoftmax(logits);
    const rng = new Xoshiro128(2024);
    const counts = new Array(10).fill(0) as number[];
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, OFF, rng)]!++;
    expect(chiSquare(counts, probs, draws)).toBeLessThan(27.88);
  });

  test('top-k 4 at temperature 0.7 samples the renormalised head (chi-square, 3 degrees of freedom)', () => {
    const full = referenceSoftmax(logits, 0.7);
    const head = sortedIds(logits).slice(0, 4);
    const mass = head.reduce((s, i) => s + full[i]!, 0);
    const rng = new Xoshiro128(99);
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const t = sampleToken(logits, { ...OFF, temperature: 0.7, topK: 4 }, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect([...counts.keys()].every((t) => head.includes(t))).toBe(true);
    expect(chiSquare(head.map((i) => counts.get(i) ?? 0), head.map((i) => full[i]! / mass), draws)).toBeLessThan(16.27);
  });

  test('sampleFrom never returns a zero-probability id', () => {
    const d = { ids: Int32Array.from([5, 6, 7]), probs: Float64Array.from([0.5, 0.5, 0]) };
    const rng = new Xoshiro128(5);
    for (let i = 0; i < 2000; i++) expect(sampleFrom(d, rng)).not.toBe(7);
  });
});
