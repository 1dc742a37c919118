/**
 * The engine against an independent float64 reference (test/reference/griffin.ts) on random
 * checkpoints whose shapes the golden fixture does not cover: other widths and head counts,
 * lru_width != width, block patterns that do not end on a full (R, R, A) group, small windows
 * crossed many times, F32 / BF16 / F16 storage.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { RecurrentGemma, kernels } from '../lib';
import { rng, writeRandomCheckpoint, type StorageDType, type TinyConfig } from './helpers/checkpoint-writer';
import { ReferenceGriffin } from './reference/griffin';
import { maxAbsDiff } from './helpers/safetensors';

interface Case {
  name: string;
  config: TinyConfig;
  dtype: StorageDType;
  tokens: number;
}

const cases: Case[] = [
  { name: 'lru != width, window 5, pattern R R A, 4 layers (ends mid-group)', dtype: 'F32', tokens: 23,
    config: { vocabSize: 97, width: 48, mlpWidth: 72, lruWidth: 72, numHeads: 3, numLayers: 4, window: 5, blockPattern: ['recurrent', 'recurrent', 'attention'] } },
  { name: 'BF16 weights, 6 heads of 8, pattern A R, 5 layers', dtype: 'BF16', tokens: 19,
    config: { vocabSize: 130, width: 48, mlpWidth: 40, lruWidth: 36, numHeads: 6, numLayers: 5, window: 7, blockPattern: ['attention', 'recurrent'] } },
  { name: 'F16 weights, one head of 24, recurrent only, soft cap 0', dtype: 'F16', tokens: 14,
    config: { vocabSize: 61, width: 24, mlpWidth: 33, lruWidth: 40, numHeads: 1, numLayers: 3, window: 3, blockPattern: ['recurrent'], logitsSoftCap: 0 } },
  { name: 'attention only, window 1, odd sizes, full rotary', dtype: 'F32', tokens: 11,
    config: { vocabSize: 33, width: 20, mlpWidth: 17, lruWidth: 20, numHeads: 5, numLayers: 2, window: 1, blockPattern: ['attention'], partialRotaryFactor: 1 } },
];

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-configs-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe.each(cases)('$name', ({ name, config, dtype, tokens }) => {
  const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '_'));
  const weights = writeRandomCheckpoint(dir, config, dtype, 1234 + tokens);
  const rand = rng(tokens);
  const ids = Array.from({ length: tokens }, (_, i) => (i === 0 ? 2 : Math.floor(rand() * config.vocabSize)));

  let expected: Float64Array[];
  beforeAll(async () => {
    const m = await RecurrentGemma.load(dir);
    const c = m.config;
    m.dispose();
    const ref = new ReferenceGriffin(
      { vocabSize: c.vocabSize, width: c.width, mlpWidth: c.mlpWidth, lruWidth: c.lruWidth, numHeads: c.numHeads, window: c.window, blockTypes: c.blockTypes, logitsSoftCap: c.logitsSoftCap, embedScale: c.embedScale, ropeDims: c.ropeDims },
      weights,
    );
    expected = ids.map((id) => ref.step(id));
  });

  test.each(kernels.availableSimdLevels())('prefill, chunked prefill and decode match the reference (simd %s)', async (simd) => {
    const model = await RecurrentGemma.load(dir, { simd });
    const V = model.config.vocabSize;
    const want = new Float64Array(tokens * V);
    expected.forEach((row, t) => want.set(row, t * V));

    const full = await model.forward(model.createState(), ids, { allLogits: true });
    expect(maxAbsDiff(full, want)).toBeLessThan(2e-3);

    // Uneven chunks, then single tokens: the carried state must make them all agree.
    const state = model.createState();
    const pieces: Float32Array[] = [];
    let t = 0;
    for (const n of [3, 1, 5, 2]) {
      pieces.push(await model.forward(state, ids.slice(t, t + n), { allLogits: true }));
      t += n;
    }
    while (t < tokens) pieces.push(await model.forward(state, [ids[t++]!]));
    const chunked = new Float32Array(tokens * V);
    let off = 0;
    for (const p of pieces) {
      chunked.set(p, off);
      off += p.length;
    }
    expect(state.position).toBe(tokens);
    expect(maxAbsDiff(chunked, want)).toBeLessThan(2e-3);
    model.dispose();
  });
});
