/**
 * Cache keys for conversation states: a digest of the model's fingerprint and the exact token ids
 * a state has consumed. Two requests share a state only when their token prefixes are identical
 * and the model is the same (architecture and weights), so a cached state can never change an
 * answer.
 */
import { createHash, type Hash } from 'crypto';

import type { ModelFingerprint } from '../checkpoint/fingerprint';

/** Digests of every requested prefix length of one token sequence. */
export class PrefixKeys {
  private readonly base: Hash;

  constructor(fingerprint: ModelFingerprint) {
    this.base = createHash('sha256').update(`recurrentgemma-prefix\0${fingerprint.config}\0${fingerprint.weights}\0`);
  }

  /** The key of exactly `tokens`. */
  key(tokens: ArrayLike<number>): string {
    return this.keysAt(tokens, [tokens.length]).get(tokens.length)!;
  }

  /**
   * Keys of tokens[0, n) for each n in `lengths` (lengths beyond the sequence are skipped). One pass
   * over the tokens: the hash is extended in order and copied at each requested length.
   */
  keysAt(tokens: ArrayLike<number>, lengths: Iterable<number>): Map<number, string> {
    const wanted = [...new Set(lengths)].filter((n) => Number.isInteger(n) && n >= 0 && n <= tokens.length).sort((a, b) => a - b);
    const out = new Map<number, string>();
    const h = this.base.copy();
    const word = Buffer.alloc(4);
    let done = 0;
    for (const n of wanted) {
      for (; done < n; done++) {
        word.writeInt32LE(tokens[done]!, 0);
        h.update(word);
      }
      out.set(n, h.copy().digest('hex'));
    }
    return out;
  }
}
