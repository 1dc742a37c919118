/**
 * Continuous batching with a conversation-state cache. Every admitted request runs the library's
 * generation loop on one shared ForwardBatcher, so all in-flight sequences advance together in one
 * forward pass per step; a new request joins at the next step, a long prompt is fed in chunks
 * (prefillChunk) between the others' decode steps, and a finished or aborted one leaves at once.
 *
 * Before prefilling, a request looks up the longest prefix of its prompt whose state is cached
 * (in this process, then in Redis), clones it and prefills only the rest. After answering, the
 * state that has consumed prompt + answer is cached under those exact tokens, which is what the
 * client's next turn starts with.
 */

import type { ForwardBatcher } from '../generation/batcher';
import type { Completion, GenerateOptions, GenerationChunk, TokenLogprob } from '../generation';
import { GENERATION_DEFAULTS } from '../generation';
import type { RecurrentGemma } from '../model';
import type { ModelState } from '../state';
import { inspectState } from '../state/format';
import { Admission } from './admission';
import type { LogFn } from './log';
import { PrefixKeys } from './prefix-key';
import { RedisStateTier, type RedisTierOptions } from './redis-tier';
import { LocalStateCache } from './state-cache';

/** Options of the scheduler (see ServerOptions for their meaning). */
export interface SchedulerOptions {
  maxBatch: number;
  maxQueue: number;
  prefillChunk: number;
  stateCacheBytes: number;
  redis?: RedisTierOptions;
  /** Cache states at message boundaries only when at least this many tokens were prefilled since the previous one. */
  snapshotMinTokens: number;
  log: LogFn;
}

/** One request: a prompt and how to continue it `n` times. */
export interface SequenceRequest {
  promptIds: readonly number[];
  /** Token counts at message ends inside the prompt (states there are cached too). */
  boundaries?: readonly number[];
  n: number;
  /** Shared generation options (no state, signal, onToken or seed). */
  options: GenerateOptions;
  /** Seed of choice 0; choice i uses seed + i. */
  seed: number | undefined;
  signal: AbortSignal;
  /** Every chunk of every choice, as it is produced. */
  onChunk?: (choice: number, chunk: GenerationChunk) => void;
}

export interface ChoiceResult {
  index: number;
  text: string;
  tokens: number[];
  finishReason: Completion['finishReason'];
  /** With the logprobs option: one entry per token of the text (a closing stop token is left out). */
  logprobs?: TokenLogprob[];
}

export interface SequenceResult {
  choices: ChoiceResult[];
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose state came from the cache (not prefilled). */
  cachedTokens: number;
}

/** Longest list of Redis lengths checked per lookup (one pipelined EXISTS each). */
const MAX_REDIS_CANDIDATES = 256;
/** Most message-boundary states cached per request. */
const MAX_SNAPSHOTS = 4;

export class Scheduler {
  readonly admission: Admission;
  readonly batcher: ForwardBatcher;
  readonly cache: LocalStateCache;
  readonly redis: RedisStateTier | undefined;
  private readonly keys: PrefixKeys;
  private readonly stopTokens: Set<number>;
  private readonly background = new Set<Promise<unknown>>();
  /** States handed to the local cache (the cache disposes them, not the request). */
  private readonly cachedStates = new WeakSet<ModelState>();

  constructor(
    private readonly model: RecurrentGemma,
    private readonly options: SchedulerOptions,
  ) {
    this.admission = new Admission(options.maxBatch, options.maxQueue);
    this.batcher = model.createBatcher({ maxBatch: options.maxBatch, prefillChunk: options.prefillChunk });
    this.cache = new LocalStateCache(options.stateCacheBytes);
    this.keys = new PrefixKeys(model.fingerprint);
    const tokenizer = model.hasTokenizer ? model.tokenizer : undefined;
    this.stopTokens = new Set([tokenizer?.eosId ?? model.config.eosTokenId, ...(tokenizer?.endOfTurnId !== undefined ? [tokenizer.endOfTurnId] : [])]);
    // The key of the empty prefix is already a digest of the model's fingerprint: it names the model.
    const modelKey = this.keys.key([]).slice(0, 32);
    this.redis = options.redis ? new RedisStateTier(options.redis, modelKey, options.log) : undefined;
  }

