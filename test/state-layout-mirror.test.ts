/**
 * The state layout is defined once per language: lib/state/layout.ts (TypeScript: config check,
 * saved-state format, size report) and native/model/state_layout.h (State allocation and
 * check_config). This holds the two against each other on random configs, and the shared
 * MAX_STATE_BYTES limit at its edge.
 */
import { MAX_STATE_BYTES, parseConfig } from '../lib/checkpoint/config';
import { CheckpointError } from '../lib/errors';
import { addon } from '../lib/native';
import { stateBytes, stateLayout } from '../lib/state/layout';
import { nativeConfig, randomConfigs } from './helpers/random-config';

describe('state layout: native and TypeScript agree', () => {
  test.each(randomConfigs(40, 0x5eed).map((c, i) => [i, c] as const))('random config %i', (_i, c) => {
    const native = addon.stateLayout(nativeConfig(c));
    expect(native.map(({ kind, floats }) => ({ kind, floats }))).toEqual(stateLayout(c));
    // Packed in model order, and the TypeScript byte count is their sum.
    let offset = 0;
    for (const l of native) {
      expect(l.offset).toBe(offset);
      offset += l.floats;
    }
    expect(4 * offset).toBe(stateBytes(c));
  });

  // hidden_size 1024 with one head: each attention layer keeps 2 * window * 1024 floats, so a
  // window of 2^19 is exactly MAX_STATE_BYTES and one more is over.
  const edge = (window: number): Record<string, unknown> => ({
    model_type: 'recurrent_gemma', vocab_size: 8, hidden_size: 1024, intermediate_size: 2, lru_width: 1024,
    num_attention_heads: 1, num_hidden_layers: 1, attention_window_size: window, block_types: ['attention'],
  });

  test('a state of exactly MAX_STATE_BYTES is accepted by both', () => {
    const c = parseConfig(edge(2 ** 19));
    expect(stateBytes(c)).toBe(MAX_STATE_BYTES);
    expect(addon.stateLayout(nativeConfig(c))).toEqual([{ kind: 'attention', offset: 0, floats: MAX_STATE_BYTES / 4 }]);
  });

  test('one window slot more is rejected by both', () => {
    expect(() => parseConfig(edge(2 ** 19 + 1))).toThrow(CheckpointError);
    const c = { ...nativeConfig(parseConfig(edge(2 ** 19))), window: 2 ** 19 + 1 };
    expect(() => addon.stateLayout(c)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_CONFIG', message: expect.stringMatching(/state of one sequence/) }));
  });
});
