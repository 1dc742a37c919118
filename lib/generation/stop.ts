/**
 * Stop strings over streamed text. Text that could still become the start of a stop string is
 * held back until it either completes one (generation stops, the stop string is never emitted) or
 * can no longer match (it is released). This makes stop strings split across tokens, and stop
 * strings made of several tokens, behave exactly like a search over the whole text.
 */

/** What one push() releases. */
export interface StopMatch {
  /** Text that is now safe to emit. */
  text: string;
  /** The stop string that completed, when one did (nothing after it is ever emitted). */
  stop?: string;
}

export class StopStringMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private stopped = false;

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Feeds the next piece of text. */
  push(text: string): StopMatch {
    if (this.stopped) return { text: '' };
    const buffer = this.held + text;
    let first = -1;
    let which: string | undefined;
    for (const s of this.stops) {
      const i = buffer.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) {
        first = i;
        which = s;
      }
    }
    if (which !== undefined) {
      this.stopped = true;
      this.held = '';
      return { text: buffer.slice(0, first), stop: which };
    }
    const hold = this.partialLength(buffer);
    this.held = buffer.slice(buffer.length - hold);
    return { text: buffer.slice(0, buffer.length - hold) };
  }

  /** Releases the held text at the end of generation (no stop string completed). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialLength(buffer: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buffer.length); k > best; k--) {
        if (buffer.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
