/**
 * The checkpoint's own tokenizer (tokenizer.json, Gemma's SentencePiece BPE with byte fallback),
 * run by Hugging Face's @huggingface/tokenizers rather than a hand-written copy, so ids match
 * transformers exactly.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

import { TokenizerError } from './errors';

/** The files a tokenizer is read from, relative to the checkpoint folder. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Options of Tokenizer.encode(). */
export interface EncodeOptions {
  /** Put `<bos>` first (default true: Gemma expects every sequence to start with it). */
  addBos?: boolean;
}

/** Options of Tokenizer.decode(). */
export interface DecodeOptions {
  /** Leave out special tokens such as `<bos>`, `<eos>` and `<end_of_turn>` (default false). */
  skipSpecialTokens?: boolean;
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TokenizerError(`${file}: cannot read ${what} (${(e as Error).message})`, 'ERR_RG_TOKENIZER_FILE');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${file}: ${what} is not valid JSON (${(e as Error).message})`, 'ERR_RG_TOKENIZER_FILE');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TokenizerError(`${file}: ${what} must be a JSON object`, 'ERR_RG_TOKENIZER_FILE');
  return value as Record<string, unknown>;
}

/** Text <-> token ids for one checkpoint. */
export class Tokenizer {
  /** Folder the tokenizer was loaded from. */
  readonly dir: string;
  /** `<bos>` id (2 for Gemma). */
  readonly bosId: number;
  /** `<eos>` id (1 for Gemma). */
  readonly eosId: number;
  /** `<start_of_turn>` id, when the vocabulary has it. */
  readonly startOfTurnId: number | undefined;
  /** `<end_of_turn>` id, when the vocabulary has it. */
  readonly endOfTurnId: number | undefined;
  /** Number of ids the tokenizer can produce (largest id + 1). */
  readonly vocabSize: number;
  /** tokenizer_config.json's Jinja `chat_template`, when present. */
  readonly chatTemplate: string | undefined;
  /** tokenizer_config.json's `bos_token` text (what the chat template calls bos_token). */
  readonly bosToken: string;
  /** Ids of tokenizer.json's added tokens marked special (control tokens that decode to no text). */
  readonly specialIds: ReadonlySet<number>;
  private readonly hf: HfTokenizer;

  private constructor(dir: string, json: Record<string, unknown>, config: Record<string, unknown>) {
    this.dir = dir;
    try {
      this.hf = new HfTokenizer(json, config);
    } catch (e) {
      throw new TokenizerError(`${path.join(dir, 'tokenizer.json')}: not a usable tokenizer (${(e as Error).message})`, 'ERR_RG_TOKENIZER_FILE');
    }
    const id = (token: string) => this.hf.token_to_id(token);
    const tokenText = (v: unknown, fallback: string) =>
      typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : fallback;
    this.bosToken = tokenText(config.bos_token, '<bos>');
    const bos = id(this.bosToken);
    const eos = id(tokenText(config.eos_token, '<eos>'));
    if (bos === undefined || eos === undefined)
      throw new TokenizerError(`${path.join(dir, 'tokenizer.json')}: the vocabulary has no bos/eos token (${this.bosToken})`, 'ERR_RG_TOKENIZER_FILE');
    this.bosId = bos;
    this.eosId = eos;
    this.startOfTurnId = id('<start_of_turn>');
    this.endOfTurnId = id('<end_of_turn>');
    let maxId = -1;
    for (const v of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, v);
    this.vocabSize = maxId + 1;
    this.chatTemplate = typeof config.chat_template === 'string' ? config.chat_template : undefined;
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<{ id?: unknown; special?: unknown }>) : [];
    this.specialIds = new Set(added.filter((t) => t.special === true && Number.isInteger(t.id)).map((t) => t.id as number));
  }

  /**
   * Loads `dir`/tokenizer.json (required) and `dir`/tokenizer_config.json (optional: bos/eos
   * names and the chat template). Throws TokenizerError when tokenizer.json is missing or bad.
   */
  static load(dir: string): Tokenizer {
    const jsonFile = path.join(dir, TOKENIZER_FILES[0]);
    const configFile = path.join(dir, TOKENIZER_FILES[1]);
    if (!fs.existsSync(jsonFile))
      throw new TokenizerError(`${dir}: no tokenizer (looked for ${TOKENIZER_FILES.join(' and ')})`, 'ERR_RG_NO_TOKENIZER');
    const json = readJson(jsonFile, 'tokenizer.json');
    const config = fs.existsSync(configFile) ? readJson(configFile, 'tokenizer_config.json') : {};
    return new Tokenizer(dir, json, config);
  }

  /** True when `dir` has the tokenizer.json a Tokenizer needs. */
  static existsIn(dir: string): boolean {
    return fs.existsSync(path.join(dir, TOKENIZER_FILES[0]));
  }

  /**
   * Text to token ids. Special tokens written in the text (`<start_of_turn>`, ...) become their
   * ids, as in transformers; `<bos>` is put first unless `addBos` is false.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError('encode() needs a string', 'ERR_RG_INVALID_ARGUMENT');
    const addBos = options.addBos ?? true;
    const ids = text.length === 0 ? [] : this.hf.encode(text, { add_special_tokens: false }).ids;
    return addBos ? [this.bosId, ...ids] : ids;
  }

  /** Token ids to text. */
  decode(ids: readonly number[] | Int32Array, options: DecodeOptions = {}): string {
    const list = Array.from(ids);
    for (const t of list) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize)
        throw new TokenizerError(`decode(): token id ${String(t)} is outside the tokenizer's vocabulary [0, ${this.vocabSize})`, 'ERR_RG_INVALID_ARGUMENT');
    }
    if (list.length === 0) return '';
    return this.hf.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of a token string (e.g. '<end_of_turn>'), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** The token string of an id (e.g. '▁def' or '<0xE2>'), or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}
