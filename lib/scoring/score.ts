/**
 * Scoring a text: the log-probability of every token given all tokens before it (teacher
 * forcing), their sum and the perplexity. The text is streamed through forward(..., { allLogits })
 * `chunkSize` tokens at a time, so memory stays at chunkSize x vocab floats however long the text:
 * the state is fixed-size, so a text of any length is scored in one pass with its whole prefix as
 * context (no sliding windows, unlike a transformer with a bounded context).
 */
import { InvalidArgumentError } from '../errors';
import { requireTokenizer } from '../generation/generate';
import type { ModelState } from '../state';
import type { Tokenizer } from '../tokenizer';
import { logitsRow, logSumExp, MAX_TOP_LOGPROBS, tokenTextOf, topLogprobs as topAlternatives, type TopLogprob } from './logprobs';

/** What scoring needs from a model (RecurrentGemma implements it). */
export interface ScoringModel {
  readonly config: { readonly vocabSize: number };
  createState(): ModelState;
  forward(state: ModelState, tokens: readonly number[] | Int32Array, options?: { allLogits?: boolean }): Promise<Float32Array>;
  checkTokens(tokens: readonly number[] | Int32Array): Int32Array;
}

/** What score() runs on: the model, its tokenizer (null when the folder has none) and its folder (named in errors). */
export interface ScoringHost {
  readonly model: ScoringModel;
  readonly tokenizer: Tokenizer | null;
  readonly dir: string;
}

/** Options of score(). */
export interface ScoreOptions {
  /** Tokens per forward pass (default 256): memory is chunkSize x vocab floats of logits. */
  chunkSize?: number;
  /** Also return the k most likely alternatives at every scored position (0–20, default 0). */
  topLogprobs?: number;
  /** Aborting stops between chunks; score() then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every chunk with the tokens scored so far and the total to score. */
  onProgress?: (progress: ScoreProgress) => void;
}

/** Progress of score(). */
export interface ScoreProgress {
  scored: number;
  total: number;
  /** Sum of the log-probabilities scored so far (running perplexity: exp(-logLikelihood / scored)). */
  logLikelihood: number;
}

/** The result of score(). */
export interface ScoreResult {
  /** Every token id of the input; tokens[0] (`<bos>` for text) is context only and is not scored. */
  tokens: Int32Array;
  /** logprobs[i] = log p(tokens[i + 1] | tokens[0..i]), natural log; length tokens.length - 1. */
  logprobs: Float64Array;
  /** Set when options.topLogprobs > 0: the alternatives at each scored position, aligned with logprobs. */
  topLogprobs?: TopLogprob[][];
  /** Sum of logprobs (the log-likelihood of tokens[1..] given tokens[0]). */
  logLikelihood: number;
  /** exp(-logLikelihood / scoredTokens). */
  perplexity: number;
  /** Number of scored tokens (tokens.length - 1). */
  scoredTokens: number;
}

/** Default tokens per forward pass of score(). */
export const SCORE_CHUNK_SIZE = 256;

interface ResolvedScoreOptions {
  chunkSize: number;
  topLogprobs: number;
  signal: AbortSignal | undefined;
  onProgress: ((p: ScoreProgress) => void) | undefined;
}

const KNOWN = new Set(['chunkSize', 'topLogprobs', 'signal', 'onProgress']);

/** Validates score() options and fills in defaults. */
export function resolveScoreOptions(options: ScoreOptions | undefined): ResolvedScoreOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InvalidArgumentError('options must be an object');
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) throw new InvalidArgumentError(`unknown score option "${key}"`);
  const chunkSize = o.chunkSize ?? SCORE_CHUNK_SIZE;
  if (typeof chunkSize !== 'number' || !Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 65536)
    throw new InvalidArgumentError(`chunkSize must be an integer in [1, 65536], got ${String(chunkSize)}`, 'ERR_RG_OUT_OF_RANGE');
  const k = o.topLogprobs ?? 0;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > MAX_TOP_LOGPROBS)
    throw new InvalidArgumentError(`topLogprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${String(k)}`, 'ERR_RG_OUT_OF_RANGE');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new InvalidArgumentError('onProgress must be a function');
  return { chunkSize, topLogprobs: k, signal: o.signal, onProgress: o.onProgress };
}

