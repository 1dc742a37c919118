/**
 * Per-machine tuning of the streaming (decode) matmuls: the software prefetch distance, which
 * changes how fast the weights arrive from DRAM and never a result (native/kernels/stream_tuning.h).
 *
 * The best distance differs by CPU: on AMD Zen 4 the hardware prefetchers alone reach ~90 % of the
 * read bandwidth (0 is best), while on Intel Xeon one core streams half of it and its L2 streamer
 * restarts at every 4 KiB page. Rather than hard-code one CPU's answer, the loader measures the
 * model's own decode matvec once per machine (a buffer larger than any cache, every candidate
 * distance interleaved, best of several rounds) and caches the result in
 * `$XDG_CACHE_HOME/recurrentgemma/stream-tuning.json` (default `~/.cache/...`) keyed by the CPU
 * model, SIMD level, thread count and page kind. Only models that stream more than
 * TUNE_MIN_STREAM_BYTES per step trigger it (smaller ones run from cache memory).
 *
 * Overrides: the load option `streamPrefetchBytes` or RECURRENTGEMMA_PREFETCH_BYTES (bytes, 0 = off).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { InvalidArgumentError } from '../errors';
import { addon } from '../native';

/** Where the prefetch distance in effect came from. */
export type StreamTuningSource = 'default' | 'option' | 'env' | 'cached' | 'measured';

export interface StreamTuning {
  /** Bytes ahead of the weight stream to prefetch (0 = hardware prefetchers only). */
  prefetchBytes: number;
  source: StreamTuningSource;
}

/** One measured candidate: decode matvec throughput with this prefetch distance. */
export interface PrefetchMeasurement {
  prefetchBytes: number;
  gbPerSecond: number;
}

/** Distances tried by the measurement (0 first: the hardware-only baseline). */
export const PREFETCH_CANDIDATES: readonly number[] = [0, 256, 512, 1024, 2048, 4096];
/** Models streaming less than this per decode step skip the measurement (weights mostly in cache). */
export const TUNE_MIN_STREAM_BYTES = 256 * 2 ** 20;
/** A candidate must beat no software prefetch by this factor to be chosen (noise margin). */
export const MIN_GAIN = 1.05;
/** Largest distance the kernels accept (stream_tuning.h). */
export const MAX_PREFETCH_BYTES = 65536;

const ENV = 'RECURRENTGEMMA_PREFETCH_BYTES';

let current: StreamTuning = { prefetchBytes: 0, source: 'default' };

/** The tuning in effect in this process (set by the last model load that chose one, or kernels.setStreamTuning). */
export function currentStreamTuning(): StreamTuning {
  return { ...current };
}

/** Sets the distance process-wide and records where it came from; returns what is in effect. */
export function setPrefetchBytes(prefetchBytes: number, source: StreamTuningSource): StreamTuning {
  current = { prefetchBytes: addon.kernels.setStreamTuning({ prefetchBytes }).prefetchBytes, source };
  return currentStreamTuning();
}

/** Validates a prefetch distance from an option or the environment. */
export function parsePrefetchBytes(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_PREFETCH_BYTES)
    throw new InvalidArgumentError(`${what} must be an integer number of bytes in [0, ${MAX_PREFETCH_BYTES}], got ${JSON.stringify(value)}`, 'ERR_RG_OUT_OF_RANGE');
  return n;
}

/** The cache file (XDG base directory rules). */
export function tuningCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'recurrentgemma', 'stream-tuning.json');
}

/** The cache key: what the best distance can depend on. */
export function tuningKey(o: { simd: string; threads: number; hugePages: boolean }): string {
  const cpu = addon.cpuInfo();
  return `${cpu.vendor} ${cpu.modelName || '(unknown model)'} family ${cpu.family} model ${cpu.model}|${o.simd}|${o.threads} threads|${o.hugePages ? '2M' : '4k'} pages`;
}

type CacheEntry = { prefetchBytes: number; measured: PrefetchMeasurement[]; date: string };

function readCache(file: string): Record<string, CacheEntry> {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, CacheEntry>) : {};
  } catch {
    return {}; // missing or unreadable: measure again
  }
}

