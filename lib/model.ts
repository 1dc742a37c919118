import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';

import { openCheckpoint, type Checkpoint, type ModelConfig, type Quantization, type WeightDType, type WeightFormat } from './checkpoint';
import { configIdentity, fingerprintCheckpoint, type ModelFingerprint } from './checkpoint/fingerprint';
import { ChatSession, readChatMetadata, type ChatSessionOptions } from './chat';
import { OwnedResources } from './dispose';
import { AbortError, call, DisposedError, fromNativeError, InvalidArgumentError, TokenizerError, TokenRangeError } from './errors';
import { generateBatch, type BatchGenerationHost, type BatchRequest, type GenerateBatchOptions } from './generation/batch';
import { ForwardBatcher, type ForwardBatcherOptions } from './generation/batcher';
import { complete, generate, PREFILL_ROUND_TOKENS, requireTokenizer, type Prompt } from './generation/generate';
import type { Completion, GenerateOptions, GenerationChunk, GenerationEnd } from './generation/options';
import { evaluate, type EvalItem, type EvalOptions, type EvalSummary } from './scoring/eval';
import { score, type ScoreInput, type ScoreOptions, type ScoreResult } from './scoring/score';
import { resolveLoadOptions, type LoadOptions, type LoadProgress, type Precision } from './load-options';
import { addon, packageRoot, type NativeModel, type NativeState } from './native';
import { checkStateCompatible, decodeState, ModelState, type StateHeader, type StateOwner } from './state';
import { Tokenizer } from './tokenizer';
import { applyStreamTuning, currentStreamTuning, type StreamTuningSource } from './tuning/stream';

export type { LoadOptions, LoadProgress, Precision } from './load-options';

/** Runtime facts of a loaded model. */
export interface RuntimeInfo {
  simd: string;
  threads: number;
  /** The matmul precision in effect ('fast' only when asked for and the CPU has the instructions). */
  precision: Precision;
  /** Bytes of checkpoint files mapped. */
  mappedBytes: number;
  /** Bytes the engine converted or copied at load (quantized weights, huge-page copies, vectors). */
  ownedBytes: number;
  /** Bytes of weights one decode step reads. */
  streamBytes: number;
  /** Owned bytes advised onto 2 MiB pages. */
  hugePageBytes: number;
  /** The format the projections run in. */
  weights: WeightFormat;
  /** Software prefetch distance of the decode matmuls in this process (0 = hardware only). */
  streamPrefetchBytes: number;
  /** Where that distance came from (see LoadOptions.streamPrefetchBytes). */
  streamTuning: StreamTuningSource;
  /** Microseconds idle kernel threads poll before sleeping. */
  spinMicros: number;
  /** Bytes of the checkpoint mapping given back after their tensors were quantized or copied at load. */
  releasedBytes: number;
  /** AMX tiles present and granted by the OS (no kernel level uses them yet). */
  amx: boolean;
}

/** Options of forward(). */
export interface ForwardOptions {
  /** Return logits for every input position (T x vocab, row-major) instead of the last one only. */
  allLogits?: boolean;
  /**
   * Aborting rejects the call with an AbortError within one round of PREFILL_ROUND_TOKENS rows;
   * the state keeps what it consumed up to that round boundary (see its `position`).
   */
  signal?: AbortSignal;
}

/** Options of forwardBatch(). */
export interface ForwardBatchOptions {
  /** allLogits for every sequence, or one flag per sequence. */
  allLogits?: boolean | readonly boolean[];
  /** As for forward(): each state keeps what it consumed up to the round boundary. */
  signal?: AbortSignal;
}

/** Token ids: a plain array or an Int32Array. */
export type TokenInput = readonly number[] | Int32Array;

/** The folder of the small demo model shipped inside the package. */
export const DEFAULT_MODEL_DIR = path.join(packageRoot, 'models', 'tiny-python');

/**
 * A loaded RecurrentGemma checkpoint. Weights stay memory-mapped in their stored dtype; each
 * sequence's progress lives in a ModelState created by createState().
 */
