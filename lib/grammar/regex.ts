/**
 * A JSON-schema `pattern` (ECMA-262 regular expression) as a grammar expression over the
 * characters of a JSON string's content. The supported subset: literals, escapes (\d \w \s \D \W
 * \S \. \n \t \uXXXX ...), classes with ranges and negation, `.`, groups `( )` and `(?: )`, `|`,
 * and the quantifiers * + ? {m} {m,} {m,n} (lazy forms match the same language). Lookaround,
 * backreferences, named groups, word boundaries and anchors other than a leading ^ and a trailing
 * $ are rejected. As JSON Schema says, an unanchored pattern may match anywhere in the string.
 * Characters that JSON must escape (", \ and controls) are emitted in their escaped form.
 */
import { alt, cls, complementRanges, lit, nonAsciiShape, normaliseRanges, repeat, seq, type Expr } from './ast';
import { GrammarError } from '../errors';

type Ranges = Array<[number, number]>;

const DIGIT: Ranges = [[0x30, 0x39]];
const WORD: Ranges = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: Ranges = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]];
/** JavaScript's `.`: anything but line terminators. */
const DOT_EXCLUDES: Ranges = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];

const normalise = normaliseRanges;
const complement = complementRanges;

/** Ranges minus the code points JSON must escape (", \, U+0000-U+001F). */
function unescaped(ranges: Ranges): Ranges {
  const cut = normalise([[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]]);
  return normalise(ranges).flatMap(([a, b]) => {
    let parts: Ranges = [[a, b]];
    for (const [x, y] of cut)
      parts = parts.flatMap(([p, q]): Ranges => (y < p || x > q ? [[p, q]] : [...(p < x ? [[p, x - 1]] as Ranges : []), ...(q > y ? [[y + 1, q]] as Ranges : [])]));
    return parts;
  });
}

/** How a code point that JSON must escape is written inside a JSON string. */
function jsonEscape(cp: number): string {
  const named: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };
  return named[cp] ?? '\\u' + cp.toString(16).padStart(4, '0');
}

/** One character of the set, as it appears in JSON string content. */
export function jsonCharSet(ranges: Ranges): Expr {
  const options: Expr[] = [];
  // A non-ASCII part the engine cannot match (see printClass) is left out: the output is then
  // drawn from a subset of what the pattern allows, which still matches it.
  if (nonAsciiShape(ranges) === 'unsupported') ranges = normalise(ranges).filter(([a]) => a < 0x80).map(([a, b]) => [a, Math.min(b, 0x7f)] as [number, number]);
  const plain = unescaped(ranges);
  if (plain.length > 0) options.push(cls(plain));
  for (const [a, b] of normalise(ranges)) {
    for (let cp = a; cp <= Math.min(b, 0x5c); cp++) if (cp <= 0x1f || cp === 0x22 || cp === 0x5c) options.push(lit(jsonEscape(cp)));
  }
  if (options.length === 0) throw new GrammarError('pattern has a character class that matches nothing', 'ERR_RG_SCHEMA_INVALID');
  return alt(...options);
}

class RegexParser {
  private pos = 0;
  constructor(private readonly src: string, private readonly location: string) {}

  private fail(what: string): never {
    throw new GrammarError(`JSON schema ${this.location}: keyword "pattern" ${JSON.stringify(this.src)}: ${what} (at offset ${this.pos})`, 'ERR_RG_SCHEMA_UNSUPPORTED', { location: this.location, keyword: 'pattern' });
  }

  private get c(): string {
    return this.src[this.pos] ?? '';
  }

  parse(): Expr {
    let anchoredStart = false;
    if (this.c === '^') {
      anchoredStart = true;
      this.pos++;
    }
    const body = this.alternation(true);
    if (this.topOptions > 1 && (anchoredStart || this.c === '$'))
      this.fail('a top-level "|" with ^ or $ anchors only one alternative; wrap the alternatives in a group: ^(a|b)$');
    let anchoredEnd = false;
    if (this.c === '$') {
      anchoredEnd = true;
      this.pos++;
    }
    if (this.pos < this.src.length) this.fail(this.c === ')' ? 'unbalanced ")"' : `unsupported "${this.c}" here`);
    const any = repeat(jsonCharSet(complement([])), 0, Infinity);
    return seq(...(anchoredStart ? [] : [any]), body, ...(anchoredEnd ? [] : [any]));
  }

  private topOptions = 0;

  private alternation(top: boolean): Expr {
    const options = [this.sequence(top)];
    while (this.c === '|') {
      this.pos++;
      options.push(this.sequence(top));
    }
    if (top) this.topOptions = options.length;
    return alt(...options);
  }

