/**
 * How long idle kernel threads poll for the next parallel region before sleeping
 * (native/runtime/thread_pool.h): a decode step is ~200 back-to-back matmuls, and a sleeping
 * thread takes tens of microseconds (more in a VM) to wake, during which only the caller streams.
 * Off by default (0): on a shared, busy machine polling measured slower than sleeping; on a
 * dedicated one ~50 us may gain a little (measure with the bench).
 *
 * Overrides: the load option `spinMicros` or RECURRENTGEMMA_SPIN_US (0 = always sleep).
 */
import { InvalidArgumentError } from '../errors';

/** The native default (ThreadPool::kDefaultSpinMicros). */
export const DEFAULT_SPIN_MICROS = 0;
export const MAX_SPIN_MICROS = 1_000_000;

const ENV = 'RECURRENTGEMMA_SPIN_US';

function parseSpin(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SPIN_MICROS)
    throw new InvalidArgumentError(`${what} must be an integer number of microseconds in [0, ${MAX_SPIN_MICROS}], got ${JSON.stringify(value)}`, 'ERR_RG_OUT_OF_RANGE');
  return n;
}

/** The option, else the environment, else the default. */
export function resolveSpinMicros(option: unknown, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) return parseSpin(option, 'spinMicros');
  const v = env[ENV];
  return v !== undefined && v !== '' ? parseSpin(v, ENV) : DEFAULT_SPIN_MICROS;
}
