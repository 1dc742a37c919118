/**
 * The matching engine: xgrammar (compiled to WebAssembly, npm @mlc-ai/web-xgrammar), which runs
 * a pushdown automaton over the bytes of every token and precomputes per-state token masks, so
 * a mask over a 262k vocabulary costs well under a millisecond. Only this file knows the library;
 * the rest of lib/grammar talks to `EngineMatcher`.
 *
 * Grammars reach the engine only as canonical GBNF printed from a tree our own parsers built, so
 * the engine never sees input it would reject (its errors abort the WebAssembly call and print
 * the reason to stderr instead of throwing it).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';
import * as vm from 'vm';

import { GrammarError } from './errors';
import type { TokenVocabulary } from './vocabulary';

/** The part of xgrammar's API used here. */
interface XgCompiledGrammar {
  dispose(): void;
}
interface XgMatcher {
  acceptToken(id: number): boolean;
  getNextTokenBitmask(): Promise<Int32Array>;
  isTerminated(): boolean;
  dispose(): void;
}
interface XgCompiler {
  compileGrammar(ebnf: string, rootRule?: string): Promise<XgCompiledGrammar>;
  dispose(): void;
}
interface XgTokenizerInfo {
  dispose(): void;
}
interface Xgrammar {
  TokenizerInfo: { createTokenizerInfo(vocab: string[], vocabType: string, prependSpace: boolean, vocabSize: number, stopTokenIds: number[]): Promise<XgTokenizerInfo> };
  GrammarCompiler: { createGrammarCompiler(info: XgTokenizerInfo, cacheEnabled: boolean): Promise<XgCompiler> };
  GrammarMatcher: { createGrammarMatcher(g: XgCompiledGrammar, stopTokens?: number[], terminateWithoutStopToken?: boolean, maxRollbackTokens?: number): Promise<XgMatcher> };
}

let xgrammar: Xgrammar | undefined;

/**
 * Loads the library. Its package says "type": "module" but ships a UMD bundle that uses
 * `require`, so neither require() nor import() of it works in Node (0.1.27); the bundle is run
 * here as the CommonJS script it is.
 */
function loadXgrammar(): Xgrammar {
  if (xgrammar) return xgrammar;
  const file = require.resolve('@mlc-ai/web-xgrammar/lib/index.js');
  const source = fs.readFileSync(file, 'utf8');
  const wrapper = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  const mod = { exports: {} as Record<string, unknown> };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  xgrammar = mod.exports as unknown as Xgrammar;
  return xgrammar;
}

function engineError(what: string, e: unknown): GrammarError {
  return new GrammarError(`grammar engine failed to ${what}: ${e instanceof Error ? e.message : String(e)}`, 'ERR_RG_GRAMMAR_ENGINE');
}

/** Most compiled grammars kept per vocabulary (compiling costs about a second on a 262k vocabulary). */
const CACHE_SIZE = 16;

/** A vocabulary prepared for the engine, with a cache of compiled grammars. */
export class EngineVocabulary {
  /** Logits length the masks cover (the model's vocab_size, which may exceed the tokenizer's). */
  readonly size: number;
  private readonly compiler: Promise<XgCompiler>;
  private readonly cache = new Map<string, Promise<XgCompiledGrammar>>();

  constructor(vocab: TokenVocabulary, size: number) {
    this.size = size;
    const xg = loadXgrammar();
    // Special and unused ids become '', which the engine never allows inside the output.
    const encoded: string[] = [];
    for (let id = 0; id < size; id++) encoded.push(vocab.specialIds.has(id) ? '' : (vocab.pieces[id] ?? ''));
    // The engine's default stop tokens are replaced per matcher; it needs some non-empty list.
    this.compiler = xg.TokenizerInfo.createTokenizerInfo(encoded, 'byte_fallback', false, size, [0])
      .then((info) => xg.GrammarCompiler.createGrammarCompiler(info, true))
      .catch((e: unknown) => {
        throw engineError('read the vocabulary', e);
      });
  }

  /** The compiled form of canonical GBNF text (cached by text). */
  compile(gbnf: string): Promise<XgCompiledGrammar> {
    let hit = this.cache.get(gbnf);
    if (hit) {
      this.cache.delete(gbnf); // re-insert: most recently used last
      this.cache.set(gbnf, hit);
      return hit;
    }
    hit = this.compiler.then((c) => c.compileGrammar(gbnf, 'root')).catch((e: unknown) => {
      this.cache.delete(gbnf);
      throw e instanceof GrammarError ? e : engineError('compile the grammar', e);
    });
    this.cache.set(gbnf, hit);
    while (this.cache.size > CACHE_SIZE) {
      const [oldest, compiled] = this.cache.entries().next().value as [string, Promise<XgCompiledGrammar>];
      this.cache.delete(oldest);
      // Freed once no matcher can still be creating from it.
      void compiled.then((g) => setTimeout(() => g.dispose(), 1000).unref(), () => undefined);
    }
    return hit;
  }

  /** A fresh matcher at the start of the grammar; `stopTokens` may end the output where the grammar can end. */
  async matcher(gbnf: string, stopTokens: readonly number[]): Promise<EngineMatcher> {
    const compiled = await this.compile(gbnf);
    const xg = loadXgrammar();
    // The engine needs at least one stop token; without any, id 0 stands in and is masked out.
    const stops = stopTokens.length > 0 ? [...stopTokens] : [0];
    let m: XgMatcher;
    try {
      m = await xg.GrammarMatcher.createGrammarMatcher(compiled, stops, false, 0);
    } catch (e) {
      throw engineError('start a matcher', e);
    }
    return new EngineMatcher(m, this.size, stopTokens.length > 0 ? [] : [0]);
  }
}

/** One generation's position in the grammar. */
export class EngineMatcher {
  private disposed = false;

  constructor(
    private readonly m: XgMatcher,
    /** Number of ids the bitmask covers. */
    readonly size: number,
    /** Ids the engine treats as stop tokens but the caller does not (always masked out). */
    private readonly hidden: readonly number[],
  ) {}

  /** The allowed next tokens: bit (id & 31) of word (id >> 5). */
  async allowed(): Promise<Int32Array> {
    const bits = Int32Array.from(await this.m.getNextTokenBitmask());
    for (const id of this.hidden) bits[id >> 5]! &= ~(1 << (id & 31));
    return bits;
  }

  /** Advances past `token`; false (and no change) when the grammar does not allow it. */
  accept(token: number): boolean {
    return this.m.acceptToken(token);
  }

  /** True once a stop token was accepted. */
  get terminated(): boolean {
    return this.m.isTerminated();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.m.dispose();
  }
}
