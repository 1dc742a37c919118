/**
 * GBNF, the grammar format of llama.cpp (grammars/README.md there), parsed into the grammar tree:
 * `name ::= alternatives` rules, `|` alternation, `( )` grouping, `*` `+` `?` `{m}` `{m,}` `{m,n}`
 * repetition, "literals" and [character classes] (ranges, `^` negation) with the escapes
 * \x.. \u.... \U........ \t \r \n \\ \" \[ \] , `.` for any character and `#` comments. As in
 * llama.cpp, a newline ends a rule except inside parentheses and after `::=` or `|`.
 * Errors name the line and column.
 */
import { MAX_CODEPOINT, refsOf, type Expr, type Grammar } from './ast';
import { GrammarError } from '../errors';

/** Longest grammar text accepted (a guard against pathological input, not a format limit). */
const MAX_GRAMMAR_CHARS = 1 << 20;
/** Largest m or n in {m,n} (each repetition becomes engine states). */
const MAX_REPEAT = 10_000;

class Parser {
  private pos = 0;
  private readonly cps: number[];

  constructor(text: string) {
    this.cps = Array.from(text, (c) => c.codePointAt(0)!);
  }

  private where(at = this.pos): string {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.cps.length; i++) {
      if (this.cps[i] === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    return `${line}:${col}`;
  }

  fail(message: string, at = this.pos, code = 'ERR_RG_GRAMMAR_SYNTAX'): never {
    const location = this.where(at);
    throw new GrammarError(`grammar ${location}: ${message}`, code, { location });
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  private ch(offset = 0): string {
    const c = this.peek(offset);
    return c === undefined ? '' : String.fromCodePoint(c);
  }

  get done(): boolean {
    return this.pos >= this.cps.length;
  }

  /** Skips blanks and comments; newlines too when `newlines` (inside parentheses, after ::= and |). */
  space(newlines: boolean): void {
    while (!this.done) {
      const c = this.ch();
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '#') {
        while (!this.done && this.ch() !== '\n') this.pos++;
      } else if (newlines && (c === '\n' || c === '\r')) this.pos++;
      else break;
    }
  }

  private isWordChar(c: string): boolean {
    return /^[A-Za-z0-9_-]$/.test(c);
  }

  name(): string {
    const start = this.pos;
    while (!this.done && this.isWordChar(this.ch())) this.pos++;
    if (this.pos === start) this.fail(`expected a rule name, got ${this.describe()}`);
    return String.fromCodePoint(...this.cps.slice(start, this.pos));
  }

  private describe(): string {
    return this.done ? 'the end of the grammar' : JSON.stringify(this.ch());
  }

  private hexDigits(count: number): number {
    const start = this.pos;
    let v = 0;
    for (let i = 0; i < count; i++) {
      const d = parseInt(this.ch(), 16);
      if (this.done || Number.isNaN(d)) this.fail(`expected ${count} hex digits in an escape`, start);
      v = v * 16 + d;
      this.pos++;
    }
    if (v > MAX_CODEPOINT) this.fail(`escape U+${v.toString(16)} is beyond the last Unicode code point`, start);
    return v;
  }

  /** One (possibly escaped) character of a literal or class. */
  char(): number {
    if (this.done) this.fail('unexpected end of the grammar inside a literal or character class');
    const c = this.peek()!;
    this.pos++;
    if (c !== 0x5c) return c;
    const e = this.ch();
    const at = this.pos - 1;
    this.pos++;
    switch (e) {
      case 'x':
        return this.hexDigits(2);
      case 'u':
        return this.hexDigits(4);
      case 'U':
        return this.hexDigits(8);
      case 't':
        return 0x09;
      case 'r':
        return 0x0d;
      case 'n':
        return 0x0a;
      case '\\':
      case '"':
      case '[':
      case ']':
        return e.codePointAt(0)!;
      default:
        return this.fail(`unknown escape "\\${e}"`, at);
    }
  }

  private literal(): Expr {
    this.pos++; // opening quote
    const codepoints: number[] = [];
    while (this.ch() !== '"') {
      if (this.done) this.fail('unterminated string literal');
      codepoints.push(this.char());
    }
    this.pos++;
    return { kind: 'literal', codepoints };
  }

  private charClass(): Expr {
    const start = this.pos;
    this.pos++; // [
    let negated = false;
    if (this.ch() === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: Array<[number, number]> = [];
    while (this.ch() !== ']') {
      if (this.done) this.fail('unterminated character class', start);
      const a = this.char();
      let b = a;
      if (this.ch() === '-' && this.ch(1) !== ']' && !this.done) {
        this.pos++;
        b = this.char();
        if (b < a) this.fail(`character range ${String.fromCodePoint(a)}-${String.fromCodePoint(b)} is reversed`, start);
      }
      ranges.push([a, b]);
    }
    this.pos++;
    if (ranges.length === 0 && !negated) this.fail('empty character class matches nothing', start);
    return { kind: 'class', negated, ranges };
  }

  private integer(): number {
    const start = this.pos;
    while (/^[0-9]$/.test(this.ch())) this.pos++;
    if (this.pos === start) this.fail(`expected a number in {m,n}, got ${this.describe()}`);
    const v = Number(String.fromCodePoint(...this.cps.slice(start, this.pos)));
    if (v > MAX_REPEAT) this.fail(`repetition count ${v} is above the limit ${MAX_REPEAT}`, start);
    return v;
  }

  /** `{m}`, `{m,}` or `{m,n}` after an element. */
  private braces(): [number, number] {
    const start = this.pos;
    this.pos++;
    this.space(true);
    const min = this.integer();
    this.space(true);
    let max = min;
    if (this.ch() === ',') {
      this.pos++;
      this.space(true);
      max = /^[0-9]$/.test(this.ch()) ? this.integer() : Infinity;
      this.space(true);
    }
    if (this.ch() !== '}') this.fail(`expected "}" to close the repetition, got ${this.describe()}`);
    this.pos++;
    if (max < min) this.fail(`repetition {${min},${max}} has its maximum below its minimum`, start);
    return [min, max];
  }

  /** Elements until something that cannot continue a sequence (|, ), a newline at top level, the end). */
  sequence(nested: boolean): Expr {
    const items: Expr[] = [];
    for (;;) {
      const c = this.ch();
      let item: Expr | undefined;
      if (c === '"') item = this.literal();
      else if (c === '[') item = this.charClass();
      else if (c === '.') {
        this.pos++;
        item = { kind: 'any' };
      } else if (c === '(') {
        const open = this.pos;
        this.pos++;
        this.space(true);
        item = this.alternates(true);
        if (this.ch() !== ')') this.fail(`expected ")" to close the group opened at ${this.where(open)}, got ${this.describe()}`);
        this.pos++;
      } else if (c !== '' && this.isWordChar(c)) {
        const at = this.pos;
        item = { kind: 'ref', name: this.name() };
        this.refPositions.push([item.name, at]);
        // `name ::=` here means the previous rule ended without a newline.
        const save = this.pos;
        this.space(false);
        if (this.ch() === ':' && this.ch(1) === ':' && this.ch(2) === '=') this.fail(`rule "${item.name}" must start on a new line`, at);
        this.pos = save;
      } else if (c === '*' || c === '+' || c === '?' || c === '{') {
        const last = items.pop();
        if (last === undefined) this.fail(`"${c}" must follow an element`);
        const [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : c === '?' ? [0, 1] : this.braces();
        if (c !== '{') this.pos++;
        item = { kind: 'repeat', item: last, min, max };
      } else break;
      items.push(item);
      this.space(nested);
    }
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  }

  alternates(nested: boolean): Expr {
    const options = [this.sequence(nested)];
    while (this.ch() === '|') {
      this.pos++;
      this.space(true);
      options.push(this.sequence(nested));
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  readonly refPositions: Array<[string, number]> = [];
  readonly rulePositions = new Map<string, number>();

  grammar(): Map<string, Expr> {
    const rules = new Map<string, Expr>();
    this.space(true);
    while (!this.done) {
      const at = this.pos;
      const name = this.name();
      this.space(false);
      if (!(this.ch() === ':' && this.ch(1) === ':' && this.ch(2) === '=')) this.fail(`expected "::=" after rule name "${name}", got ${this.describe()}`);
      this.pos += 3;
      this.space(true);
      const body = this.alternates(false);
      if (!this.done && this.ch() !== '\n' && this.ch() !== '\r') this.fail(`expected the end of rule "${name}" (a newline), got ${this.describe()}`);
      if (rules.has(name)) this.fail(`rule "${name}" is defined twice (first at ${this.where(this.rulePositions.get(name))})`, at, 'ERR_RG_GRAMMAR_RULE');
      rules.set(name, body);
      this.rulePositions.set(name, at);
      this.space(true);
    }
    return rules;
  }
}

/**
 * Parses GBNF text. Generation starts at the rule `root` (llama.cpp's convention). Throws
 * GrammarError (ERR_RG_GRAMMAR_SYNTAX, or ERR_RG_GRAMMAR_RULE for a missing `root`, an undefined
 * or twice-defined rule) with the line and column.
 */
export function parseGbnf(text: string): Grammar {
  if (typeof text !== 'string') throw new GrammarError('grammar must be a string of GBNF rules', 'ERR_RG_GRAMMAR_SYNTAX');
  if (text.length > MAX_GRAMMAR_CHARS) throw new GrammarError(`grammar is ${text.length} characters, above the limit ${MAX_GRAMMAR_CHARS}`, 'ERR_RG_GRAMMAR_SYNTAX');
  const p = new Parser(text);
  const rules = p.grammar();
  if (rules.size === 0) throw new GrammarError('grammar has no rules (it needs at least `root ::= ...`)', 'ERR_RG_GRAMMAR_RULE');
  for (const [name, at] of p.refPositions) if (!rules.has(name)) p.fail(`rule "${name}" is used but never defined`, at, 'ERR_RG_GRAMMAR_RULE');
  if (!rules.has('root')) throw new GrammarError('grammar 1:1: there is no "root" rule (generation starts at root)', 'ERR_RG_GRAMMAR_RULE', { location: '1:1' });
  // Rules root cannot reach are dropped: they cannot affect the output.
  const reachable = new Set(['root']);
  const todo = ['root'];
  while (todo.length > 0) for (const r of refsOf(rules.get(todo.pop()!)!)) if (!reachable.has(r)) {
    reachable.add(r);
    todo.push(r);
  }
  for (const name of [...rules.keys()]) if (!reachable.has(name)) rules.delete(name);
  return { rules, root: 'root' };
}
