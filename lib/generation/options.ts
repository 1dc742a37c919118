/**
 * Generation options: their public types, defaults and validation. Every value is checked before
 * any work starts, so a typo fails fast with an InvalidArgumentError naming the option.
 */
import { InvalidArgumentError } from '../errors';
import { compileConstraint, type CompiledConstraint } from '../grammar';
import type { ModelState } from '../state';
import { MAX_TOP_LOGPROBS, type TopLogprob } from '../scoring/logprobs';
import { resolveLogitBias, type LogitBias, type ResolvedLogitBias } from './logit-bias';
import type { SamplingParams } from './sampler';

/** Why generation ended: a stop token or stop string, maxTokens, or the AbortSignal. */
export type FinishReason = 'stop' | 'length' | 'abort';

/**
 * Where the time of one generation went. Durations are milliseconds of work done for this
 * generation (model calls and sampling), not time spent waiting for the consumer of a stream; in
 * generateBatch a step shared with other sequences counts fully for each of them.
 */
export interface GenerationTimings {
  /** How long RecurrentGemma.load() took for the model (the same for every generation on it). */
  loadMs?: number;
  /** Prompt tokens the state consumed (fewer than promptTokens when aborted during the prefill). */
  prefillTokens: number;
  prefillMs: number;
  /** prefillTokens / prefillMs (0 when nothing was prefilled). */
  prefillTokensPerSecond: number;
  /** From the call until the first token was sampled; absent when none was (aborted first). */
  timeToFirstTokenMs?: number;
  /** Sampled tokens fed back to the model (generatedTokens - 1: the last one is not fed). */
  decodeTokens: number;
  /** Time of those decode steps, each including the sampling of the token it produced. */
  decodeMs: number;
  /** decodeTokens / decodeMs (0 when there was no decode step). */
  decodeTokensPerSecond: number;
}

/**
 * How a generation ended: the last chunk carries these fields, complete() returns them, and a
 * generate() stream returns them as its iterator's return value (so even a stream aborted before
 * its first token, which yields no chunk, reports them).
 */
export interface GenerationEnd {
  finishReason: FinishReason;
  /** Tokens of the prompt as given. */
  promptTokens: number;
  /** Tokens sampled, including a stop token that ended generation. */
  generatedTokens: number;
  timings: GenerationTimings;
}

/** One streamed step: the sampled token and the text it completed. */
export interface GenerationChunk {
  /** The sampled token id. */
  token: number;
  /**
   * Newly complete text ('' while a multi-byte character or a possible stop string is pending;
   * always '' for a model folder without a tokenizer).
   */
  text: string;
  /**
   * With `logprobs`: natural log of the sampled token's probability under the model's
   * distribution at this step (after logitBias and repetitionPenalty, before temperature and the
   * top-k / top-p / min-p filters, as OpenAI reports it).
   */
  logprob?: number;
  /** With `topLogprobs: k`: the k most likely tokens at this step, best first, under the same distribution. */
  topLogprobs?: TopLogprob[];
  /** Set on the last chunk only. */
  finishReason?: FinishReason;
  /** Set on the last chunk only: tokens fed as the prompt. */
  promptTokens?: number;
  /** Set on the last chunk only: tokens sampled, including a stop token that ended generation. */
  generatedTokens?: number;
  /** Set on the last chunk only. */
  timings?: GenerationTimings;
}

/** The whole result of complete(). */
export interface Completion {
  text: string;
  /** Every sampled token id, including a stop token that ended generation. */
  tokens: number[];
  finishReason: FinishReason;
  promptTokens: number;
  generatedTokens: number;
  timings: GenerationTimings;
  /** With `logprobs`: one entry per generated token (the chunks' logprob and topLogprobs). */
  logprobs?: TokenLogprob[];
}

/** A generated token with its log-probability (and alternatives), as complete() collects them. */
export interface TokenLogprob {
  token: number;
  logprob: number;
  topLogprobs?: TopLogprob[];
}

