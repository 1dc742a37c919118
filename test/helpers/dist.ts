/** Tests that run the package as users do (the CLI, the docs' code blocks) need a current dist/. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const repoRoot = path.join(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : entry.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }
  return newest;
}

function distIsCurrent(): boolean {
  const outputs = [path.join(repoRoot, 'dist', 'index.mjs'), path.join(repoRoot, 'dist', 'cli', 'main.js')];
  if (!outputs.every((f) => fs.existsSync(f))) return false;
  return Math.min(...outputs.map((f) => fs.statSync(f).mtimeMs)) >= newestSource(path.join(repoRoot, 'lib'));
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `npm run build` when dist/ is missing or older than a file in lib/. Jest runs test files in
 * parallel workers: a lock folder lets one of them build while the others wait (bounded) for it.
 */
export function ensureDistBuilt(): void {
  const lock = path.join(repoRoot, '.dist-build-lock');
  for (const deadline = Date.now() + 300_000; !distIsCurrent(); ) {
    try {
      fs.mkdirSync(lock);
    } catch {
      // Another worker builds; a lock left by a killed run is stale after 10 minutes.
      const held = fs.statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 600_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`dist/ is still being built after 5 minutes (lock ${lock})`);
      sleep(500);
      continue;
    }
    try {
      if (!distIsCurrent()) execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
}
