/** Which files of a model repository a RecurrentGemma checkpoint needs (the rest is skipped). */

/** Files read by config, weights, tokenizer and chat template loading. */
const MODEL_FILES = new Set([
  'config.json',
  'generation_config.json',
  'model.safetensors.index.json',
  'tokenizer.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
]);

/**
 * True for a file `pull` downloads: the files above and safetensors weights at the top level.
 * Other formats of the same weights (PyTorch .bin, GGUF, Flax) and docs are skipped.
 */
export function isModelFile(path: string): boolean {
  return !path.includes('/') && (MODEL_FILES.has(path) || path.endsWith('.safetensors'));
}
