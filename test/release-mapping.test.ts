/**
 * Quantizing at load (weights 'int8' / 'q4') reads the BF16 file mapping once; afterwards its pages
 * must not stay resident (with a 2B model that was 8.6 / 7.3 GiB of RSS for a 3 / 1.7 GiB model).
 * Measured in a child process on a synthetic checkpoint of ~70 MB (Linux: /proc/self/status).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { synthesizeCheckpoint } from '../lib/synth';

const HELPERS = path.join(__dirname, 'helpers');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-release-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Resident {
  rssGrowth: number;
  rssFileGrowth: number;
  mappedBytes: number;
  ownedBytes: number;
  releasedBytes: number;
}

function loadInChild(dir: string, format: string): Resident {
  const out = execFileSync(process.execPath, ['-r', path.join(HELPERS, 'run-ts.js'), path.join(HELPERS, 'resident-child.ts'), dir, format], {
    encoding: 'utf8',
    env: process.env,
    timeout: 120_000,
  });
  return JSON.parse(out) as Resident;
}

(process.platform === 'linux' ? describe : describe.skip)('the source mapping after quantizing at load', () => {
  const dir = path.join(tmp, 'model');
  beforeAll(() => {
    // Embedding 48000 x 512 (49 MB BF16) plus three layers: large enough that a resident copy of
    // the file would dwarf the process's own memory, small enough to write in a few seconds.
    synthesizeCheckpoint(dir, { preset: 'tiny', overrides: { vocab_size: 48000, hidden_size: 512, intermediate_size: 3072, lru_width: 512, num_attention_heads: 4 }, seed: 5 });
  });

  test.each(['int8', 'q4'])('%s: the BF16 pages are given back, only the quantized copy stays', (format) => {
    const r = loadInChild(dir, format);
    expect(r.mappedBytes).toBeGreaterThan(60e6);
    // Nearly every byte of the file was a quantized matrix (norms, biases and conv taps are read
    // into float32 vectors and may keep their few pages).
    expect(r.releasedBytes).toBeGreaterThan(0.95 * r.mappedBytes);
    expect(r.rssFileGrowth).toBeLessThan(0.1 * r.mappedBytes);
    // The growth is the quantized weights (int8: ~0.56, q4: ~0.31 of the BF16 bytes), not the file.
    expect(r.rssGrowth).toBeLessThan(r.mappedBytes);
    expect(r.rssGrowth).toBeLessThan(r.ownedBytes + 0.25 * r.mappedBytes);
  });

  test('stored weights stay mapped and resident (nothing to give back)', () => {
    const r = loadInChild(dir, 'stored');
    expect(r.releasedBytes).toBe(0);
  });
});
