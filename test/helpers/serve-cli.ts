/** `recurrentgemma serve` as a child process (dist/cli/main.js, rebuilt when lib/ is newer). */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';

import { ensureDistBuilt } from './dist';

export const root = path.join(__dirname, '..', '..');
export const cliMain = path.join(root, 'dist', 'cli', 'main.js');

/** Rebuilds dist/ when lib/ changed since the last build (one jest worker builds, the others wait). */
export const ensureBuilt = ensureDistBuilt;

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves to the exit code once the process ended. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `recurrentgemma serve --port 0 ...args` (with `env` added to the environment) and waits (at most 60 s) for its ready line. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cliMain, 'serve', '--port', '0', '--threads', '1', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = () => {
      const m = /serving \S+ at (http:\/\/\S+)\/v1/.exec(out);
      if (m) return resolve(m[1]!);
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        return reject(new Error(`serve did not start: ${err}`));
      }
      setTimeout(poll, 20);
    };
    poll();
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 20_000)))]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    return code;
  };
  return { url, child, stdout: () => out, stderr: () => err, exited, stop };
}
