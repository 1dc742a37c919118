/**
 * Admission control: at most `maxBatch` sequences decode at once (they share every step); up to
 * `maxQueue` requests wait for a slot in arrival order; beyond that a request is refused at once
 * (HTTP 429 with Retry-After) instead of piling up latency for everyone.
 */
import { ApiError } from './errors';

interface Waiter {
  sequences: number;
  resolve: (release: () => void) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class Admission {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly maxBatch: number,
    readonly maxQueue: number,
  ) {}

  /** Sequences decoding now. */
  get activeSequences(): number {
    return this.active;
  }

  /** Requests waiting for slots. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /**
   * Reserves `sequences` slots; resolves to the function that frees them (call it exactly once).
   * Throws a 429 ApiError synchronously-rejected when the queue is full, and rejects with the
   * signal's reason when the client goes away while waiting.
   */
  acquire(sequences: number, signal?: AbortSignal): Promise<() => void> {
    if (sequences > this.maxBatch)
      return Promise.reject(new ApiError(400, `n = ${sequences} is more than this server's --max-batch (${this.maxBatch})`, { param: 'n', code: 'invalid_value' }));
    if (this.waiting.length === 0 && this.active + sequences <= this.maxBatch) return Promise.resolve(this.grant(sequences));
    if (this.waiting.length >= this.maxQueue)
      return Promise.reject(
        new ApiError(429, `the server is busy (${this.active} sequences running, ${this.waiting.length} requests queued); retry shortly`, { type: 'rate_limit_error', code: 'queue_full', retryAfterSeconds: 1 }),
      );
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        sequences,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Refuses every waiting request (shutdown). */
  rejectWaiting(e: unknown): void {
    for (const w of this.waiting.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(e);
    }
  }

  private grant(sequences: number): () => void {
    this.active += sequences;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= sequences;
      this.admit();
    };
  }

  private admit(): void {
    // Strict arrival order: a large request at the head is not overtaken by smaller ones.
    while (this.waiting.length > 0 && this.active + this.waiting[0]!.sequences <= this.maxBatch) {
      const w = this.waiting.shift()!;
      w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve(this.grant(w.sequences));
    }
  }
}
