/**
 * The decode loop: the prompt in one forward pass (the prefill; in rounds when a signal can abort
 * it), then one token per step, each sampled from the last logits and fed back. Text is released
 * incrementally (complete UTF-8 characters only, stop strings held back) as chunks of an async
 * iterable.
 */
import { InvalidArgumentError, TokenizerError } from '../errors';
import { tokenLogprobs, tokenTextOf } from '../scoring/logprobs';
import { ModelState } from '../state/state';
import type { Tokenizer } from '../tokenizer';
import { resolveGenerateOptions, type TokenLogprob, type Completion, type GenerateOptions, type GenerationChunk, type GenerationEnd, type FinishReason, type ResolvedGenerateOptions } from './options';
import { startConstraint } from './grammar';
import { randomSeed, Xoshiro128 } from './rng';
import { applyLogitBias } from './logit-bias';
import { applyRepetitionPenalty, sampleToken } from './sampler';
import { StopStringMatcher } from './stop';
import { TextStreamDecoder } from './stream';
import { GenerationClock } from './timings';

/** A prompt: text (encoded with `<bos>` first on a fresh state) or token ids (used exactly as given). */
export type Prompt = string | readonly number[] | Int32Array;

/** What the loop needs from a model (RecurrentGemma implements it). */
export interface GenerationModel {
  readonly config: { readonly vocabSize: number; readonly eosTokenId: number };
  /** How long loading took (reported in every generation's timings). */
  readonly loadMs?: number;
  createState(): ModelState;
  /** Validates token ids once, at the boundary, into an Int32Array. */
  checkTokens(tokens: readonly number[] | Int32Array): Int32Array;
  /** @internal forward() for ids already checked (prompt ids via checkTokens, sampled ids by construction). */
  forwardTokens(state: ModelState, tokens: Int32Array): Promise<Float32Array>;
}

/**
 * What generation runs on: the model, its tokenizer (null when the folder has none) and the folder
 * they came from (named in errors). A RecurrentGemma builds one for itself.
 */
export interface GenerationHost {
  readonly model: GenerationModel;
  readonly tokenizer: Tokenizer | null;
  readonly dir: string;
}

/** Advances a state by already-validated ids; the loop's only way to run the model. */
export type ForwardFn = (state: ModelState, tokens: Int32Array) => Promise<Float32Array>;

/** Token ids that end generation unless ignoreEos: `<eos>` and, when the vocabulary has it, `<end_of_turn>`. */
export function defaultStopTokens(host: GenerationHost): number[] {
  const { tokenizer } = host;
  const ids = [tokenizer?.eosId ?? host.model.config.eosTokenId];
  if (tokenizer?.endOfTurnId !== undefined) ids.push(tokenizer.endOfTurnId);
  return ids;
}

/** Throws the TokenizerError for text use on a folder without tokenizer files. */
export function requireTokenizer(tokenizer: Tokenizer | null, dir: string, what: string): Tokenizer {
  if (tokenizer) return tokenizer;
  throw new TokenizerError(`${what} needs a tokenizer, but ${dir} has none (looked for tokenizer.json and tokenizer_config.json); pass token ids instead`, 'ERR_RG_NO_TOKENIZER');
}

/** A generation request checked and ready to run. */
interface Plan {
  host: GenerationHost;
  forward: ForwardFn;
  /** The caller's state, or undefined for a fresh one made (and disposed) by the run. */
  state: ModelState | undefined;
  promptIds: Int32Array;
  options: ResolvedGenerateOptions;
  stopTokens: Set<number>;
}