function writeCache(file: string, key: string, entry: CacheEntry): void {
  try {
    const all = readCache(file);
    all[key] = entry;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
    fs.renameSync(tmp, file);
  } catch {
    // A read-only home only costs a re-measurement next time.
  }
}

/**
 * Times the model's decode matvec (BF16 weights, 2560 columns, the model's thread split) over
 * `bytes` of weights for every candidate distance, interleaved over `rounds`; best of the rounds.
 */
export function measurePrefetch(o: { threads: number; simd: string; hugePages: boolean; bytes?: number; rounds?: number; candidates?: readonly number[] }): PrefetchMeasurement[] {
  const cols = 2560;
  const rows = Math.max(64, Math.floor((o.bytes ?? 256 * 2 ** 20) / (2 * cols)));
  const candidates = o.candidates ?? PREFETCH_CANDIDATES;
  const before = addon.kernels.streamTuning();
  const kc = new addon.bench.KernelCase({ kernel: 'matmul', dtype: 'BF16', rows, cols, T: 1, threads: o.threads, simd: o.simd, hugePages: o.hugePages });
  try {
    const best = candidates.map(() => Infinity);
    kc.run(); // fault the pages in
    for (let round = 0; round < (o.rounds ?? 7); round++)
      for (let j = 0; j < candidates.length; j++) {
        const i = (j + round) % candidates.length; // rotate the order: drift hits every candidate alike
        addon.kernels.setStreamTuning({ prefetchBytes: candidates[i]! });
        const t0 = process.hrtime.bigint();
        kc.run();
        best[i] = Math.min(best[i]!, Number(process.hrtime.bigint() - t0) / 1e9);
      }
    return candidates.map((prefetchBytes, i) => ({ prefetchBytes, gbPerSecond: kc.bytesPerRun / best[i]! / 1e9 }));
  } finally {
    kc.dispose();
    addon.kernels.setStreamTuning(before);
  }
}

/** The distance to use from measurements: the fastest, if it beats hardware-only by MIN_GAIN. */
export function pickPrefetch(measured: readonly PrefetchMeasurement[]): number {
  const base = measured.find((m) => m.prefetchBytes === 0)?.gbPerSecond ?? 0;
  let best = { prefetchBytes: 0, gbPerSecond: base };
  for (const m of measured) if (m.gbPerSecond > best.gbPerSecond) best = m;
  return best.gbPerSecond >= base * MIN_GAIN ? best.prefetchBytes : 0;
}

/**
 * Chooses and applies (process-wide) the prefetch distance for a model just loaded: the option,
 * else the environment, else (for models streaming at least TUNE_MIN_STREAM_BYTES on a SIMD level)
 * the cached or freshly measured value, else what is in effect already.
 */
export function applyStreamTuning(o: { option?: number; simd: string; threads: number; hugePages: boolean; streamBytes: number; env?: NodeJS.ProcessEnv; measureBytes?: number }): StreamTuning {
  const env = o.env ?? process.env;
  let choice: StreamTuning | null = null;
  if (o.option !== undefined) choice = { prefetchBytes: parsePrefetchBytes(o.option, 'streamPrefetchBytes'), source: 'option' };
  else if (env[ENV] !== undefined && env[ENV] !== '') choice = { prefetchBytes: parsePrefetchBytes(env[ENV], ENV), source: 'env' };
  else if (o.simd !== 'scalar' && o.streamBytes >= TUNE_MIN_STREAM_BYTES) {
    const file = tuningCacheFile(env);
    const key = tuningKey(o);
    const hit = readCache(file)[key];
    if (hit && Number.isInteger(hit.prefetchBytes) && hit.prefetchBytes >= 0 && hit.prefetchBytes <= MAX_PREFETCH_BYTES) {
      choice = { prefetchBytes: hit.prefetchBytes, source: 'cached' };
    } else {
      const measured = measurePrefetch({ threads: o.threads, simd: o.simd, hugePages: o.hugePages, bytes: o.measureBytes });
      choice = { prefetchBytes: pickPrefetch(measured), source: 'measured' };
      writeCache(file, key, { prefetchBytes: choice.prefetchBytes, measured, date: new Date().toISOString() });
    }
  }
  return choice ? setPrefetchBytes(choice.prefetchBytes, choice.source) : currentStreamTuning();
}
