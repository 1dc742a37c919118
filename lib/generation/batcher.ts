/**
 * Continuous batching of independent forward() calls. Callers (typically generation loops, one per
 * sequence) each await `batcher.forward(state, tokens)` as if they had the model to themselves;
 * the batcher collects every call made in the same turn of the event loop and runs them as one
 * model.forwardBatch(), so the weights are read once per step for all sequences. A sequence that
 * finishes simply stops calling and drops out; one that starts joins the next step. Long prompts
 * are fed in chunks of `prefillChunk` tokens so a new prefill never stalls the others' decoding for
 * more than one chunk.
 */
import '../dispose'; // Symbol.dispose on runtimes without it
import { AbortError, DisposedError, InvalidArgumentError, StateBusyError } from '../errors';
import { ModelState } from '../state/state';

/** What the batcher needs from a model (RecurrentGemma implements it). */
export interface BatchForwardHost {
  readonly config: { readonly vocabSize: number };
  forwardBatch(states: readonly ModelState[], tokensPerState: readonly (readonly number[] | Int32Array)[], options?: { allLogits?: boolean | readonly boolean[] }): Promise<Float32Array[]>;
  checkTokens(tokens: readonly number[] | Int32Array): Int32Array;
  /** @internal forwardBatch() for arguments already checked (one allLogits flag per state). */
  forwardChecked(states: readonly ModelState[], tokensPerState: readonly Int32Array[], allLogits: readonly boolean[]): Promise<Float32Array[]>;
}

/** Options of new ForwardBatcher(). */
export interface ForwardBatcherOptions {
  /** Most sequences advanced by one forwardBatch call; the rest wait for the next step (default 64). */
  maxBatch?: number;
  /** Longest piece of one prompt fed per step (default 64 tokens). */
  prefillChunk?: number;
}

/** Counters, for monitoring and tests. */
export interface ForwardBatcherStats {
  /** forwardBatch calls made. */
  steps: number;
  /** Sequence-steps run (the sum of the batch sizes). */
  sequenceSteps: number;
  /** Largest batch run so far. */
  maxBatchSeen: number;
}

interface Request {
  state: ModelState;
  tokens: Int32Array;
  /** Tokens of `tokens` already fed. */
  done: number;
  allLogits: boolean;
  /** Checked before each step: aborted, the call rejects with AbortError at a chunk boundary. */
  signal: AbortSignal | undefined;
  /** allLogits: rows filled so far ([tokens.length, V]). */
  logits: Float32Array | null;
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

function positiveInt(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 20) throw new InvalidArgumentError(`${name} must be an integer in [1, 1048576], got ${String(v)}`, 'ERR_RG_OUT_OF_RANGE');
  return v;
}

export class ForwardBatcher {
  readonly maxBatch: number;
  readonly prefillChunk: number;
  readonly stats: ForwardBatcherStats = { steps: 0, sequenceSteps: 0, maxBatchSeen: 0 };
  private readonly queue: Request[] = [];
  private readonly queued = new Set<ModelState>();
  private scheduled = false;
  private running = false;
  private isDisposed = false;