/** How the next token is chosen. */
export interface SamplingOptions {
  /** Softmax temperature; 0 = greedy (default 1, Gemma's recommended setting). */
  temperature?: number;
  /** Sample among the k most likely tokens; 0 = no limit (default 64). */
  topK?: number;
  /** Nucleus sampling mass in (0, 1]; 1 = off (default 0.95). */
  topP?: number;
  /** Drop tokens less likely than minP x the best token's probability, in [0, 1) (default 0 = off). */
  minP?: number;
  /** > 1 discourages repeating recent tokens (default 1 = off). */
  repetitionPenalty?: number;
  /** How many recent tokens (prompt included) the repetition penalty looks at (default 64). */
  repetitionLookback?: number;
  /** Seed of the sampler's PRNG: the same seed, prompt and options give the same output (default: random). */
  seed?: number;
  /**
   * Added to the logits of these token ids before sampling, as OpenAI's logit_bias: values in
   * [-100, 100]; -100 bans the token, +100 forces it (every token without +100 is removed).
   */
  logitBias?: LogitBias;
}

/** Options of generate() and complete(). */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to sample (default 256). */
  maxTokens?: number;
  /** Stop when the text contains one of these; the returned text ends right before it. */
  stop?: string | readonly string[];
  /** Extra token ids that end generation (besides `<eos>` and `<end_of_turn>`). */
  stopTokens?: readonly number[];
  /** Keep going past `<eos>` and `<end_of_turn>` (default false). */
  ignoreEos?: boolean;
  /**
   * Aborting ends generation early; it never rejects. The result (last chunk, completion) has
   * finishReason 'abort' and the tokens sampled so far: an abort during decode lets the token
   * being computed finish; one during the prefill stops within one round of PREFILL_ROUND_TOKENS
   * prompt tokens and samples nothing (zero tokens, the stream yields no chunk); an already
   * aborted signal does no work at all. A given `state` is left consistent either way: its
   * position says how much it consumed.
   */
  signal?: AbortSignal;
  /** Put each sampled token's log-probability on its chunk as `logprob` (default false). */
  logprobs?: boolean;
  /** Also put the k most likely tokens on each chunk as `topLogprobs` (0–20, default 0; k > 0 implies logprobs). */
  topLogprobs?: number;
  /** Called with every chunk, before it is yielded. */
  onToken?: (chunk: GenerationChunk) => void;
  /**
   * Constrain the output to JSON that validates against this JSON schema (draft 2020-12 subset,
   * see docs/structured-output.md). Generation stops when the value is complete.
   */
  jsonSchema?: object | boolean;
  /** Constrain the output to a GBNF grammar (llama.cpp's format; generation starts at `root`). */
  grammar?: string;
  /**
   * Continue from this state instead of a fresh one. On return it has consumed the prompt and
   * every sampled token except the last one (the last chunk's token is not fed).
   */
  state?: ModelState;
}

/** Defaults (Gemma's recommended sampling settings). */
export const GENERATION_DEFAULTS = {
  maxTokens: 256,
  temperature: 1,
  topK: 64,
  topP: 0.95,
  minP: 0,
  repetitionPenalty: 1,
  repetitionLookback: 64,
} as const;

/** Options after validation, with defaults filled in. */
export interface ResolvedGenerateOptions extends SamplingParams {
  maxTokens: number;
  repetitionPenalty: number;
  repetitionLookback: number;
  seed: number | undefined;
  stop: string[];
  stopTokens: number[];
  ignoreEos: boolean;
  signal: AbortSignal | undefined;
  onToken: ((chunk: GenerationChunk) => void) | undefined;
  state: ModelState | undefined;
  /** The checked jsonSchema or grammar, when one was given. */
  constraint: CompiledConstraint | undefined;
  logprobs: boolean;
  topLogprobs: number;
  logitBias: ResolvedLogitBias | undefined;
}

const KNOWN = new Set([
  'maxTokens', 'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'repetitionLookback', 'seed',
  'stop', 'stopTokens', 'ignoreEos', 'signal', 'onToken', 'state', 'jsonSchema', 'grammar', 'logprobs', 'topLogprobs', 'logitBias',
]);

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`${name} must be a finite number, got ${String(v)}`);
  return v;
}

function integer(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(`${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}, got ${String(v)}`, 'ERR_RG_OUT_OF_RANGE');
  return v;
}

function range(name: string, v: number, ok: boolean, want: string): number {
  if (!ok) throw new InvalidArgumentError(`${name} must be ${want}, got ${v}`, 'ERR_RG_OUT_OF_RANGE');
  return v;
}

