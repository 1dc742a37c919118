/** One-line server diagnostics, with repeats of the same line suppressed for a while. */

/** Where the server writes its diagnostics (default: stderr). */
export type LogFn = (line: string) => void;

/** Wraps `log` so an identical line is written at most once per `quietMs` (a Redis outage logs once, not per request). */
export function dedupedLog(log: LogFn, quietMs = 10_000): LogFn {
  const last = new Map<string, number>();
  return (line: string) => {
    const now = Date.now();
    const seen = last.get(line);
    if (seen !== undefined && now - seen < quietMs) return;
    last.set(line, now);
    if (last.size > 256) last.clear();
    log(line);
  };
}

export const stderrLog: LogFn = (line) => process.stderr.write(`${line}\n`);