/** Log-probabilities accumulated over one or more scored spans. */
export interface ScoredSpan {
  logprobs: Float64Array;
  topLogprobs?: TopLogprob[][];
  logLikelihood: number;
}

/**
 * Scores `ids` continuing `state`. `first` holds the logits that predict ids[0] (the last row of
 * the forward that brought the state where it is); when null, ids[0] is only context. Feeds
 * every id but the last (whose logits no one needs) in chunks, advancing `state` by
 * ids.length - 1 tokens.
 */
export async function scoreFrom(
  model: ScoringModel,
  state: ModelState,
  first: Float32Array | null,
  ids: Int32Array,
  o: ResolvedScoreOptions,
  tokenText?: (id: number) => string,
): Promise<ScoredSpan> {
  const V = model.config.vocabSize;
  const offset = first ? 1 : 0;
  const n = ids.length - 1 + offset;
  const logprobs = new Float64Array(Math.max(0, n));
  const tops: TopLogprob[][] | undefined = o.topLogprobs > 0 ? [] : undefined;
  let sum = 0;
  const record = (row: Float32Array, target: number, at: number) => {
    const lse = logSumExp(row);
    const lp = row[target]! - lse;
    logprobs[at] = lp;
    sum += lp;
    tops?.push(topAlternatives(row, o.topLogprobs, lse, tokenText));
  };
  if (first) record(first, ids[0]!, 0);
  for (let s = 0; s < ids.length - 1; s += o.chunkSize) {
    o.signal?.throwIfAborted();
    const e = Math.min(ids.length - 1, s + o.chunkSize);
    const logits = await model.forward(state, ids.subarray(s, e), { allLogits: true });
    // Row r was computed after ids[s + r] and predicts ids[s + r + 1].
    for (let r = 0; r < e - s; r++) record(logitsRow(logits, r, V), ids[s + r + 1]!, s + r + offset);
    o.onProgress?.({ scored: e + offset, total: n, logLikelihood: sum });
  }
  return { logprobs, ...(tops ? { topLogprobs: tops } : {}), logLikelihood: sum };
}

/** Text or token ids to score. */
export type ScoreInput = string | readonly number[] | Int32Array;

/**
 * The ids score() runs on: text is encoded with `<bos>` first (so every text token is scored,
 * the first one conditioned on `<bos>`); ids are used as given (ids[0] is context only).
 */
export function scoreIds(host: ScoringHost, input: ScoreInput): Int32Array {
  let ids: Int32Array;
  if (typeof input === 'string') ids = Int32Array.from(requireTokenizer(host.tokenizer, host.dir, 'a text to score').encode(input, { addBos: true }));
  else if (Array.isArray(input) || input instanceof Int32Array) ids = Int32Array.from(host.model.checkTokens(input));
  else throw new InvalidArgumentError('score() takes a string, an array of token ids or an Int32Array');
  if (ids.length < 2)
    throw new InvalidArgumentError(
      typeof input === 'string' ? 'nothing to score: the text encodes to no tokens' : 'nothing to score: pass at least 2 token ids (the first one is context only)',
    );
  return ids;
}

/**
 * Per-token log-probabilities of `input` given its prefix, the total log-likelihood and the
 * perplexity, on a fresh state (disposed at the end).
 */
export async function score(host: ScoringHost, input: ScoreInput, options?: ScoreOptions): Promise<ScoreResult> {
  const o = resolveScoreOptions(options);
  const ids = scoreIds(host, input);
  const state = host.model.createState();
  try {
    const span = await scoreFrom(host.model, state, null, ids, o, o.topLogprobs > 0 ? tokenTextOf(host.tokenizer) : undefined);
    const n = ids.length - 1;
    return { tokens: ids, ...span, perplexity: Math.exp(-span.logLikelihood / n), scoredTokens: n };
  } finally {
    state.dispose();
  }
}