/** The jsonSchema or grammar option checked and compiled (GrammarError names what is wrong in it). */
function resolveConstraint(o: GenerateOptions): CompiledConstraint | undefined {
  if (o.jsonSchema !== undefined && o.grammar !== undefined) throw new InvalidArgumentError('give either jsonSchema or grammar, not both');
  if (o.grammar !== undefined) {
    if (typeof o.grammar !== 'string') throw new InvalidArgumentError('grammar must be a string of GBNF rules');
    return compileConstraint({ grammar: o.grammar });
  }
  if (o.jsonSchema !== undefined) {
    if (typeof o.jsonSchema !== 'boolean' && (typeof o.jsonSchema !== 'object' || o.jsonSchema === null || Array.isArray(o.jsonSchema)))
      throw new InvalidArgumentError('jsonSchema must be a JSON schema object');
    return compileConstraint({ jsonSchema: o.jsonSchema });
  }
  return undefined;
}

/** Validates options and fills in defaults. `vocabSize` bounds stopTokens. */
export function resolveGenerateOptions(options: GenerateOptions | undefined, vocabSize: number): ResolvedGenerateOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidArgumentError('options must be an object');
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new InvalidArgumentError(`unknown generation option "${key}"`);
  const d = GENERATION_DEFAULTS;
  const o = options;

  const temperature = finite('temperature', o.temperature ?? d.temperature);
  range('temperature', temperature, temperature >= 0, '≥ 0 (0 = greedy)');
  const topP = finite('topP', o.topP ?? d.topP);
  range('topP', topP, topP > 0 && topP <= 1, 'in (0, 1]');
  const minP = finite('minP', o.minP ?? d.minP);
  range('minP', minP, minP >= 0 && minP < 1, 'in [0, 1)');
  const repetitionPenalty = finite('repetitionPenalty', o.repetitionPenalty ?? d.repetitionPenalty);
  range('repetitionPenalty', repetitionPenalty, repetitionPenalty > 0, '> 0 (1 = off)');

  let stop: string[];
  if (o.stop === undefined) stop = [];
  else if (typeof o.stop === 'string') stop = [o.stop];
  else if (Array.isArray(o.stop)) stop = [...(o.stop as readonly unknown[])] as string[];
  else throw new InvalidArgumentError('stop must be a string or an array of strings');
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw new InvalidArgumentError(`stop[${i}] must be a non-empty string, got ${JSON.stringify(s)}`);
  });

  if (o.stopTokens !== undefined && !Array.isArray(o.stopTokens)) throw new InvalidArgumentError('stopTokens must be an array of token ids');
  const stopTokens = (o.stopTokens ?? []).map((t, i) => integer(`stopTokens[${i}]`, t, 0, vocabSize - 1));

  if (o.ignoreEos !== undefined && typeof o.ignoreEos !== 'boolean') throw new InvalidArgumentError('ignoreEos must be a boolean');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal');
  if (o.logprobs !== undefined && typeof o.logprobs !== 'boolean') throw new InvalidArgumentError(`logprobs must be a boolean, got ${String(o.logprobs)}`);
  const topLogprobs = integer('topLogprobs', o.topLogprobs ?? 0, 0, MAX_TOP_LOGPROBS);
  if (o.onToken !== undefined && typeof o.onToken !== 'function') throw new InvalidArgumentError('onToken must be a function');
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed)) throw new InvalidArgumentError(`seed must be a safe integer, got ${String(o.seed)}`, 'ERR_RG_OUT_OF_RANGE');
  }

  return {
    maxTokens: integer('maxTokens', o.maxTokens ?? d.maxTokens, 1),
    temperature,
    topK: integer('topK', o.topK ?? d.topK, 0),
    topP,
    minP,
    repetitionPenalty,
    repetitionLookback: integer('repetitionLookback', o.repetitionLookback ?? d.repetitionLookback, 0),
    seed: o.seed,
    stop,
    stopTokens,
    ignoreEos: o.ignoreEos ?? false,
    signal: o.signal,
    onToken: o.onToken,
    state: o.state,
    constraint: resolveConstraint(o),
    logprobs: o.logprobs === true || topLogprobs > 0,
    topLogprobs,
    logitBias: resolveLogitBias(o.logitBias, vocabSize),
  };
}