  private sequence(top: boolean): Expr {
    const items: Expr[] = [];
    while (this.pos < this.src.length && this.c !== '|' && this.c !== ')') {
      if (this.c === '$' && top && this.pos === this.src.length - 1) break;
      let atom = this.atom();
      atom = this.quantified(atom);
      items.push(atom);
    }
    return items.length === 0 ? lit('') : seq(...items);
  }

  private quantified(atom: Expr): Expr {
    for (;;) {
      let min: number;
      let max: number;
      if (this.c === '*') [min, max] = [0, Infinity];
      else if (this.c === '+') [min, max] = [1, Infinity];
      else if (this.c === '?') [min, max] = [0, 1];
      else if (this.c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos))!;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) this.fail(`quantifier ${m[0]} has its maximum below its minimum`);
        if (min > 1000 || (max !== Infinity && max > 1000)) this.fail(`quantifier ${m[0]} is above the limit 1000`);
        this.pos += m[0].length - 1;
      } else return atom;
      this.pos++;
      if (this.c === '?') this.pos++; // lazy: the same language
      atom = repeat(atom, min, max);
    }
  }

  private atom(): Expr {
    const c = this.c;
    if (c === '(') {
      this.pos++;
      if (this.c === '?') {
        if (this.src[this.pos + 1] === ':') this.pos += 2;
        else this.fail('lookaround and named groups are not supported');
      }
      const inner = this.alternation(false);
      if (this.c !== ')') this.fail('unclosed "("');
      this.pos++;
      return inner;
    }
    if (c === '[') return jsonCharSet(this.classRanges());
    if (c === '.') {
      this.pos++;
      return jsonCharSet(complement(DOT_EXCLUDES));
    }
    if (c === '\\') return this.escapeAtom();
    if (c === '^' || c === '$') this.fail(`anchor "${c}" is only supported at the start / end of the pattern`);
    if (c === '*' || c === '+' || c === '?' || c === '{') this.fail(`quantifier "${c}" without an element`);
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return jsonCharSet([[cp, cp]]);
  }

  /** The code points of an escape outside a class, or a class escape such as \d. */
  private escapeRanges(): Ranges {
    this.pos++; // backslash
    const e = this.c;
    this.pos++;
    switch (e) {
      case 'd': return DIGIT;
      case 'D': return complement(DIGIT);
      case 'w': return WORD;
      case 'W': return complement(WORD);
      case 's': return SPACE;
      case 'S': return complement(SPACE);
      case 'n': return [[0x0a, 0x0a]];
      case 'r': return [[0x0d, 0x0d]];
      case 't': return [[0x09, 0x09]];
      case 'f': return [[0x0c, 0x0c]];
      case 'v': return [[0x0b, 0x0b]];
      case '0': return [[0, 0]];
      case 'x': {
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.pos));
        if (!m) this.fail('\\x needs two hex digits');
        this.pos += 2;
        const v = parseInt(m[0], 16);
        return [[v, v]];
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.pos));
        if (!m) this.fail('\\u needs four hex digits');
        this.pos += 4;
        const v = parseInt(m[0], 16);
        return [[v, v]];
      }
      case 'b':
      case 'B':
        return this.fail(`word boundary \\${e} is not supported`);
      case '':
        return this.fail('pattern ends with a lone backslash');
      default:
        if (/[1-9k]/.test(e)) this.fail(`backreference \\${e} is not supported`);
        if (/[A-Za-z]/.test(e)) this.fail(`unknown escape \\${e}`);
        return [[e.codePointAt(0)!, e.codePointAt(0)!]];
    }
  }

  private escapeAtom(): Expr {
    return jsonCharSet(this.escapeRanges());
  }

  private classRanges(): Ranges {
    this.pos++; // [
    let negated = false;
    if (this.c === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: Ranges = [];
    let first = true;
    while (this.c !== ']' || first) {
      if (this.pos >= this.src.length) this.fail('unclosed "["');
      first = false;
      if (this.c === ']' ) break;
      const a = this.classChar();
      if (this.c === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length && a.length === 1 && a[0]![0] === a[0]![1]) {
        this.pos++;
        const b = this.classChar();
        if (b.length !== 1 || b[0]![0] !== b[0]![1]) this.fail('a class escape cannot end a range');
        if (b[0]![0] < a[0]![0]) this.fail('reversed range in a character class');
        ranges.push([a[0]![0], b[0]![0]]);
      } else ranges.push(...a);
    }
    this.pos++;
    return negated ? complement(ranges) : normalise(ranges);
  }

  private classChar(): Ranges {
    if (this.c === '\\') {
      if (this.src[this.pos + 1] === 'b') {
        this.pos += 2;
        return [[0x08, 0x08]];
      }
      return this.escapeRanges();
    }
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return [[cp, cp]];
  }
}

/** The grammar of a JSON string's content (between the quotes) whose value matches `pattern`. */
export function patternToExpr(pattern: string, location: string): Expr {
  return new RegexParser(pattern, location).parse();
}
