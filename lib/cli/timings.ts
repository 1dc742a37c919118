/** One line of speed figures for `generate --stats` and `chat` /stats (stderr). */
import type { GenerationTimings } from '../generation/options';

const ms = (v: number): string => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
const rate = (v: number): string => `${v.toFixed(1)} tokens/s`;

export function formatTimings(t: GenerationTimings): string {
  return [
    ...(t.loadMs !== undefined ? [`load ${ms(t.loadMs)}`] : []),
    ...(t.timeToFirstTokenMs !== undefined ? [`first token ${ms(t.timeToFirstTokenMs)}`] : []),
    `prefill ${t.prefillTokens} tokens in ${ms(t.prefillMs)} (${rate(t.prefillTokensPerSecond)})`,
    `decode ${t.decodeTokens} tokens in ${ms(t.decodeMs)} (${rate(t.decodeTokensPerSecond)})`,
  ].join(', ');
}

/** The stderr note for a reply cut by --max-tokens. */
export const LENGTH_MARKER = '[length]';
