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

/** Runs `npm run build` when dist/ is missing or older than a file in lib/. */
export function ensureDistBuilt(): void {
  const stamp = path.join(repoRoot, 'dist', 'index.mjs');
  const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
  const built = [stamp, main].every((f) => fs.existsSync(f)) ? Math.min(fs.statSync(stamp).mtimeMs, fs.statSync(main).mtimeMs) : 0;
  if (built < newestSource(path.join(repoRoot, 'lib'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
}