  constructor(
    private readonly host: BatchForwardHost,
    options: ForwardBatcherOptions = {},
  ) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    this.maxBatch = positiveInt('maxBatch', options.maxBatch, 64);
    this.prefillChunk = positiveInt('prefillChunk', options.prefillChunk, 64);
  }

  /** Sequences waiting for or inside the current step. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Like model.forward(): consumes `tokens` on `state` and resolves to the last position's logits
   * (or every position's with allLogits), but runs batched with the other calls of this step.
   */
  forward(state: ModelState, tokens: readonly number[] | Int32Array, options: { allLogits?: boolean; signal?: AbortSignal } = {}): Promise<Float32Array> {
    try {
      if (this.isDisposed) throw new DisposedError('batcher');
      if (!(state instanceof ModelState)) throw new InvalidArgumentError('state must be a ModelState');
      if (state.owner !== (this.host as unknown)) throw new InvalidArgumentError('state belongs to a different model');
      state.handle(); // throws DisposedError now rather than failing the whole step later
      if (this.queued.has(state)) throw new StateBusyError('the state already has a forward call waiting in this batcher');
      const allLogits = options.allLogits ?? false;
      if (typeof allLogits !== 'boolean') throw new InvalidArgumentError('allLogits must be a boolean');
      const { signal } = options;
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal');
      // A copy: the caller may change its array while the call waits for its step.
      return this.enqueue(state, Int32Array.from(this.host.checkTokens(tokens)), allLogits, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * @internal forward() for callers that checked `ids` already (the generation loop) and own the
   * state: queues without validating again.
   */
  enqueue(state: ModelState, ids: Int32Array, allLogits = false, signal?: AbortSignal): Promise<Float32Array> {
    if (this.isDisposed) return Promise.reject(new DisposedError('batcher'));
    // A shared batcher may serve another model than the generation's: refuse its states here.
    if (state.owner !== (this.host as unknown)) return Promise.reject(new InvalidArgumentError('state belongs to a different model'));
    if (this.queued.has(state)) return Promise.reject(new StateBusyError('the state already has a forward call waiting in this batcher'));
    return new Promise<Float32Array>((resolve, reject) => {
      const logits = allLogits ? new Float32Array(ids.length * this.host.config.vocabSize) : null;
      this.queue.push({ state, tokens: ids, done: 0, allLogits, signal, logits, resolve, reject });
      this.queued.add(state);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate runs after every pending promise continuation, so every loop that received its
    // logits in the last step has sampled and called forward() again before the next step starts.
    setImmediate(() => {
      this.scheduled = false;
      void this.step();
    });
  }

  private async step(): Promise<void> {
    // Prompts still unfinished when the batcher was disposed mid-step end here.
    if (this.isDisposed) {
      for (const r of [...this.queue]) {
        this.finish(r);
        r.reject(new DisposedError('batcher'));
      }
      return;
    }
    this.running = true;
    // A state disposed while waiting fails its own call only, not the whole step; so does an
    // abort, which leaves the state at the chunk boundary it reached (as model.forward() does).
    for (const r of this.queue.filter((q) => q.state.disposed || q.signal?.aborted)) {
      this.finish(r);
      r.reject(r.state.disposed ? new DisposedError('state') : new AbortError('forward was aborted', r.signal!.reason));
    }
    const batch = this.queue.slice(0, this.maxBatch);
    if (batch.length === 0) {
      this.running = false;
      return;
    }
    const pieces = batch.map((r) => r.tokens.subarray(r.done, Math.min(r.tokens.length, r.done + this.prefillChunk)));
    try {
      const out = await this.host.forwardChecked(
        batch.map((r) => r.state),
        pieces,
        batch.map((r) => r.allLogits),
      );
      this.stats.steps++;
      this.stats.sequenceSteps += batch.length;
      this.stats.maxBatchSeen = Math.max(this.stats.maxBatchSeen, batch.length);
      batch.forEach((r, i) => {
        if (r.logits) r.logits.set(out[i]!, r.done * this.host.config.vocabSize);
        r.done += pieces[i]!.length;
        if (r.done < r.tokens.length) return;
        this.finish(r);
        r.resolve(r.logits ?? out[i]!);
      });
    } catch (e) {
      // A failure of the shared step (e.g. a state disposed meanwhile) fails every call in it.
      for (const r of batch) {
        this.finish(r);
        r.reject(e);
      }
    } finally {
      this.running = false;
      // Unfinished prompts go to the back, so a queue longer than maxBatch is served round-robin.
      const unfinished = batch.filter((r) => this.queue.includes(r));
      for (const r of unfinished) this.queue.splice(this.queue.indexOf(r), 1);
      this.queue.push(...unfinished);
      this.schedule();
    }
  }

  /** True once dispose() was called. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Stops the batcher: calls waiting for a step reject with DisposedError, and so do later ones.
   * A step already running finishes (its states advance) and its calls resolve.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    const running = this.running ? new Set(this.queue.slice(0, this.maxBatch)) : new Set<Request>();
    for (const r of [...this.queue]) {
      if (running.has(r)) continue;
      this.finish(r);
      r.reject(new DisposedError('batcher'));
    }
  }

  /** dispose(), for `using batcher = model.createBatcher()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  private finish(r: Request): void {
    const i = this.queue.indexOf(r);
    if (i >= 0) this.queue.splice(i, 1);
    this.queued.delete(r.state);
  }
}
