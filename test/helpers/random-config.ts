/**
 * Random but valid Hugging Face configs (parsed by lib/checkpoint's own parser) and their native
 * form, for the tests that hold a native table against its TypeScript twin.
 */
import { configIdentity } from '../../lib/checkpoint/fingerprint';
import { parseConfig, type ModelConfig } from '../../lib/checkpoint/config';
import type { NativeConfig } from '../../lib/native';
import { rng } from '../../lib/synth';

/** The config object the native addon takes, built the way RecurrentGemma.load builds it. */
export function nativeConfig(c: ModelConfig): NativeConfig {
  return { ...configIdentity(c), blockTypes: c.blockTypes.map((b) => (b === 'attention' ? 1 : 0)) };
}

/** `count` configs drawn from `seed`: every size field, conv width, window and block pattern varies. */
export function randomConfigs(count: number, seed: number): ModelConfig[] {
  const rand = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  return Array.from({ length: count }, () => {
    const numHeads = int(1, 6);
    const headDim = 2 * int(1, 40);
    const pattern = Array.from({ length: int(1, 4) }, () => (rand() < 0.5 ? 'recurrent' : 'attention'));
    return parseConfig({
      model_type: 'recurrent_gemma',
      vocab_size: int(1, 70000),
      hidden_size: numHeads * headDim,
      intermediate_size: 2 * int(1, 3000),
      lru_width: numHeads * int(1, 200),
      num_attention_heads: numHeads,
      num_key_value_heads: 1,
      num_hidden_layers: int(1, 40),
      attention_window_size: int(1, 5000),
      conv1d_width: int(1, 8),
      partial_rotary_factor: rand() < 0.5 ? 0.5 : 1,
      block_types: pattern,
    });
  });
}
