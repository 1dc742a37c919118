/**
 * The grammar tree both front ends produce (GBNF text and JSON schemas) and the printer that
 * turns it into the canonical GBNF the matching engine compiles. Characters are Unicode code
 * points, as in llama.cpp's GBNF; the engine matches them against the UTF-8 bytes of tokens.
 */

import { GrammarError } from '../errors';

/** One grammar expression. */
export type Expr =
  /** These code points in order ('' when empty). */
  | { kind: 'literal'; codepoints: number[] }
  /** One code point inside (or, when negated, outside) the inclusive ranges. */
  | { kind: 'class'; negated: boolean; ranges: Array<[number, number]> }
  /** Any one code point (GBNF `.`). */
  | { kind: 'any' }
  /** Another rule, by name. */
  | { kind: 'ref'; name: string }
  | { kind: 'seq'; items: Expr[] }
  | { kind: 'alt'; options: Expr[] }
  /** `item` between min and max times (max may be Infinity). */
  | { kind: 'repeat'; item: Expr; min: number; max: number };

/** A whole grammar: named rules and the rule generation starts from. */
export interface Grammar {
  rules: Map<string, Expr>;
  root: string;
}

export const MAX_CODEPOINT = 0x10ffff;

export const lit = (text: string): Expr => ({ kind: 'literal', codepoints: Array.from(text, (c) => c.codePointAt(0)!) });
export const cls = (ranges: Array<[number, number]>, negated = false): Expr => ({ kind: 'class', negated, ranges });
export const ref = (name: string): Expr => ({ kind: 'ref', name });
export const seq = (...items: Expr[]): Expr => (items.length === 1 ? items[0]! : { kind: 'seq', items });
export const alt = (...options: Expr[]): Expr => (options.length === 1 ? options[0]! : { kind: 'alt', options });
export const repeat = (item: Expr, min: number, max: number): Expr => ({ kind: 'repeat', item, min, max });
export const optional = (item: Expr): Expr => repeat(item, 0, 1);

/** A class from a string of single characters and `a-z` ranges (for hand-written classes). */
export function charClass(spec: string, negated = false): Expr {
  const cps = Array.from(spec, (c) => c.codePointAt(0)!);
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < cps.length; i++) {
    if (cps[i + 1] === 0x2d && i + 2 < cps.length) {
      ranges.push([cps[i]!, cps[i + 2]!]);
      i += 2;
    } else ranges.push([cps[i]!, cps[i]!]);
  }
  return cls(ranges, negated);
}

function hex(cp: number, width: number): string {
  return cp.toString(16).toUpperCase().padStart(width, '0');
}