  /** Whether `id` ends an answer by itself (`<eos>`, `<end_of_turn>`): it is not part of the text. */
  isStopToken(id: number): boolean {
    return this.stopTokens.has(id);
  }

  /** Reserves slots for `n` sequences (429 when the queue is full); resolves to their release function. */
  admit(n: number, signal: AbortSignal): Promise<() => void> {
    return this.admission.acquire(n, signal);
  }

  /** Runs an admitted request to completion (aborted choices end with finishReason 'abort'). */
  async run(req: SequenceRequest): Promise<SequenceResult> {
    const ids = req.promptIds;
    // The generation loop applies the repetition penalty over the prompt tokens it is given, so
    // with a penalty its whole lookback window is fed through it (never taken from the cache):
    // the answer is then the same with or without a cached prefix.
    const penalty = req.options.repetitionPenalty ?? GENERATION_DEFAULTS.repetitionPenalty;
    const lookback = req.options.repetitionLookback ?? GENERATION_DEFAULTS.repetitionLookback;
    const tail = penalty !== 1 ? Math.min(ids.length, Math.max(1, lookback)) : 1;
    const limit = ids.length - tail;
    const { state, cached } = await this.lookup(ids, limit);
    const states: ModelState[] = [state];
    try {
      await this.prefill(state, ids, cached, limit, req);
      for (let i = 1; i < req.n; i++) states.push(state.clone()); // one prefill, n forks
      const choices = await Promise.all(states.map((s, i) => this.choice(s, i, ids, limit, req)));
      return { choices, promptTokens: ids.length, completionTokens: choices.reduce((sum, c) => sum + c.tokens.length, 0), cachedTokens: cached };
    } finally {
      for (const s of states) if (!s.disposed && !this.cachedStates.has(s)) s.dispose();
    }
  }

  /** Feeds prompt[from, to) on `state`, caching states at message boundaries on the way. */
  private async prefill(state: ModelState, ids: readonly number[], from: number, to: number, req: SequenceRequest): Promise<void> {
    const min = this.options.snapshotMinTokens;
    const stops: number[] = [];
    let last = from;
    for (const b of [...(req.boundaries ?? [])].sort((a, b) => a - b)) {
      if (b > from && b <= to && b - last >= min) {
        stops.push(b);
        last = b;
      }
    }
    const snapshots = new Set(stops.slice(-MAX_SNAPSHOTS));
    let pos = from;
    for (const end of [...snapshots, to]) {
      if (end <= pos) continue;
      req.signal.throwIfAborted();
      await this.batcher.forward(state, ids.slice(pos, end));
      pos = end;
      if (snapshots.has(end)) void this.store(ids.slice(0, end), state.clone(), false).catch((e: unknown) => this.options.log(`state cache: ${(e as Error).message}`));
    }
  }

  /** Generates one choice on its own state; caches the state after the answer. */
  private async choice(state: ModelState, index: number, ids: readonly number[], limit: number, req: SequenceRequest): Promise<ChoiceResult> {
    const seed = req.seed === undefined ? undefined : req.seed + index <= Number.MAX_SAFE_INTEGER ? req.seed + index : req.seed - index;
    let completion: Completion;
    try {
      [completion] = (await this.model.generateBatch(
        [
          {
            prompt: ids.slice(limit),
            options: { ...req.options, ...(seed !== undefined ? { seed } : {}), state, signal: req.signal, ...(req.onChunk ? { onToken: (c: GenerationChunk) => req.onChunk!(index, c) } : {}) },
          },
        ],
        { batcher: this.batcher },
      )) as [Completion];
    } catch (e) {
      if (req.signal.aborted) return { index, text: '', tokens: [], finishReason: 'abort' };
      throw e;
    }
    const { tokens, finishReason } = completion;
    const last = tokens[tokens.length - 1]!;
    // Worth caching when the client can continue from here: the answer ended with a stop token
    // (the template closes the turn with it) or at the length limit. Not after a stop string or
    // an abort: the client's next prompt will not contain these tokens.
    const continuable = finishReason === 'length' || (finishReason === 'stop' && this.stopTokens.has(last));
    if (continuable && !req.signal.aborted) {
      await this.batcher.forward(state, [last]); // the loop does not feed its last token
      await this.store([...ids, ...tokens], state, true);
    }
    const logprobs = completion.logprobs && (finishReason === 'stop' && this.stopTokens.has(last) ? completion.logprobs.slice(0, -1) : completion.logprobs);
    return { index, text: completion.text, tokens, finishReason, ...(logprobs ? { logprobs } : {}) };
  }

