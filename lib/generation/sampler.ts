/**
 * Sampling as pure functions over a logits vector, so every filter can be tested without a model.
 * The pipeline follows Hugging Face transformers' order: repetition penalty, temperature, top-k,
 * softmax, top-p, min-p, then one draw from the renormalised distribution.
 */
import type { Rng } from './rng';

/** Parameters of one sampling step. */
export interface SamplingParams {
  /** Divides the logits; 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability mass reaches topP (1 = off). */
  topP: number;
  /** Drop tokens whose probability is below minP times the most likely token's (0 = off). */
  minP: number;
}

/** A filtered distribution: candidate token ids and their probabilities (summing to 1). */
export interface Distribution {
  ids: Int32Array;
  probs: Float64Array;
}

/** Index of the largest logit; ties go to the lowest id, so greedy decoding is deterministic. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * CTRL-style repetition penalty (as transformers applies it): every distinct token in `recent`
 * has its logit divided by `penalty` when positive and multiplied by it when negative, so
 * penalty > 1 always makes a seen token less likely. Returns a new array.
 */
export function applyRepetitionPenalty(logits: Float32Array, recent: ArrayLike<number>, penalty: number): Float32Array {
  const out = new Float32Array(logits);
  if (penalty === 1) return out;
  const seen = new Set<number>();
  for (let i = 0; i < recent.length; i++) {
    const t = recent[i]!;
    if (seen.has(t) || t < 0 || t >= out.length) continue;
    seen.add(t);
    const v = out[t]!;
    out[t] = v > 0 ? v / penalty : v * penalty;
  }
  return out;
}

/** Orders token ids by descending logit, then ascending id. */
function byLogitThenId(logits: Float32Array) {
  return (a: number, b: number): number => logits[b]! - logits[a]! || a - b;
}

/**
 * The k largest logits' ids, best first. A size-k min-heap keeps this O(V log k), which matters
 * for a 256k vocabulary sampled once per token.
 */
export function topKIds(logits: Float32Array, k: number): Int32Array {
  const V = logits.length;
  if (k >= V) return Int32Array.from(Array.from(identity(V)).sort(byLogitThenId(logits)));
  // heap[0] is the worst kept candidate: smallest logit, or among equal logits the largest id.
  const heap = new Int32Array(k);
  let size = 0;
  const worse = (a: number, b: number) => logits[a]! < logits[b]! || (logits[a] === logits[b] && a > b);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l]!, heap[m]!)) m = l;
      if (r < size && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let id = 0; id < V; id++) {
    if (size < k) {
      let i = size++;
      heap[i] = id;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        const t = heap[i]!;
        heap[i] = heap[p]!;
        heap[p] = t;
        i = p;
      }
    } else if (worse(heap[0]!, id)) {
      heap[0] = id;
      siftDown(0);
    }
  }
  const ids = Array.from(heap);
  return Int32Array.from(ids.sort(byLogitThenId(logits)));
}

/** Softmax of logits[ids] / temperature, in float64. */
export function softmax(logits: Float32Array, ids: Int32Array, temperature: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < ids.length; i++) max = Math.max(max, logits[ids[i]!]!);
  const probs = new Float64Array(ids.length);
  if (max === -Infinity) {
    probs.fill(1 / ids.length); // every candidate masked: nothing to prefer
    return probs;
  }
  let sum = 0;
  for (let i = 0; i < ids.length; i++) {
    const p = Math.exp((logits[ids[i]!]! - max) / temperature);
    probs[i] = p;
    sum += p;
  }
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  return probs;
}

function normalise(d: Distribution): Distribution {
  let sum = 0;
  for (let i = 0; i < d.probs.length; i++) sum += d.probs[i]!;
  for (let i = 0; i < d.probs.length; i++) d.probs[i]! /= sum;
  return d;
}

/** The entries of d whose index passes `keep`, in d's order. */
function select(d: Distribution, keep: (i: number) => boolean, count: number): Distribution {
  const ids = new Int32Array(count);
  const probs = new Float64Array(count);
  for (let i = 0, n = 0; i < d.probs.length && n < count; i++) {
    if (!keep(i)) continue;
    ids[n] = d.ids[i]!;
    probs[n++] = d.probs[i]!;
  }
  return { ids, probs };
}

