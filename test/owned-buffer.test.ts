/**
 * Regression: 2 MiB-aligned weight buffers (quantized weights, hugePages: true) must stay inside
 * their own mapping. Before the fix, releasing a buffer whose size was not a multiple of 2 MiB
 * could unmap the neighbouring mapping — the addon's code or another buffer — and crash.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

test('creating and releasing odd-sized huge-page buffers never touches neighbouring mappings', () => {
  // A plain node child (a crash must not take jest down), loading the addon through dist/ (built by npm install).
  const child = path.join(__dirname, 'helpers', 'owned-buffer-child.js');
  const r = spawnSync(process.execPath, [child, path.join(__dirname, '..', 'dist', 'native.js')], { encoding: 'utf8', timeout: 120_000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('ok\n');
});