/** A code point as GBNF source: printable ASCII as itself (escaped where `special`), the rest as \x, \u or \U. */
function printChar(cp: number, special: string): string {
  if (cp >= 0x20 && cp < 0x7f) {
    const c = String.fromCharCode(cp);
    return special.includes(c) ? '\\' + c : c;
  }
  if (cp < 0x80) return '\\x' + hex(cp, 2);
  if (cp <= 0xffff) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** Sorted, merged ranges. */
export function normaliseRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = ranges.map((r) => [r[0], r[1]] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

/** The complement of ranges within [0, MAX_CODEPOINT]. */
export function complementRanges(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [a, b] of normaliseRanges(ranges)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CODEPOINT) out.push([next, MAX_CODEPOINT]);
  return out;
}

/** Non-ASCII code points a class may list one by one (see printClass). */
export const MAX_LISTED_NON_ASCII = 1024;

/** The non-ASCII code points of ranges (surrogates never occur in text and are left out). */
function nonAscii(ranges: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    for (const [x, y] of [[0x80, 0xd7ff], [0xe000, MAX_CODEPOINT]] as const) {
      const lo = Math.max(a, x);
      const hi = Math.min(b, y);
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return out;
}

/** How the engine can match a class's non-ASCII part: all of it, a short list, or not at all. */
export function nonAsciiShape(ranges: Array<[number, number]>): 'none' | 'all' | 'listed' | 'unsupported' {
  const n = nonAscii(normaliseRanges(ranges));
  const count = n.reduce((sum, [a, b]) => sum + b - a + 1, 0);
  if (count === 0) return 'none';
  if (count === 0xd7ff - 0x80 + 1 + MAX_CODEPOINT - 0xe000 + 1) return 'all';
  return count <= MAX_LISTED_NON_ASCII ? 'listed' : 'unsupported';
}

/**
 * A character class in the form the engine matches correctly. The engine (xgrammar 0.1.27)
 * matches classes byte by byte: ASCII classes and negated ASCII classes (which take any
 * non-ASCII character) are exact, but a class listing non-ASCII code points is not. So the
 * ASCII part is printed as a class, "every non-ASCII character" as a negated ASCII class, and a
 * short list of non-ASCII characters as literal alternatives; any other non-ASCII set is refused.
 */
function printClass(ranges: Array<[number, number]>, nested: boolean): string {
  const special = '\\]-^[';
  const body = (rs: Array<[number, number]>) => rs.map(([a, b]) => (a === b ? printChar(a, special) : printChar(a, special) + '-' + printChar(b, special))).join('');
  const ascii = normaliseRanges(ranges.filter(([a]) => a < 0x80).map(([a, b]) => [a, Math.min(b, 0x7f)] as [number, number]));
  const options: string[] = [];
  switch (nonAsciiShape(ranges)) {
    case 'none':
      if (ascii.length === 0) throw new GrammarError('a character class matches no character', 'ERR_RG_GRAMMAR_SYNTAX');
      return '[' + body(ascii) + ']';
    case 'all': {
      const excluded = complementRanges(ascii).filter(([a]) => a < 0x80).map(([a, b]) => [a, Math.min(b, 0x7f)] as [number, number]);
      // A negated class needs at least one member: NUL, which the engine never matches anyway.
      if (excluded.length === 0) options.push('[^\\x00]');
      else options.push('[^' + body(excluded) + ']');
      break;
    }
    case 'listed':
      if (ascii.length > 0) options.push('[' + body(ascii) + ']');
      for (const [a, b] of nonAscii(normaliseRanges(ranges))) for (let cp = a; cp <= b; cp++) options.push('"' + printChar(cp, '"\\') + '"');
      break;
    case 'unsupported':
      throw new GrammarError(
        'a character class with a large non-ASCII part other than "every non-ASCII character" (such as [^é] or [\\u4E00-\\u9FFF]) is not supported by the matching engine',
        'ERR_RG_GRAMMAR_UNSUPPORTED',
      );
  }
  if (options.length === 1) return options[0]!;
  return nested ? '(' + options.join(' | ') + ')' : options.join(' | ');
}

function printExpr(e: Expr, names: Map<string, string>, nested: boolean): string {
  switch (e.kind) {
    case 'literal':
      return '"' + e.codepoints.map((c) => printChar(c, '"\\')).join('') + '"';
    case 'class':
      return printClass(e.negated ? complementRanges(e.ranges) : normaliseRanges(e.ranges), nested);
    case 'any':
      return printClass([[0, MAX_CODEPOINT]], nested);
    case 'ref':
      return names.get(e.name)!;
    case 'seq': {
      if (e.items.length === 0) return '""';
      const s = e.items.map((i) => printExpr(i, names, true)).join(' ');
      return nested && e.items.length > 1 ? '(' + s + ')' : s;
    }
    case 'alt': {
      const s = e.options.map((o) => printExpr(o, names, false)).join(' | ');
      return nested ? '(' + s + ')' : s;
    }
    case 'repeat': {
      const inner = printExpr(e.item, names, true);
      const atom = e.item.kind === 'seq' || e.item.kind === 'alt' ? (inner.startsWith('(') ? inner : '(' + inner + ')') : inner;
      if (e.min === 0 && e.max === Infinity) return atom + '*';
      if (e.min === 1 && e.max === Infinity) return atom + '+';
      if (e.min === 0 && e.max === 1) return atom + '?';
      if (e.max === Infinity) return `${atom}{${e.min},}`;
      if (e.min === e.max) return `${atom}{${e.min}}`;
      return `${atom}{${e.min},${e.max}}`;
    }
  }
}

/**
 * The grammar as GBNF text, one rule per line, root first. Rule names that are not plain
 * identifiers are renamed so every engine reads them the same way.
 */
export function printGrammar(g: Grammar): string {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of g.rules.keys()) if (/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    names.set(name, name);
    taken.add(name);
  }
  let n = 0;
  for (const name of g.rules.keys()) {
    if (names.has(name)) continue;
    let safe = 'r' + name.replace(/[^A-Za-z0-9_]/g, '_');
    while (taken.has(safe)) safe = `r${n++}_` + name.replace(/[^A-Za-z0-9_]/g, '_');
    names.set(name, safe);
    taken.add(safe);
  }
  const order = [g.root, ...[...g.rules.keys()].filter((k) => k !== g.root)];
  return order.map((name) => `${names.get(name)!} ::= ${printExpr(g.rules.get(name)!, names, false)}`).join('\n') + '\n';
}

/** Every rule name an expression refers to. */
export function refsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'ref':
      out.add(e.name);
      break;
    case 'seq':
      e.items.forEach((i) => refsOf(i, out));
      break;
    case 'alt':
      e.options.forEach((o) => refsOf(o, out));
      break;
    case 'repeat':
      refsOf(e.item, out);
      break;
    default:
      break;
  }
  return out;
}