export class RecurrentGemma implements StateOwner {
  readonly config: ModelConfig;
  /** The folder the checkpoint was loaded from. */
  readonly dir: string;
  /** Storage dtype of most weights (BF16 for Google's checkpoints). */
  readonly dtype: WeightDType;
  /** Number of weights (elements of every tensor the model uses). */
  readonly parameterCount: number;
  /** Set when the folder holds pre-quantized weights. */
  readonly quantization: Quantization | null;
  /** Identity of the architecture and weights; saved states carry it and are checked against it. */
  readonly fingerprint: ModelFingerprint;
  /** Milliseconds RecurrentGemma.load() took (reported in every generation's timings). */
  readonly loadMs: number | undefined;
  private nativeModel: NativeModel | null;
  /** States, sessions and batchers made by this model: dispose() disposes them too. */
  private readonly owned = new OwnedResources();
  private readonly textTokenizer: Tokenizer | null;
  /** What generation and chat run on: this model, its tokenizer and its folder. */
  private readonly host: BatchGenerationHost;

  /** @internal Use RecurrentGemma.load(). */
  protected constructor(checkpoint: Checkpoint, native: NativeModel, tokenizer: Tokenizer | null = null, weights: WeightFormat = 'stored', loadMs?: number) {
    this.loadMs = loadMs;
    this.config = checkpoint.config;
    this.dir = checkpoint.dir;
    this.dtype = checkpoint.dtype;
    this.parameterCount = checkpoint.tensors.filter((t) => !t.name.endsWith('_scales')).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    this.quantization = checkpoint.quantization;
    // Quantizing at load changes the numbers the state is computed with, so it is part of the identity.
    this.fingerprint = fingerprintCheckpoint(checkpoint, weights === 'stored' || weights === checkpoint.quantization ? undefined : weights);
    this.nativeModel = native;
    this.textTokenizer = tokenizer;
    this.host = { model: this, tokenizer, dir: this.dir };
  }