  /** Caches `state` (taking ownership) under `tokens`; the Redis write is awaited when `wait`. */
  private async store(tokens: readonly number[], state: ModelState, wait: boolean): Promise<void> {
    const key = this.keys.key(tokens);
    const bytes = this.redis ? state.serialize({ metadata: { prefixKey: key, tokens: tokens.length } }) : undefined;
    this.cachedStates.add(state);
    this.cache.put(key, tokens.length, state);
    if (!this.redis || !bytes) return;
    const write = this.redis.set(key, tokens.length, bytes);
    if (wait) {
      await write;
      return;
    }
    this.background.add(write);
    void write.finally(() => this.background.delete(write));
  }

  /** The longest cached prefix of ids[0, limit]: a private clone of its state and its length. */
  private async lookup(ids: readonly number[], limit: number): Promise<{ state: ModelState; cached: number }> {
    let best = 0;
    let state: ModelState | undefined;
    const localLengths = this.cache
      .lengths()
      .filter((n) => n > 0 && n <= limit)
      .sort((a, b) => b - a);
    const localKeys = this.keys.keysAt(ids, localLengths);
    for (const n of localLengths) {
      const s = this.cache.get(localKeys.get(n)!);
      if (s) {
        state = s;
        best = n;
        break;
      }
    }
    if (this.redis) {
      const lengths = (await this.redis.lengths())
        .filter((n) => n > best && n <= limit)
        .sort((a, b) => b - a)
        .slice(0, MAX_REDIS_CANDIDATES);
      const keys = this.keys.keysAt(ids, lengths);
      const exists = await this.redis.exists(lengths.map((n) => keys.get(n)!));
      for (let j = 0; j < lengths.length; j++) {
        if (!exists[j]) continue;
        const s = await this.fromRedis(keys.get(lengths[j]!)!, lengths[j]!);
        if (!s) continue;
        state?.dispose();
        state = s;
        best = lengths[j]!;
        break;
      }
    }
    this.cache.record(best > 0);
    return { state: state ?? this.model.createState(), cached: best };
  }

  /** A state read from Redis and checked (format, checksums, model, exact prefix), or undefined. */
  private async fromRedis(key: string, length: number): Promise<ModelState | undefined> {
    const bytes = await this.redis!.get(key);
    if (!bytes) return undefined;
    try {
      const meta = inspectState(bytes).metadata as { prefixKey?: unknown; tokens?: unknown } | undefined;
      if (meta?.prefixKey !== key || meta.tokens !== length) throw new Error('it was stored for other tokens');
      const state = this.model.deserializeState(bytes); // verifies checksums and the model fingerprint
      if (state.position !== length) {
        state.dispose();
        throw new Error(`its position ${state.position} is not ${length}`);
      }
      return state;
    } catch (e) {
      this.options.log(`redis: refused cached state ${key.slice(0, 16)}: ${(e as Error).message} (prefilling instead)`);
      await this.redis!.delete(key);
      return undefined;
    }
  }

  /** Waits for background cache writes, closes Redis and frees cached states. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.background]);
    await this.redis?.close();
    this.cache.clear();
  }
}
