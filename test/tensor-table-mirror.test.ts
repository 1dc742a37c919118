/**
 * The tensor table is defined once per language: lib/checkpoint/tensors.ts (TypeScript
 * validation of a checkpoint) and native/model/tensor_table.h (what rg::Weights loads, and the
 * fuzz harness's inputs). This holds the two against each other on random configs; the golden
 * tests check the names against the official checkpoints independently.
 */
import { expectedTensors } from '../lib/checkpoint/tensors';
import { addon } from '../lib/native';
import { nativeConfig, randomConfigs } from './helpers/random-config';

describe('tensor table: native and TypeScript agree', () => {
  test.each(randomConfigs(20, 0x7ab1e).map((c, i) => [i, c] as const))('random config %i', (_i, c) => {
    const native = addon.expectedTensors(nativeConfig(c));
    expect(native).toEqual([...expectedTensors(c)].map(([name, shape]) => ({ name, shape })));
  });
});
