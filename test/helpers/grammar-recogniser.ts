/**
 * An independent recogniser for the tests: Brzozowski derivatives over the grammar tree, on code
 * points, with byte-level input (partial UTF-8 sequences are pending until complete). It shares
 * nothing with the matching engine (xgrammar), so comparing the two checks the engine, the
 * vocabulary conversion and the mask application. Only for non-recursive grammars (regular
 * languages): rule references are inlined.
 */
import type { Expr, Grammar } from '../../lib/grammar';

/** Derivative-friendly form: classes are explicit range lists. */
type R =
  | { k: 'none' }
  | { k: 'eps' }
  | { k: 'set'; ranges: Array<[number, number]> }
  | { k: 'seq'; a: R; b: R }
  | { k: 'alt'; opts: R[] }
  | { k: 'rep'; e: R; min: number; max: number };

const NONE: R = { k: 'none' };
const EPS: R = { k: 'eps' };
const MAX = 0x10ffff;

function complement(ranges: Array<[number, number]>): Array<[number, number]> {
  const s = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [a, b] of s) {
    if (a > next) out.push([next, a - 1]);
    next = Math.max(next, b + 1);
  }
  if (next <= MAX) out.push([next, MAX]);
  return out;
}

function mkSeq(a: R, b: R): R {
  if (a.k === 'none' || b.k === 'none') return NONE;
  if (a.k === 'eps') return b;
  if (b.k === 'eps') return a;
  return { k: 'seq', a, b };
}

function mkAlt(opts: R[]): R {
  const flat: R[] = [];
  const seen = new Set<string>();
  for (const o of opts) {
    for (const x of o.k === 'alt' ? o.opts : [o]) {
      if (x.k === 'none') continue;
      const key = JSON.stringify(x);
      if (seen.has(key)) continue;
      seen.add(key);
      flat.push(x);
    }
  }
  if (flat.length === 0) return NONE;
  if (flat.length === 1) return flat[0]!;
  return { k: 'alt', opts: flat };
}

function convert(e: Expr, g: Grammar, depth: number): R {
  if (depth > 200) throw new Error('recursive grammar: the test recogniser handles regular grammars only');
  switch (e.kind) {
    case 'literal':
      return e.codepoints.reduceRight<R>((acc, cp) => mkSeq({ k: 'set', ranges: [[cp, cp]] }, acc), EPS);
    case 'class':
      return { k: 'set', ranges: e.negated ? complement(e.ranges) : e.ranges };
    case 'any':
      return { k: 'set', ranges: [[0, MAX]] };
    case 'ref':
      return convert(g.rules.get(e.name)!, g, depth + 1);
    case 'seq':
      return e.items.reduceRight<R>((acc, i) => mkSeq(convert(i, g, depth), acc), EPS);
    case 'alt':
      return mkAlt(e.options.map((o) => convert(o, g, depth)));
    case 'repeat':
      return e.max === 0 ? EPS : { k: 'rep', e: convert(e.item, g, depth), min: e.min, max: e.max };
  }
}

function nullable(r: R): boolean {
  switch (r.k) {
    case 'none': return false;
    case 'eps': return true;
    case 'set': return false;
    case 'seq': return nullable(r.a) && nullable(r.b);
    case 'alt': return r.opts.some(nullable);
    case 'rep': return r.min === 0 || nullable(r.e);
  }
}

function empty(r: R): boolean {
  switch (r.k) {
    case 'none': return true;
    case 'eps': return false;
    case 'set': return r.ranges.length === 0;
    case 'seq': return empty(r.a) || empty(r.b);
    case 'alt': return r.opts.every(empty);
    case 'rep': return r.min > 0 && empty(r.e);
  }
}

function derive(r: R, c: number): R {
  switch (r.k) {
    case 'none':
    case 'eps':
      return NONE;
    case 'set':
      return r.ranges.some(([a, b]) => c >= a && c <= b) ? EPS : NONE;
    case 'seq': {
      const first = mkSeq(derive(r.a, c), r.b);
      return nullable(r.a) ? mkAlt([first, derive(r.b, c)]) : first;
    }
    case 'alt':
      return mkAlt(r.opts.map((o) => derive(o, c)));
    case 'rep': {
      const rest: R = r.max === 1 ? EPS : { k: 'rep', e: r.e, min: Math.max(0, r.min - 1), max: r.max - 1 };
      return mkSeq(derive(r.e, c), rest);
    }
  }
}