/** Buckets per halving of probability in topPFilter (finer buckets, smaller sorts). */
const BUCKETS_PER_OCTAVE = 16;
const BUCKETS = 160 * BUCKETS_PER_OCTAVE;

/**
 * Nucleus (top-p) filter: keeps the smallest set of most likely tokens whose mass reaches p
 * (ties at the boundary resolved towards lower ids). Instead of sorting the whole vocabulary,
 * entries are binned by log2(prob / max prob); whole bins are kept from the top until the next
 * bin would reach p, and only that boundary bin is sorted.
 */
export function topPFilter(d: Distribution, p: number): Distribution {
  if (p >= 1) return d;
  const n = d.probs.length;
  let maxP = 0;
  for (let i = 0; i < n; i++) maxP = Math.max(maxP, d.probs[i]!);
  if (maxP === 0) return d;
  const bucketOf = new Uint16Array(n);
  const bucketMass = new Float64Array(BUCKETS);
  for (let i = 0; i < n; i++) {
    const q = d.probs[i]!;
    const b = q > 0 ? Math.min(BUCKETS - 1, Math.floor(-Math.log2(q / maxP) * BUCKETS_PER_OCTAVE)) : BUCKETS - 1;
    bucketOf[i] = b;
    bucketMass[b]! += q;
  }
  let massAbove = 0;
  let boundary = 0;
  while (boundary < BUCKETS - 1 && massAbove + bucketMass[boundary]! < p) massAbove += bucketMass[boundary++]!;
  // Sort the boundary bin best first (ties keep d's order, i.e. lower ids first) and cut it.
  const inBoundary: number[] = [];
  for (let i = 0; i < n; i++) if (bucketOf[i] === boundary) inBoundary.push(i);
  inBoundary.sort((x, y) => d.probs[y]! - d.probs[x]! || x - y);
  const keep = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (bucketOf[i]! < boundary) {
      keep[i] = 1;
      count++;
    }
  }
  let cumulative = massAbove;
  for (const i of inBoundary) {
    keep[i] = 1;
    count++;
    cumulative += d.probs[i]!;
    if (cumulative >= p) break;
  }
  return normalise(select(d, (i) => keep[i] === 1, count));
}

/** min-p filter: keeps tokens whose probability is at least minP times the largest one. */
export function minPFilter(d: Distribution, minP: number): Distribution {
  if (minP <= 0) return d;
  let maxP = 0;
  for (let i = 0; i < d.probs.length; i++) maxP = Math.max(maxP, d.probs[i]!);
  const threshold = minP * maxP;
  let count = 0;
  for (let i = 0; i < d.probs.length; i++) if (d.probs[i]! >= threshold) count++;
  return normalise(select(d, (i) => d.probs[i]! >= threshold, count));
}

/** 0, 1, ..., n - 1. */
function identity(n: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return ids;
}

/**
 * The distribution a sampling step draws from (temperature > 0). Ids come best first when top-k
 * ran, otherwise in vocabulary order.
 */
export function samplingDistribution(logits: Float32Array, params: SamplingParams): Distribution {
  const V = logits.length;
  const ids = params.topK > 0 && params.topK < V ? topKIds(logits, params.topK) : identity(V);
  let d: Distribution = { ids, probs: softmax(logits, ids, params.temperature) };
  d = topPFilter(d, params.topP);
  d = minPFilter(d, params.minP);
  return d;
}

/** One draw from a distribution (inverse CDF with a uniform number from rng). */
export function sampleFrom(d: Distribution, rng: Rng): number {
  const u = rng.next();
  let cumulative = 0;
  for (let i = 0; i < d.probs.length; i++) {
    cumulative += d.probs[i]!;
    if (u < cumulative) return d.ids[i]!;
  }
  // u landed in the rounding gap above the last cumulative sum: take the last non-zero entry.
  for (let i = d.probs.length - 1; i >= 0; i--) if (d.probs[i]! > 0) return d.ids[i]!;
  return d.ids[d.ids.length - 1]!;
}

/** Picks the next token: greedy at temperature 0, otherwise one draw from the filtered distribution. */
export function sampleToken(logits: Float32Array, params: SamplingParams, rng: Rng): number {
  if (params.temperature === 0) return argmax(logits);
  return sampleFrom(samplingDistribution(logits, params), rng);
}
