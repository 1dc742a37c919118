/**
 * The shared tier of the conversation-state cache: serialized states (the validated state format,
 * with fingerprint and checksums) in Redis, so every server process pointed at the same Redis can
 * continue any conversation. Redis is an optimisation only: every operation here resolves (never
 * rejects); a failure, a timeout or an unreachable server logs one line and reads as "not cached".
 */
import type Redis from 'ioredis';

import type { LogFn } from './log';

/** Options of the Redis tier. */
export interface RedisTierOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
  url: string;
  /** Key prefix, so several models or deployments can share one Redis (default "recurrentgemma:"). */
  keyPrefix?: string;
  /** Seconds a stored state lives (default 86400). */
  ttlSeconds?: number;
  /** Longest wait for one Redis command before giving up on it (default 1000 ms). */
  commandTimeoutMs?: number;
  /** After a failed or timed-out command, requests skip Redis for this long (default 5000 ms). */
  backoffMs?: number;
}

export type RedisStatus = 'connecting' | 'ready' | 'unavailable' | 'closed';

export class RedisStateTier {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly log: LogFn;
  private closed = false;
  private readonly backoffMs: number;
  /** Until this time (ms since epoch) Redis is skipped: a slow or failing Redis costs one timeout, not one per command. */
  private skipUntil = 0;

  /** `modelKey` names the model (a digest of its fingerprint): the index of cached lengths is per model. */
  constructor(options: RedisTierOptions, private readonly modelKey: string, log: LogFn) {
    this.prefix = options.keyPrefix ?? 'recurrentgemma:';
    this.ttl = options.ttlSeconds ?? 86_400;
    this.log = log;
    const timeout = options.commandTimeoutMs ?? 1000;
    this.backoffMs = options.backoffMs ?? 5000;
    // Loaded only when Redis is configured (keeps `require('recurrentgemma')` light).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: RedisClient } = require('ioredis') as typeof import('ioredis');
    this.client = new RedisClient(options.url, {
      lazyConnect: false,
      // Fail fast while disconnected instead of queueing commands: requests must not wait for Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeout,
      connectTimeout: timeout,
      // Keep trying to reconnect in the background, at most every 2 s.
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    this.client.on('error', (e: Error) => this.log(`redis: ${e.message} (serving from the local cache and prefill)`));
    this.client.on('ready', () => this.log(`redis: connected to ${redactUrl(options.url)}`));
  }

  get status(): RedisStatus {
    if (this.closed) return 'closed';
    if (this.client.status === 'ready') return 'ready';
    if (this.client.status === 'connecting' || this.client.status === 'connect' || this.client.status === 'wait') return 'connecting';
    return 'unavailable';
  }

  private stateKey(key: string): string {
    return `${this.prefix}state:${key}`;
  }

  private lengthsKey(): string {
    return `${this.prefix}lengths:${this.modelKey}`;
  }

  private async attempt<T>(what: string, fallback: T, op: () => Promise<T>): Promise<T> {
    if (this.closed || this.client.status !== 'ready' || Date.now() < this.skipUntil) return fallback;
    try {
      return await op();
    } catch (e) {
      this.skipUntil = Date.now() + this.backoffMs;
      this.log(`redis: ${what} failed: ${(e as Error).message} (serving from the local cache and prefill; Redis skipped for ${this.backoffMs} ms)`);
      return fallback;
    }
  }

  /** Prefix lengths some replica has stored states for (for this model). */
  lengths(): Promise<number[]> {
    return this.attempt('listing cached lengths', [], async () => (await this.client.smembers(this.lengthsKey())).map(Number).filter((n) => Number.isSafeInteger(n) && n > 0));
  }

  /** Which of `keys` exist. */
  exists(keys: readonly string[]): Promise<boolean[]> {
    const none = keys.map(() => false);
    if (keys.length === 0) return Promise.resolve(none);
    return this.attempt('looking up states', none, async () => {
      const pipeline = this.client.pipeline();
      for (const k of keys) pipeline.exists(this.stateKey(k));
      const results = (await pipeline.exec()) ?? [];
      return keys.map((_, i) => {
        const [err, value] = results[i] ?? [new Error('no reply'), 0];
        return err === null && value === 1;
      });
    });
  }

  /** The stored bytes of `key`, or undefined. */
  get(key: string): Promise<Buffer | undefined> {
    return this.attempt('reading a state', undefined, async () => (await this.client.getBuffer(this.stateKey(key))) ?? undefined);
  }

  /** Stores `bytes` under `key` for a state of `length` tokens; resolves to whether it was stored. */
  set(key: string, length: number, bytes: Uint8Array): Promise<boolean> {
    return this.attempt('storing a state', false, async () => {
      await this.client
        .multi()
        .set(this.stateKey(key), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', this.ttl)
        .sadd(this.lengthsKey(), String(length))
        .expire(this.lengthsKey(), this.ttl)
        .exec();
      return true;
    });
  }

  /** Removes a stored state (one that failed validation). */
  async delete(key: string): Promise<void> {
    await this.attempt('deleting a state', 0, () => this.client.del(this.stateKey(key)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
