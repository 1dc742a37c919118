/**
 * Incremental detokenization. Byte-fallback tokens can split one UTF-8 character over several
 * tokens, and decoding such a prefix alone yields U+FFFD. Following the offset scheme of Hugging
 * Face's text-generation-inference, we decode a short window of recent tokens and only release
 * text once it no longer ends in an incomplete character; the window's already released prefix
 * is decoded again as context so decoders that depend on neighbours stay correct.
 */

/** Decodes token ids to text (skipping special tokens). */
export type DecodeFn = (ids: number[]) => string;

const REPLACEMENT = '\uFFFD';

export class TextStreamDecoder {
  private readonly decode: DecodeFn;
  /** Tokens from `prefixOffset` on (older ones are dropped). */
  private ids: number[] = [];
  /** ids[0, read) are released; ids[0, read) is decoded again as context for the next piece. */
  private read = 0;

  constructor(decode: DecodeFn) {
    this.decode = decode;
  }

  /** Adds one token; returns the text it completes (often '' while a character is incomplete). */
  push(token: number): string {
    this.ids.push(token);
    const prefix = this.decode(this.ids.slice(0, this.read));
    const full = this.decode(this.ids);
    if (full.length <= prefix.length || full.endsWith(REPLACEMENT)) return '';
    this.ids = this.ids.slice(this.read);
    this.read = this.ids.length;
    return full.slice(prefix.length);
  }

  /** Text still held at the end (an incomplete character decodes to U+FFFD here, as in a full decode). */
  flush(): string {
    const prefix = this.decode(this.ids.slice(0, this.read));
    const full = this.decode(this.ids);
    this.ids = [];
    this.read = 0;
    return full.slice(prefix.length);
  }
}
