/** Agreement statistics of two runs' logits (row-major [T, V]) over positions [from, to). */
export interface LogitStats {
  positions: number;
  /** Positions where both argmaxes agree. */
  agree: number;
  /** Sum over positions of KL(softmax(a) || softmax(b)), in nats. */
  kl: number;
  /** Sums of -log p(target) under a and under b. */
  nllExact: number;
  nllFast: number;
}

function logSoftmax(x: Float32Array, off: number, V: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, x[off + i]!);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(x[off + i]! - m);
  const ls = m + Math.log(s);
  return Float64Array.from({ length: V }, (_, i) => x[off + i]! - ls);
}

export function compareLogits(a: Float32Array, b: Float32Array, V: number, from: number, to: number, target: (t: number) => number): LogitStats {
  const r: LogitStats = { positions: 0, agree: 0, kl: 0, nllExact: 0, nllFast: 0 };
  for (let t = from; t < to; t++) {
    const la = logSoftmax(a, t * V, V), lb = logSoftmax(b, t * V, V);
    let ia = 0, ib = 0, kl = 0;
    for (let i = 0; i < V; i++) {
      if (la[i]! > la[ia]!) ia = i;
      if (lb[i]! > lb[ib]!) ib = i;
      kl += Math.exp(la[i]!) * (la[i]! - lb[i]!);
    }
    r.positions++;
    r.agree += ia === ib ? 1 : 0;
    r.kl += kl;
    r.nllExact -= la[target(t)]!;
    r.nllFast -= lb[target(t)]!;
  }
  return r;
}
