/**
 * What the masking engine needs to know about a vocabulary: each token's SentencePiece piece
 * (`▁` for a space, `<0xNN>` for a byte-fallback token) and which ids are special (control
 * tokens that decode to no text and so can never be part of constrained output).
 */

/** A tokenizer's vocabulary as the grammar engine sees it. */
export interface TokenVocabulary {
  /** pieces[id]: the token's piece as tokenizer.json spells it (undefined for unused ids). */
  readonly pieces: readonly (string | undefined)[];
  /** Ids of special tokens (`<bos>`, `<eos>`, `<start_of_turn>`, ...). */
  readonly specialIds: ReadonlySet<number>;
}

/** A byte-fallback token such as `<0x0A>`. */
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * The bytes a token adds to the text, as a byte-fallback SentencePiece decoder (Gemma's:
 * Replace ▁ with space, ByteFallback, Fuse) produces them; empty for special and unused ids.
 */
export function tokenBytes(vocab: TokenVocabulary, id: number): Uint8Array {
  const piece = vocab.pieces[id];
  if (piece === undefined || vocab.specialIds.has(id)) return new Uint8Array(0);
  const m = BYTE_TOKEN.exec(piece);
  if (m) return Uint8Array.of(parseInt(m[1]!, 16));
  return new TextEncoder().encode(piece.replace(/\u2581/g, ' '));
}

/**
 * The vocabulary of a tokenizer.json object (model.vocab as a map or a list of [piece, score],
 * plus added_tokens with their `special` flag).
 */
export function vocabularyFromTokenizerJson(json: unknown): TokenVocabulary {
  const model = (json as { model?: { vocab?: unknown } }).model;
  const pieces: (string | undefined)[] = [];
  const vocab = model?.vocab;
  if (Array.isArray(vocab)) vocab.forEach((entry, id) => (pieces[id] = Array.isArray(entry) ? String(entry[0]) : String(entry)));
  else if (typeof vocab === 'object' && vocab !== null) for (const [piece, id] of Object.entries(vocab as Record<string, number>)) pieces[id] = piece;
  else throw new TypeError('tokenizer.json has no model.vocab');
  const specialIds = new Set<number>();
  const added = (json as { added_tokens?: Array<{ id: number; content: string; special?: boolean }> }).added_tokens ?? [];
  for (const t of added) {
    pieces[t.id] = t.content;
    if (t.special) specialIds.add(t.id);
  }
  return { pieces, specialIds };
}