function plan(host: GenerationHost, prompt: Prompt, options: GenerateOptions | undefined, forward: ForwardFn): Plan {
  const { model, tokenizer, dir } = host;
  const o = resolveGenerateOptions(options, model.config.vocabSize);
  if (o.state !== undefined && !(o.state instanceof ModelState)) throw new InvalidArgumentError('state must be a ModelState');
  if (o.state !== undefined && o.state.owner !== (model as unknown)) throw new InvalidArgumentError('state belongs to a different model');
  if (o.stop.length > 0) requireTokenizer(tokenizer, dir, 'stop strings');
  if (o.constraint !== undefined) requireTokenizer(tokenizer, dir, o.constraint.source === 'grammar' ? 'a grammar' : 'a jsonSchema');
  let ids: Int32Array;
  if (typeof prompt === 'string') {
    const t = requireTokenizer(tokenizer, dir, 'a text prompt');
    // <bos> starts a sequence; a state that already holds tokens is continued without one.
    // The tokenizer's ids are in the vocabulary: load() refuses a tokenizer larger than vocab_size.
    ids = Int32Array.from(t.encode(prompt, { addBos: (o.state?.position ?? 0) === 0 }));
  } else if (Array.isArray(prompt) || prompt instanceof Int32Array) {
    if (prompt.length === 0) throw new InvalidArgumentError('prompt must not be empty');
    ids = Int32Array.from(model.checkTokens(prompt)); // a copy: the caller may change its array meanwhile
  } else {
    throw new InvalidArgumentError('prompt must be a string, an array of token ids or an Int32Array');
  }
  if (ids.length === 0) throw new InvalidArgumentError('prompt must not be empty');
  const stopTokens = new Set([...o.stopTokens, ...(o.ignoreEos ? [] : defaultStopTokens(host))]);
  return { host, forward, state: o.state, promptIds: ids, options: o, stopTokens };
}

/**
 * Prompt tokens fed per model call while a signal can abort the prefill, so an abort takes effect
 * within one round. The same size as the native engine's largest round (kMaxRowsPerRound in
 * native/model/griffin.h), so splitting here adds no native rounds. Without a signal the prompt
 * goes in one call.
 */
export const PREFILL_ROUND_TOKENS = 256;

async function* run(p: Plan): AsyncGenerator<GenerationChunk, GenerationEnd, undefined> {
  const { options: o, forward } = p;
  const { tokenizer } = p.host;
  const clock = new GenerationClock(p.host.model.loadMs);
  const end = (finishReason: FinishReason, generatedTokens: number): GenerationEnd => ({ finishReason, promptTokens: p.promptIds.length, generatedTokens, timings: clock.timings() });
  // Abort never rejects (see GenerateOptions.signal): an already aborted signal is a generation
  // that ended before its first token, like one aborted during the prefill.
  if (o.signal?.aborted) return end('abort', 0);
  const state = p.state ?? p.host.model.createState();
  let constraint: Awaited<ReturnType<typeof startConstraint>>;
  try {
    constraint = await startConstraint(tokenizer, p.host.model.config.vocabSize, o.constraint, p.stopTokens);
    const rng = new Xoshiro128(o.seed ?? randomSeed());
    const decoder = tokenizer ? new TextStreamDecoder((ids) => tokenizer.decode(ids, { skipSpecialTokens: true })) : null;
    const stopper = new StopStringMatcher(o.stop);
    const lookback = o.repetitionLookback;
    const recent = lookback > 0 ? Array.from(p.promptIds.subarray(Math.max(0, p.promptIds.length - lookback))) : [];
    // Whatever is still held (an incomplete character, a partial stop string) goes out at the end.
    const release = (): string => {
      const m = stopper.push(decoder ? decoder.flush() : '');
      return m.stop !== undefined ? m.text : m.text + stopper.flush();
    };

    const tokenText = o.topLogprobs > 0 ? tokenTextOf(tokenizer) : undefined;

    const round = o.signal ? PREFILL_ROUND_TOKENS : p.promptIds.length;
    let logits: Float32Array | undefined;
    for (let at = 0; at < p.promptIds.length; at += round) {
      // Between rounds the state is consistent: it has consumed exactly `at` prompt tokens.
      if (at > 0 && o.signal?.aborted) return end('abort', 0);
      const since = clock.now();
      const piece = p.promptIds.subarray(at, at + round);
      logits = await forward(state, piece);
      clock.prefilled(piece.length, since);
    }
    let stepStart = clock.now();
    for (let generated = 1; ; generated++) {
      const penalised = o.repetitionPenalty !== 1 && recent.length > 0 ? applyRepetitionPenalty(logits!, recent, o.repetitionPenalty) : logits!;
      const scored = o.logitBias ? applyLogitBias(penalised, o.logitBias) : penalised;
      // The grammar mask restricts what may be drawn, like top-k: logprobs report the distribution before it.
      let allowed = scored;
      if (constraint) {
        if (scored === logits || o.logprobs) allowed = new Float32Array(scored);
        await constraint.mask(allowed); // tokens the grammar does not allow next: -Infinity
      }
      const token = sampleToken(allowed, o, rng);
      if (generated === 1) clock.firstToken();
      else clock.decoded(stepStart);
      // logprobs: the model's distribution after the penalty and logitBias, before temperature, the truncation filters and the grammar mask (as OpenAI reports them).
      const logprobs = o.logprobs ? tokenLogprobs(scored, token, o.topLogprobs, tokenText) : undefined;
      let finish: FinishReason | undefined;
      let text: string;
      if (p.stopTokens.has(token)) {
        finish = 'stop';
        text = release();
      } else {
        const grammarComplete = constraint !== undefined && (await constraint.accept(token));
        const m = stopper.push(decoder ? decoder.push(token) : '');
        text = m.text;
        if (m.stop !== undefined || grammarComplete) finish = 'stop';
        else if (generated >= o.maxTokens) finish = 'length';
        else if (o.signal?.aborted) finish = 'abort';
        if (finish !== undefined && m.stop === undefined) text += release();
      }
      const last = finish === undefined ? undefined : end(finish, generated);
      const chunk: GenerationChunk = last === undefined ? { token, text, ...logprobs } : { token, text, ...logprobs, ...last };
      o.onToken?.(chunk);
      yield chunk;
      if (last !== undefined) return last;
      if (lookback > 0) {
        recent.push(token);
        if (recent.length > lookback) recent.shift();
      }
      stepStart = clock.now();
      logits = await forward(state, Int32Array.of(token)); // sampled from V logits: in range
    }
  } finally {
    constraint?.dispose();
    if (p.state === undefined) state.dispose();
  }
}

