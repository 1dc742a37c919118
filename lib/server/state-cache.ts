/**
 * The in-process tier of the conversation-state cache: model states keyed by PrefixKeys digests,
 * least recently used first out, bounded in bytes. Entries are never advanced in place: a lookup
 * hands out a clone, so a cached state stays valid for every later request.
 */
import type { ModelState } from '../state';

interface Entry {
  state: ModelState;
  /** Tokens the state has consumed. */
  length: number;
  bytes: number;
}

/** Counters shown by /health. */
export interface StateCacheStats {
  entries: number;
  bytes: number;
  capacityBytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class LocalStateCache {
  /** Map iteration order is insertion order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  /** How many entries hold each prefix length, so lookups only hash the lengths that exist. */
  private readonly lengthCounts = new Map<number, number>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly capacityBytes: number) {}

  /** Prefix lengths some entry has. */
  lengths(): number[] {
    return [...this.lengthCounts.keys()];
  }

  /** A clone of the state stored under `key` (marked most recently used), or undefined. */
  get(key: string): ModelState | undefined {
    const e = this.entries.get(key);
    if (!e || e.state.disposed) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.state.clone();
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Counts a lookup's outcome (one per request). */
  record(hit: boolean): void {
    if (hit) this.hits++;
    else this.misses++;
  }

  /**
   * Stores `state` (the cache takes ownership and disposes it when evicted). A state larger than
   * the whole capacity is disposed at once.
   */
  put(key: string, length: number, state: ModelState): void {
    const bytes = state.byteLength;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    if (bytes > this.capacityBytes) {
      state.dispose();
      return;
    }
    while (this.bytes + bytes > this.capacityBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldestKey, oldest);
      this.evictions++;
    }
    this.entries.set(key, { state, length, bytes });
    this.bytes += bytes;
    this.lengthCounts.set(length, (this.lengthCounts.get(length) ?? 0) + 1);
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
    const left = (this.lengthCounts.get(e.length) ?? 1) - 1;
    if (left === 0) this.lengthCounts.delete(e.length);
    else this.lengthCounts.set(e.length, left);
    e.state.dispose();
  }

  get stats(): StateCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, capacityBytes: this.capacityBytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  /** Frees every state. */
  clear(): void {
    for (const [key, e] of [...this.entries]) this.remove(key, e);
  }
}
