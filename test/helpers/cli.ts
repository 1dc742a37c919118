/**
 * Running the CLI as a user does: `node dist/cli/main.js …` in a child process (call
 * ensureDistBuilt from ./dist in beforeAll first).
 */
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';

import { repoRoot } from './dist';

export const root = repoRoot;
export const cliMain = path.join(root, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** The script to run instead of dist/cli/main.js (e.g. a copy of the package). */
  main?: string;
  timeoutMs?: number;
}

/** Runs the CLI to completion, blocking (for commands that need nothing from this process). */
export function cli(args: string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [options.main ?? cliMain, ...args], {
    cwd: root,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: options.env ?? process.env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI without blocking this process's event loop (needed when it talks to a server here). */
export function cliAsync(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.main ?? cliMain, ...args], { cwd: root, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
