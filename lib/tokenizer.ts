/**
 * The checkpoint's own tokenizer (tokenizer.json, Gemma's SentencePiece BPE with byte fallback),
 * run by Hugging Face's @huggingface/tokenizers rather than a hand-written copy, so ids match
 * transformers exactly.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

import { TokenizerError } from './errors';
import { notRegularFile } from './file-kind';

/**
 * The control tokens of Gemma's chat format, by name: the one list the tokenizer and the chat
 * templates use. A tokenizer.json may list them as added tokens (the demo model's does) or only as
 * plain vocabulary entries (Google's published Gemma file adds only `<pad>`, `<eos>`, `<bos>` and
 * `<unk>`, so `<start_of_turn>` would otherwise be split into text pieces): chat formatting looks
 * each name up in the vocabulary and emits its id. `<bos>` and `<eos>` are the defaults of the
 * names tokenizer_config.json can give (`bos_token`, `eos_token`).
 */
export const CONTROL_TOKENS = { bos: '<bos>', eos: '<eos>', startOfTurn: '<start_of_turn>', endOfTurn: '<end_of_turn>' } as const;

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
  const problem = notRegularFile(file);
  if (problem !== undefined) throw new TokenizerError(`${file}: ${what} ${problem}`, 'ERR_RG_TOKENIZER_FILE');
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
  /**
   * The chat format's control tokens found in the vocabulary, name -> id (CONTROL_TOKENS, with
   * bos/eos under the names tokenizer_config.json gives). encodeControlled() emits these ids.
   */
  readonly controlTokens: ReadonlyMap<string, number>;
  /** Ids of tokenizer.json's added tokens marked special (control tokens that decode to no text). */
  readonly specialIds: ReadonlySet<number>;
  private readonly hf: HfTokenizer;
  /** Contents of the special added tokens, which hf.encode() turns into their ids wherever they occur. */
  private readonly specialTexts: readonly string[];
  private readonly config: Record<string, unknown>;
  /** Built on first need by encodeText(): the tokenizer without its special added tokens. */
  private plainText: HfTokenizer | undefined;

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
    this.bosToken = tokenText(config.bos_token, CONTROL_TOKENS.bos);
    const eosToken = tokenText(config.eos_token, CONTROL_TOKENS.eos);
    const bos = id(this.bosToken);
    const eos = id(eosToken);
    if (bos === undefined || eos === undefined)
      throw new TokenizerError(`${path.join(dir, 'tokenizer.json')}: the vocabulary has no bos/eos token (${this.bosToken})`, 'ERR_RG_TOKENIZER_FILE');
    this.bosId = bos;
    this.eosId = eos;
    this.startOfTurnId = id(CONTROL_TOKENS.startOfTurn);
    this.endOfTurnId = id(CONTROL_TOKENS.endOfTurn);
    const control = new Map<string, number>([[this.bosToken, bos], [eosToken, eos]]);
    for (const name of [CONTROL_TOKENS.startOfTurn, CONTROL_TOKENS.endOfTurn]) {
      const v = id(name);
      if (v !== undefined) control.set(name, v);
    }
    this.controlTokens = control;
    this.specialTexts = [...this.hf.get_added_tokens_decoder().values()].filter((t) => t.special).map((t) => t.content);
    this.config = config;
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

  /**
   * Text to token ids with every character taken as text: special-token strings written in it
   * (`<bos>`, `<start_of_turn>`, ...) are tokenized like any other text instead of becoming
   * control ids (transformers' `split_special_tokens=True`). No `<bos>` is added. This is how chat
   * formatting encodes what users wrote, so their text cannot inject control tokens.
   */
  encodeText(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError('encodeText() needs a string', 'ERR_RG_INVALID_ARGUMENT');
    if (text.length === 0) return [];
    // Without a special token's string in it, the text tokenizes the same either way; the plain
    // tokenizer is only built (a second parse of tokenizer.json) when one occurs.
    if (!this.specialTexts.some((t) => text.includes(t))) return this.hf.encode(text, { add_special_tokens: false }).ids;
    return this.plain().encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Ids of text produced by a chat template: each control-token name in it (controlTokens) becomes
   * its id, looked up in the vocabulary whether or not tokenizer.json lists it as an added token;
   * the text between is encoded with encodeText() after `literal` maps it back (the chat template
   * escapes what users wrote, so that only the template's own markers reach this split).
   */
  encodeControlled(text: string, literal: (segment: string) => string = (segment) => segment): number[] {
    const names = [...this.controlTokens.keys()].sort((a, b) => b.length - a.length);
    const ids: number[] = [];
    let start = 0;
    for (let i = 0; i < text.length; ) {
      const name = names.find((n) => text.startsWith(n, i));
      if (name === undefined) {
        i++;
        continue;
      }
      if (i > start) ids.push(...this.encodeText(literal(text.slice(start, i))));
      ids.push(this.controlTokens.get(name)!);
      i += name.length;
      start = i;
    }
    if (start < text.length) ids.push(...this.encodeText(literal(text.slice(start))));
    return ids;
  }

  private plain(): HfTokenizer {
    if (this.plainText === undefined) {
      const json = readJson(path.join(this.dir, TOKENIZER_FILES[0]), 'tokenizer.json');
      const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { special?: unknown }[]) : [];
      // Non-special added tokens (the demo's '\n', '\n\n') still shape how text splits: keep them.
      this.plainText = new HfTokenizer({ ...json, added_tokens: added.filter((t) => t.special !== true) }, this.config);
    }
    return this.plainText;
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