/** The range of code points whose UTF-8 encoding starts with `prefix` (an incomplete sequence). */
function completionRange(prefix: number[]): [number, number] {
  const lead = prefix[0]!;
  const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  let lo = lead & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
  let hi = lo;
  for (let i = 1; i < len; i++) {
    const b = prefix[i];
    lo = (lo << 6) | (b === undefined ? 0x00 : b & 0x3f);
    hi = (hi << 6) | (b === undefined ? 0x3f : b & 0x3f);
  }
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
  return [Math.max(lo, min), Math.min(hi, MAX)];
}

/**
 * Whether some code point in [lo, hi] (not a surrogate) has a non-empty derivative. Derivatives
 * only depend on which set ranges hold the code point, so one representative per interval
 * between range boundaries is enough.
 */
function someContinues(r: R, lo: number, hi: number): boolean {
  const candidates = new Set<number>([lo]);
  for (const x of firstChars(r)) {
    if (x > lo && x <= hi) candidates.add(x);
    if (x + 1 > lo && x + 1 <= hi) candidates.add(x + 1);
  }
  for (let cp of candidates) {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      if (0xe000 > hi) continue;
      cp = 0xe000;
    }
    if (!empty(derive(r, cp))) return true;
  }
  return false;
}

/** A recogniser state: the remaining language and any pending bytes of an incomplete character. */
export class Recogniser {
  private constructor(private readonly r: R, private readonly pending: number[]) {}

  static of(g: Grammar): Recogniser {
    return new Recogniser(convert(g.rules.get(g.root)!, g, 0), []);
  }

  /** The state after `bytes`, or undefined when no sentence of the language starts this way. */
  feed(bytes: ArrayLike<number>): Recogniser | undefined {
    let r = this.r;
    let pending = [...this.pending];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (pending.length === 0 && b < 0x80) {
        r = derive(r, b);
      } else {
        if (pending.length === 0 && (b < 0xc2 || b > 0xf4)) return undefined; // not a UTF-8 lead byte
        if (pending.length > 0 && (b & 0xc0) !== 0x80) return undefined;
        pending.push(b);
        const lead = pending[0]!;
        const len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (pending.length < len) continue;
        const text = new TextDecoder('utf-8', { fatal: true });
        let cp: number;
        try {
          cp = text.decode(Uint8Array.from(pending)).codePointAt(0)!;
        } catch {
          return undefined;
        }
        pending = [];
        r = derive(r, cp);
      }
      if (empty(r)) return undefined;
    }
    if (pending.length > 0) {
      const [lo, hi] = completionRange(pending);
      if (lo > hi || !someContinues(r, lo, hi)) return undefined;
    }
    return new Recogniser(r, pending);
  }

  /** True when the input so far is a whole sentence. */
  get accepts(): boolean {
    return this.pending.length === 0 && nullable(this.r);
  }

  /** True when some non-empty continuation exists. */
  get canContinue(): boolean {
    if (this.pending.length > 0) return true;
    return someContinues(this.r, 0, MAX);
  }
}

/** Candidate first characters (one representative per range boundary of every set). */
function firstChars(r: R, out: number[] = []): number[] {
  switch (r.k) {
    case 'set':
      for (const [a, b] of r.ranges) out.push(a, b);
      break;
    case 'seq':
      firstChars(r.a, out);
      if (nullable(r.a)) firstChars(r.b, out);
      break;
    case 'alt':
      r.opts.forEach((o) => firstChars(o, out));
      break;
    case 'rep':
      firstChars(r.e, out);
      break;
    default:
      break;
  }
  return out;
}

/** True when the whole text is a sentence of the grammar. */
export function recognises(g: Grammar, text: string): boolean {
  const s = Recogniser.of(g).feed(new TextEncoder().encode(text));
  return s !== undefined && s.accepts;
}