/**
 * Streams a continuation of `prompt` as chunks `{ token, text }`; the last chunk also has
 * `finishReason`, `promptTokens`, `generatedTokens` and `timings`, which the stream also returns
 * (see GenerationEnd). Options are validated before this returns.
 * `forward` runs the model (default: the model alone; generateBatch passes a batcher's).
 */
export function generate(host: GenerationHost, prompt: Prompt, options?: GenerateOptions, forward?: ForwardFn): AsyncGenerator<GenerationChunk, GenerationEnd, undefined> {
  return run(plan(host, prompt, options, forward ?? ((state, ids) => host.model.forwardTokens(state, ids))));
}

function isGenerationEnd(v: unknown): v is GenerationEnd {
  return typeof v === 'object' && v !== null && typeof (v as GenerationEnd).finishReason === 'string' && typeof (v as GenerationEnd).timings === 'object';
}

/**
 * Drains a generation stream into a Completion (its text, tokens, finish reason, counts and
 * timings). The end comes from the stream's return value when it has one (generate() and
 * promptStream() do; it also covers a stream aborted before its first chunk), else from the last chunk.
 */
export async function collectCompletion(stream: AsyncIterable<GenerationChunk>): Promise<Completion> {
  const parts: string[] = [];
  const tokens: number[] = [];
  const logprobs: TokenLogprob[] = [];
  let last: GenerationChunk | undefined;
  const it = stream[Symbol.asyncIterator]();
  for (let r = await it.next(); ; r = await it.next()) {
    if (r.done) {
      const end: unknown = isGenerationEnd(r.value) ? r.value : last;
      if (!isGenerationEnd(end)) throw new InvalidArgumentError('the generation stream ended without a finish reason');
      const { finishReason, promptTokens, generatedTokens, timings } = end;
      return { text: parts.join(''), tokens, finishReason, promptTokens, generatedTokens, timings, ...(logprobs.length > 0 ? { logprobs } : {}) };
    }
    const chunk = r.value;
    parts.push(chunk.text);
    tokens.push(chunk.token);
    if (chunk.logprob !== undefined) logprobs.push({ token: chunk.token, logprob: chunk.logprob, ...(chunk.topLogprobs ? { topLogprobs: chunk.topLogprobs } : {}) });
    last = chunk;
  }
}

/** Collects a whole generation. */
export async function complete(host: GenerationHost, prompt: Prompt, options?: GenerateOptions): Promise<Completion> {
  return collectCompletion(generate(host, prompt, options));
}
