/**
 * Measures where a generation's time goes (see GenerationTimings). Only the generation's own work
 * is counted: the time a stream spends suspended at a yield, waiting for its consumer, is not.
 */
import { performance } from 'perf_hooks';

import type { GenerationTimings } from './options';

function perSecond(tokens: number, ms: number): number {
  return tokens > 0 && ms > 0 ? (tokens * 1000) / ms : 0;
}

export class GenerationClock {
  private readonly start = performance.now();
  private prefillTokens = 0;
  private prefillMs = 0;
  private timeToFirstTokenMs: number | undefined;
  private decodeTokens = 0;
  private decodeMs = 0;

  constructor(private readonly loadMs: number | undefined) {}

  /** Milliseconds on the same clock, for the caller to mark the start of a step. */
  now(): number {
    return performance.now();
  }

  /** A prefill round of `tokens` that started at `since` has finished. */
  prefilled(tokens: number, since: number): void {
    this.prefillTokens += tokens;
    this.prefillMs += performance.now() - since;
  }

  /** The first token has been sampled. */
  firstToken(): void {
    this.timeToFirstTokenMs = performance.now() - this.start;
  }

  /** A decode step (feeding one sampled token, sampling the next) that started at `since` has finished. */
  decoded(since: number): void {
    this.decodeTokens++;
    this.decodeMs += performance.now() - since;
  }

  timings(): GenerationTimings {
    return {
      ...(this.loadMs !== undefined ? { loadMs: this.loadMs } : {}),
      prefillTokens: this.prefillTokens,
      prefillMs: this.prefillMs,
      prefillTokensPerSecond: perSecond(this.prefillTokens, this.prefillMs),
      ...(this.timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs: this.timeToFirstTokenMs } : {}),
      decodeTokens: this.decodeTokens,
      decodeMs: this.decodeMs,
      decodeTokensPerSecond: perSecond(this.decodeTokens, this.decodeMs),
    };
  }
}
