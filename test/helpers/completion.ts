/** Completions compared for content: timings differ from run to run, so they are checked for shape and dropped. */
import type { Completion } from '../../lib';

export function withoutTimings(c: Completion): Omit<Completion, 'timings'> {
  const { timings, ...rest } = c;
  expect(timings.prefillTokens).toBeGreaterThanOrEqual(0);
  expect(timings.decodeTokens).toBe(Math.max(0, c.generatedTokens - 1));
  return rest;
}
