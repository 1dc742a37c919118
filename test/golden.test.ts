/**
 * The acceptance test of the engine: the official implementation's outputs on the tiny-f32
 * fixture (random weights, D=128, L=192, window 16) reproduced by full prefill, by prefill +
 * decode, by greedy decoding, and in the cache tensors.
 */
import * as path from 'path';

import { RecurrentGemma, kernels } from '../lib';
import { argmax, maxAbsDiff, readGolden } from './helpers/safetensors';

const dir = path.join(__dirname, 'fixtures', 'tiny-f32');
const golden = readGolden(path.join(dir, 'golden.safetensors'));
const tensor = (name: string) => golden.get(name)!.data;
const ids = Array.from(tensor('input_ids'));
const T = ids.length;
const P = 20;
const TOL = 2e-3;

describe.each(kernels.availableSimdLevels())('golden tiny-f32 (simd %s)', (simd) => {
  let model: RecurrentGemma;
  beforeAll(async () => {
    model = await RecurrentGemma.load(dir, { simd });
  });
  afterAll(() => model.dispose());

  test('one forward over all tokens matches logits_full', async () => {
    const state = model.createState();
    const logits = await model.forward(state, ids, { allLogits: true });
    expect(logits.length).toBe(T * model.config.vocabSize);
    expect(maxAbsDiff(logits, tensor('logits_full'))).toBeLessThan(TOL);
    expect(state.position).toBe(T);
  });

  test('prefill P tokens then one-token decode steps match logits_decode', async () => {
    const V = model.config.vocabSize;
    const state = model.createState();
    const got = new Float32Array(T * V);
    got.set(await model.forward(state, ids.slice(0, P), { allLogits: true }), 0);
    for (let t = P; t < T; t++) got.set(await model.forward(state, [ids[t]!]), t * V);
    expect(maxAbsDiff(got, tensor('logits_decode'))).toBeLessThan(TOL);
  });

  test('greedy continuation reproduces greedy_ids and greedy_logits', async () => {
    const V = model.config.vocabSize;
    const state = model.createState();
    let logits = await model.forward(state, ids);
    const want = Array.from(tensor('greedy_ids'));
    const wantLogits = tensor('greedy_logits');
    const got: number[] = [];
    for (let k = 0; k < want.length; k++) {
      expect(maxAbsDiff(logits, wantLogits.subarray(k * V, (k + 1) * V))).toBeLessThan(TOL);
      got.push(argmax(logits));
      logits = await model.forward(state, [got[k]!]);
    }
    expect(got).toEqual(want);
  });

  test('short prompt greedy continuation reproduces short_greedy_ids', async () => {
    const state = model.createState();
    const want = Array.from(tensor('short_greedy_ids'));
    let logits = await model.forward(state, ids.slice(0, 8));
    const got: number[] = [];
    for (let k = 0; k < want.length; k++) {
      got.push(argmax(logits));
      logits = await model.forward(state, [got[k]!]);
    }
    expect(got).toEqual(want);
  });

  test('cache tensors after the sequence match the golden state', async () => {
    const state = model.createState();
    await model.forward(state, ids.slice(0, 13));
    await model.forward(state, ids.slice(13));
    const layers = state.layers;
    const W = model.config.window;
    const hd = model.config.headDim;
    layers.forEach((layer, i) => {
      if (layer.kind === 'recurrent') {
        expect(maxAbsDiff(layer.rgLruState, tensor(`cache.blocks.${i}.rg_lru_state`))).toBeLessThan(TOL);
        expect(maxAbsDiff(layer.conv1dState, tensor(`cache.blocks.${i}.conv1d_state`))).toBeLessThan(TOL);
      } else {
        expect(layer.keys.length).toBe(W * hd);
        expect(maxAbsDiff(layer.keys, tensor(`cache.blocks.${i}.keys`))).toBeLessThan(TOL);
        expect(maxAbsDiff(layer.values, tensor(`cache.blocks.${i}.values`))).toBeLessThan(TOL);
        expect(tensor(`cache.blocks.${i}.num_tokens`)[0]).toBe(state.position);
      }
    });
  });
});
