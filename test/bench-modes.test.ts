/**
 * The benchmark modes of lib/bench (bench precision, bench batch-scaling) compute what they print
 * from real runs; and without tinybench installed the microbenchmarks fail with a message saying
 * what to install. No timings are asserted.
 */
import * as path from 'path';

import { runBatchScaling } from '../lib/bench/batch-scaling';
import { precisionAccuracy } from '../lib/bench/precision';
import { readConfig } from '../lib/checkpoint';
import { stateBytes } from '../lib/state';
import { formatBytes } from '../lib/state/size';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-f32');

describe('bench batch-scaling', () => {
  test('one row per batch size and the state-size table of the model', async () => {
    const printed: string[] = [];
    const rows = await runBatchScaling(FIXTURE, { batches: [1, 3], steps: 2, repeat: 1, prompt: 4, threads: 1, contexts: [64, 128] }, (s) => printed.push(s));
    expect(rows.map((r) => r.batch)).toEqual([1, 3]);
    for (const r of rows) {
      expect(r.tokensPerSecond).toBeCloseTo((r.batch * 2) / r.seconds, 6);
      expect(r.msPerStep).toBeCloseTo((1000 * r.seconds) / 2, 6);
    }
    const text = printed.join('\n');
    expect(text).toContain(formatBytes(stateBytes(readConfig(FIXTURE))));
    expect(text).toMatch(/^\s+128\s/m);
  });
});

describe('bench precision', () => {
  test('exact reproduces every golden greedy token of the demo model; positions are the continuations', async () => {
    const a = await precisionAccuracy('stored', 1);
    expect(a.greedyTotal).toBeGreaterThan(0);
    expect(a.greedyExact).toBe(a.greedyTotal);
    expect(a.tokens).toBe(a.greedyTotal);
    expect(a.top1Agreement).toBeGreaterThan(0.9);
    expect(a.klMean).toBeGreaterThanOrEqual(0);
  });
});

describe('microbenchmarks without tinybench', () => {
  test('fail with the package to install', async () => {
    jest.resetModules();
    jest.doMock('tinybench', () => {
      throw new Error("Cannot find module 'tinybench'");
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runMicro } = require('../lib/bench/micro') as typeof import('../lib/bench/micro');
    const limits = { readGBs: 1, readGBs1: 1, readGBs4k: 1, fmaGflops: 1, fmaGflops1: 1, bf16Gflops: 0, int8Gops: 0 };
    await expect(runMicro(limits as never, { threads: 1, quick: true })).rejects.toThrow(/npm install --no-save tinybench.*--no-micro/);
    jest.dontMock('tinybench');
  });
});
