/** Small stdin/stdout helpers shared by the commands. */

/** Reads all of stdin as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes to stdout, resolving once the data is handed off (so a slow pipe applies backpressure
 * to generation instead of buffering everything in memory).
 */
export function writeOut(text: string): Promise<void> {
  if (text.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Runs `body` with an AbortSignal that the first Ctrl-C (SIGINT) aborts; a second Ctrl-C exits
 * at once. Returns whether the signal was aborted.
 */
export async function withInterrupt<T>(body: (signal: AbortSignal) => Promise<T>): Promise<{ result: T; interrupted: boolean }> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await body(controller.signal);
    return { result, interrupted: controller.signal.aborted };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