  /**
   * Loads a Hugging Face RecurrentGemma folder (config.json + model.safetensors or a sharded
   * index). Without a folder, loads the embedded demo model.
   */
  static async load(dir: string = DEFAULT_MODEL_DIR, options: LoadOptions = {}): Promise<RecurrentGemma> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError('model folder must be a non-empty string');
    const o = resolveLoadOptions(options);
    const started = performance.now();
    const progress = async (stage: LoadProgress['stage'], step: number) => {
      if (!o.onProgress) return;
      o.onProgress({ stage, step, steps: 3 });
      await new Promise((resolve) => setImmediate(resolve)); // let timers (a progress bar) run between the synchronous stages
    };
    await progress('checkpoint', 0);
    const { weights } = o;
    const checkpoint = openCheckpoint(path.resolve(dir));
    if (checkpoint.quantization !== null && weights !== 'stored' && weights !== checkpoint.quantization)
      throw new InvalidArgumentError(
        `${checkpoint.dir} is already quantized to ${checkpoint.quantization}; load it with weights '${checkpoint.quantization}' or 'stored' (quantize the original checkpoint to get ${weights})`,
      );
    const c = checkpoint.config;
    await progress('tokenizer', 1);
    const tokenizer = Tokenizer.existsIn(checkpoint.dir) ? Tokenizer.load(checkpoint.dir) : null;
    if (tokenizer && tokenizer.vocabSize > c.vocabSize)
      throw new TokenizerError(`${checkpoint.dir}: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${c.vocabSize}`, 'ERR_RG_TOKENIZER_FILE');
    await progress('weights', 2);
    const native = call(
      () =>
        new addon.NativeModel(
          // The same fields the fingerprint identifies the model by, so the two cannot drift apart.
          { ...configIdentity(c), blockTypes: c.blockTypes.map((b) => (b === 'attention' ? 1 : 0)) },
          checkpoint.files,
          checkpoint.tensors,
          { threads: o.threads, simd: o.simd, weights, hugePages: o.hugePages, precision: o.precision, spinMicros: o.spinMicros },
        ),
    );
    const info = native.info();
    applyStreamTuning({ option: o.streamPrefetchBytes, simd: info.simd, threads: info.threads, hugePages: o.hugePages, streamBytes: info.streamBytes });
    await progress('done', 3);
    return new this(checkpoint, native, tokenizer, weights, performance.now() - started);
  }

  /** True when the folder had tokenizer files (text in and out works). */
  get hasTokenizer(): boolean {
    return this.textTokenizer !== null;
  }

  /** The folder's tokenizer; throws TokenizerError (naming the files looked for) when it has none. */
  get tokenizer(): Tokenizer {
    return requireTokenizer(this.textTokenizer, this.dir, 'text');
  }

  /**
   * Streams a continuation of `prompt` (text, encoded with `<bos>` first, or token ids used as
   * given) as chunks `{ token, text }`; the last chunk also carries finishReason and counts.
   */
  generate(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<GenerationChunk, GenerationEnd, undefined> {
    return generate(this.host, prompt, options);
  }

  /** Resolves to the whole continuation of `prompt`, with finish reason and token counts. */
  complete(prompt: Prompt, options?: GenerateOptions): Promise<Completion> {
    return complete(this.host, prompt, options);
  }

  /**
   * Scores `input` (text, encoded with `<bos>` first so every text token is scored; or token ids,
   * the first one context only): each token's log-probability given all tokens before it, their
   * sum and the perplexity. Streams through the model `chunkSize` tokens at a time (default 256),
   * so a text of any length needs only chunkSize x vocab logits at once.
   */
  score(input: ScoreInput, options?: ScoreOptions): Promise<ScoreResult> {
    return score({ model: this, tokenizer: this.textTokenizer, dir: this.dir }, input, options);
  }

  /**
   * Multiple-choice evaluation by log-likelihood (lm-evaluation-harness convention): acc and
   * byte-length-normalised acc_norm; a few-shot `prefix` is prefilled once and its state cloned per item.
   */
  evaluate(items: readonly EvalItem[], options?: EvalOptions): Promise<EvalSummary> {
    return evaluate(this, requireTokenizer(this.textTokenizer, this.dir, 'evaluation'), items, options);
  }

  /**
   * Runs several generations concurrently, each with its own prompt and options (sampling, seed,
   * stop conditions, maxTokens, signal, state), batched into one forward pass per step. Finished
   * sequences drop out without holding up the rest. Resolves to the completions in request order.
   */
  generateBatch(requests: readonly (Prompt | BatchRequest)[], options?: GenerateBatchOptions): Promise<Completion[]> {
    return generateBatch(this.host, requests, options);
  }

  /**
   * Restores a chat session from session.serialize() bytes: its state, history and template. The
   * same checks as deserializeState() apply; bytes of a plain state (no chat data) are refused
   * with code ERR_RG_STATE_NOT_CHAT. `options` are as for createChatSession().
   */
  deserializeChatSession(bytes: Uint8Array, options?: ChatSessionOptions): ChatSession {
    const tokenizer = requireTokenizer(this.textTokenizer, this.dir, 'chat');
    const { header, data } = decodeState(bytes);
    checkStateCompatible(header, this);
    const saved = readChatMetadata(header.metadata, this.config.vocabSize);
    const state = this.createState();
    state.restore(data, header.position);
    return this.adopt(new ChatSession({ ...this.host, tokenizer }, options, { state, data: saved }));
  }

  /** Reads a file written by session.save() and restores the session. */
  async loadChatSession(file: string, options?: ChatSessionOptions): Promise<ChatSession> {
    if (typeof file !== 'string' || file.length === 0) throw new InvalidArgumentError('file must be a non-empty string');
    return this.deserializeChatSession(await fs.promises.readFile(file), options);
  }

  /** A chat in Gemma's turn format that keeps its state between turns. */
  createChatSession(options?: ChatSessionOptions): ChatSession {
    return this.adopt(new ChatSession({ ...this.host, tokenizer: requireTokenizer(this.textTokenizer, this.dir, 'chat') }, options));
  }

  /** @internal */
  handle(): NativeModel {
    if (!this.nativeModel) throw new DisposedError('model');
    return this.nativeModel;
  }

  /** @internal */
  createNativeState(): NativeState {
    const m = this.handle();
    return call(() => new addon.NativeState(m));
  }

  /** @internal Registers a state, session or batcher made for this model, so dispose() disposes it. */
  adopt<T extends { dispose(): void }>(resource: T): T {
    this.owned.add(resource);
    return resource;
  }

  /** Which kernels, precision in effect and how many threads this model runs with, and its memory. */
  get runtime(): RuntimeInfo {
    return { ...this.handle().info(), streamTuning: currentStreamTuning().source };
  }

  /** A fresh state at position 0. */
  createState(): ModelState {
    return new ModelState(this.createNativeState(), this); // the state adopts itself (clones too)
  }

  /**
   * Restores a state from state.serialize() bytes. Throws StateFormatError (see its `code`) when
   * the bytes are not a state, are truncated or corrupted, come from a newer format version, or
   * were computed by a different model.
   */
  deserializeState(bytes: Uint8Array): ModelState {
    return this.restoreState(bytes).state;
  }

  /** Reads a file written by state.save() and restores it (see deserializeState()). */
  async loadState(file: string): Promise<ModelState> {
    if (typeof file !== 'string' || file.length === 0) throw new InvalidArgumentError('file must be a non-empty string');
    return this.deserializeState(await fs.promises.readFile(file));
  }

  /** @internal deserializeState() that also returns the header (with the saved metadata). */
  restoreState(bytes: Uint8Array): { state: ModelState; header: StateHeader } {
    const { header, data } = decodeState(bytes);
    checkStateCompatible(header, this);
    const state = this.createState();
    state.restore(data, header.position);
    return { state, header };
  }

  /**
   * Consumes `tokens` starting at the state's position and advances the state. Resolves to the
   * soft-capped logits of the last position (length vocabSize), or of every position
   * (T x vocabSize, row-major) with `allLogits`. Runs off the main thread.
   */
  async forward(state: ModelState, tokens: TokenInput, options: ForwardOptions = {}): Promise<Float32Array> {
    const [logits] = await this.forwardBatch([state], [tokens], options);
    return logits!;
  }

  /** @internal forward() of ids already checked (generation: prompt ids via checkTokens, sampled ids by construction). */
  async forwardTokens(state: ModelState, tokens: Int32Array): Promise<Float32Array> {
    const [logits] = await this.forwardChecked([state], [tokens], [false]);
    return logits!;
  }

  /**
   * @internal forwardBatch() of arguments already checked (the batcher checked every call's ids
   * when it was queued). Native checks ids and sizes once more before touching memory.
   */
  forwardChecked(states: readonly ModelState[], tokensPerState: readonly Int32Array[], allLogits: readonly boolean[]): Promise<Float32Array[]> {
    const native = this.handle();
    const segments = states.map((state, i) => ({ state: state.handle(), tokens: tokensPerState[i]!, allLogits: allLogits[i]! }));
    return call(() => native.forward(segments)).catch((e: unknown) => {
      throw fromNativeError(e);
    });
  }

  /**
   * Advances several independent sequences in one pass (weights are read once for all of them).
   * Resolves to one logits array per state, laid out as forward() would return it.
   */
  async forwardBatch(states: readonly ModelState[], tokensPerState: readonly TokenInput[], options: ForwardBatchOptions = {}): Promise<Float32Array[]> {
    this.handle();
    if (!Array.isArray(states) || states.length === 0) throw new InvalidArgumentError('forwardBatch needs a non-empty array of states');
    if (!Array.isArray(tokensPerState) || tokensPerState.length !== states.length)
      throw new InvalidArgumentError(`forwardBatch got ${states.length} states but ${Array.isArray(tokensPerState) ? tokensPerState.length : 'no'} token lists`);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    const allLogits = options.allLogits ?? false;
    const flags = Array.isArray(allLogits) ? (allLogits as readonly unknown[]) : states.map(() => allLogits);
    if (flags.length !== states.length || !flags.every((f) => typeof f === 'boolean'))
      throw new InvalidArgumentError('allLogits must be a boolean or an array of one boolean per state');
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal');
    const ids = states.map((state, i) => {
      if (!(state instanceof ModelState)) throw new InvalidArgumentError(`states[${i}] is not a ModelState`);
      state.handle();
      return this.checkTokens(tokensPerState[i]!);
    });
    // Without a signal nothing can interrupt the call: one native call does every round.
    if (signal === undefined) return this.forwardChecked(states, ids, flags as boolean[]);
    return this.forwardInRounds(states, ids, flags as boolean[], signal);
  }

  /**
   * forwardChecked() in calls of at most PREFILL_ROUND_TOKENS rows (shared among the states with
   * tokens left), checking `signal` before each: an abort rejects with AbortError and leaves every
   * state at the round boundary it reached.
   */
  private async forwardInRounds(states: readonly ModelState[], ids: readonly Int32Array[], allLogits: readonly boolean[], signal: AbortSignal): Promise<Float32Array[]> {
    const V = this.config.vocabSize;
    const done = ids.map(() => 0);
    const out: (Float32Array | undefined)[] = ids.map((t, i) => (allLogits[i] ? new Float32Array(t.length * V) : undefined));
    for (;;) {
      const active = ids.flatMap((t, i) => (done[i]! < t.length ? [i] : []));
      if (active.length === 0) return out as Float32Array[];
      if (signal.aborted) throw new AbortError('forward was aborted', signal.reason);
      const share = Math.max(1, Math.floor(PREFILL_ROUND_TOKENS / active.length));
      const pieces = active.map((i) => ids[i]!.subarray(done[i]!, done[i]! + share));
      const logits = await this.forwardChecked(
        active.map((i) => states[i]!),
        pieces,
        active.map((i) => allLogits[i]!),
      );
      active.forEach((i, k) => {
        if (allLogits[i]) out[i]!.set(logits[k]!, done[i]! * V);
        else out[i] = logits[k]!; // the last round's is the last position's
        done[i]! += pieces[k]!.length;
      });
    }
  }

  /**
   * A scheduler that runs concurrent forward() calls made through it (e.g. several generation
   * loops) as one forwardBatch() per step. See ForwardBatcher.
   */
  createBatcher(options?: ForwardBatcherOptions): ForwardBatcher {
    return this.adopt(new ForwardBatcher(this, options));
  }

  /** Validates token ids and returns them as an Int32Array. */
  checkTokens(tokens: TokenInput): Int32Array {
    if (!(tokens instanceof Int32Array) && !Array.isArray(tokens))
      throw new InvalidArgumentError('tokens must be an array of integers or an Int32Array');
    if (tokens.length === 0) throw new InvalidArgumentError('tokens must not be empty');
    const V = this.config.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t !== 'number' || !Number.isInteger(t)) throw new InvalidArgumentError(`token at index ${i} is not an integer: ${String(t)}`);
      if (t < 0 || t >= V) throw new TokenRangeError(`token id ${t} at index ${i} is outside the vocabulary [0, ${V})`);
    }
    return tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
  }

  /** True once dispose() was called. */
  get disposed(): boolean {
    return this.nativeModel === null;
  }

  /**
   * Unmaps the weights and stops the threads now (a finalizer would otherwise do it later). Every
   * state, chat session and batcher this model made is disposed with it: using one afterwards
   * throws (or rejects with) DisposedError, and generations in flight end with one.
   */
  dispose(): void {
    if (!this.nativeModel) return;
    this.owned.disposeAll();
    call(() => this.nativeModel!.dispose());
    this.nativeModel = null;
  }

  /** dispose(), for `using model = await RecurrentGemma.load(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}
