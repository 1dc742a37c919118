/**
 * Log-probabilities from a logits row, numerically careful on a 256k vocabulary: the maximum is
 * subtracted before exponentiating and the exponentials are summed in float64 (a float32 sum of
 * 256k terms loses ~3 decimal digits), so a token's log-probability is exact to float64 rounding
 * of the float32 logits. The top alternatives come from a size-k heap (the sampler's topKIds),
 * never a sort of the whole vocabulary.
 */
import { topKIds } from '../generation/sampler';
import type { Tokenizer } from '../tokenizer';

/** One alternative at a position: a token id, its text and its log-probability. */
export interface TopLogprob {
  id: number;
  /** The token decoded alone ('' without a tokenizer; a byte-fallback piece of a multi-byte character is U+FFFD). */
  text: string;
  logprob: number;
}

/** Most alternatives a caller may ask for per position (OpenAI's top_logprobs bound). */
export const MAX_TOP_LOGPROBS = 20;

/**
 * log(sum(exp(row))) over `row` (a subarray view of a logits row), in float64. -Infinity entries
 * (banned tokens) contribute nothing; a row of only -Infinity gives -Infinity.
 */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity || Number.isNaN(max)) return max;
  if (max === Infinity) return Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The log-softmax of `row` at `id`, given the row's logSumExp (pass it when several ids share a row). */
export function tokenLogprob(row: Float32Array, id: number, lse: number = logSumExp(row)): number {
  return row[id]! - lse;
}

/**
 * The k most likely tokens of `row` with their log-probabilities, best first (ties: lower id
 * first). `text` is filled by `tokenText` when given.
 */
export function topLogprobs(row: Float32Array, k: number, lse: number = logSumExp(row), tokenText?: (id: number) => string): TopLogprob[] {
  if (k <= 0) return [];
  return Array.from(topKIds(row, Math.min(k, row.length)), (id) => ({ id, text: tokenText ? tokenText(id) : '', logprob: row[id]! - lse }));
}

/** Row `t` of a row-major [T, V] logits array, as a view (no copy). */
export function logitsRow(logits: Float32Array, t: number, V: number): Float32Array {
  return logits.subarray(t * V, (t + 1) * V);
}

/** The log-probability of the token chosen at one step, and the alternatives when asked for. */
export interface TokenLogprobs {
  logprob: number;
  topLogprobs?: TopLogprob[];
}

/** `token`'s log-probability under `row` and, for k > 0, the k most likely tokens. */
export function tokenLogprobs(row: Float32Array, token: number, k: number, tokenText?: (id: number) => string): TokenLogprobs {
  const lse = logSumExp(row);
  const logprob = row[token]! - lse;
  return k > 0 ? { logprob, topLogprobs: topLogprobs(row, k, lse, tokenText) } : { logprob };
}

/** Decodes one token alone (special tokens kept); '' for a model folder without a tokenizer. */
export function tokenTextOf(tokenizer: Tokenizer | null): (id: number) => string {
  return (id) => (tokenizer ? tokenizer.decode([id], { skipSpecialTokens: false }) : '');
}
