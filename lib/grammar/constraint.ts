/**
 * Constrained decoding: a grammar (GBNF text or a JSON schema) checked and compiled once, then a
 * per-generation TokenConstraint that masks the logits of every token the grammar does not allow
 * next (-Infinity before sampling) and tells the decode loop when the output is complete.
 */
import { printGrammar, type Grammar } from './ast';
import { EngineVocabulary, type EngineMatcher } from './engine';
import { GrammarError } from '../errors';
import { parseGbnf } from './gbnf';
import { compileJsonSchema } from './json-schema';
import type { TokenVocabulary } from './vocabulary';

/** What to constrain the output to: exactly one of a GBNF grammar or a JSON schema. */
export type ConstraintSpec = { grammar: string; jsonSchema?: undefined } | { jsonSchema: object | boolean; grammar?: undefined };

/** A checked grammar, ready to constrain any number of generations. */
export interface CompiledConstraint {
  /** Where it came from. */
  readonly source: 'grammar' | 'jsonSchema';
  /** The grammar tree. */
  readonly grammar: Grammar;
  /** Canonical GBNF text of the grammar (what the engine compiles; also handy for debugging). */
  readonly gbnf: string;
}

/**
 * Parses and checks a grammar or JSON schema (synchronously, so a bad one fails before any
 * work starts). Throws GrammarError naming the problem.
 */
export function compileConstraint(spec: ConstraintSpec): CompiledConstraint {
  if (typeof spec !== 'object' || spec === null) throw new GrammarError('a constraint needs { grammar } or { jsonSchema }', 'ERR_RG_GRAMMAR_SYNTAX');
  if (spec.grammar !== undefined && spec.jsonSchema !== undefined) throw new GrammarError('give either grammar or jsonSchema, not both', 'ERR_RG_GRAMMAR_SYNTAX');
  const source = spec.grammar !== undefined ? 'grammar' : 'jsonSchema';
  const grammar = spec.grammar !== undefined ? parseGbnf(spec.grammar) : compileJsonSchema(spec.jsonSchema);
  return { source, grammar, gbnf: printGrammar(grammar) };
}

const vocabularies = new WeakMap<object, Map<number, EngineVocabulary>>();

/**
 * The engine's form of a vocabulary, built once per (owner, size): `owner` is the object the
 * vocabulary belongs to (a Tokenizer), `size` the logits length.
 */
export function engineVocabulary(owner: object, vocab: () => TokenVocabulary, size: number): EngineVocabulary {
  let bySize = vocabularies.get(owner);
  if (!bySize) vocabularies.set(owner, (bySize = new Map()));
  let v = bySize.get(size);
  if (!v) bySize.set(size, (v = new EngineVocabulary(vocab(), size)));
  return v;
}

/** Sets logits[id] to -Infinity for every id whose bit is clear in the mask. */
export function applyTokenMask(logits: Float32Array, mask: Int32Array): void {
  const n = logits.length;
  for (let w = 0; w < mask.length; w++) {
    const bits = mask[w]!;
    if (bits === -1) continue;
    const base = w << 5;
    if (bits === 0) {
      logits.fill(-Infinity, base, Math.min(n, base + 32));
      continue;
    }
    const end = Math.min(32, n - base);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) logits[base + b] = -Infinity;
  }
  for (let id = mask.length << 5; id < n; id++) logits[id] = -Infinity;
}

/** True when the mask allows at least one id outside `except`. */
function allowsAnythingBut(mask: Int32Array, except: readonly number[]): boolean {
  const exceptWords = new Map<number, number>();
  for (const id of except) exceptWords.set(id >> 5, (exceptWords.get(id >> 5) ?? 0) | (1 << (id & 31)));
  for (let w = 0; w < mask.length; w++) if ((mask[w]! & ~(exceptWords.get(w) ?? 0)) !== 0) return true;
  return false;
}

/** One generation's grammar state. */
export class TokenConstraint {
  private next: Int32Array | undefined;

  private constructor(
    private readonly matcher: EngineMatcher,
    private readonly stopTokens: readonly number[],
  ) {}

  /** A constraint at the start of the grammar; `stopTokens` are allowed only where the grammar can end. */
  static async start(compiled: CompiledConstraint, vocabulary: EngineVocabulary, stopTokens: readonly number[]): Promise<TokenConstraint> {
    const matcher = await vocabulary.matcher(compiled.gbnf, stopTokens);
    return new TokenConstraint(matcher, [...stopTokens]);
  }

  /** The bitmask of allowed next tokens (bit id & 31 of word id >> 5). */
  async allowed(): Promise<Int32Array> {
    if (!this.next) this.next = await this.matcher.allowed();
    return this.next;
  }

  /** Masks (in place) every token the grammar does not allow next. */
  async mask(logits: Float32Array): Promise<void> {
    applyTokenMask(logits, await this.allowed());
  }

  /**
   * Advances past a sampled token. Returns true when the output is complete: a stop token was
   * accepted, or the grammar allows nothing but a stop token next. Throws GrammarError for a
   * token the grammar does not allow (the caller sampled without the mask).
   */
  async accept(token: number): Promise<boolean> {
    this.next = undefined;
    if (!this.matcher.accept(token)) throw new GrammarError(`token ${token} is not allowed by the grammar here`, 'ERR_RG_GRAMMAR_ENGINE');
    if (this.matcher.terminated) return true;
    return !allowsAnythingBut(await this.allowed(), this.stopTokens);
  }

  dispose(): void {
    this.matcher.dispose();
  }
}
