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

import { GrammarError } from '../errors';
import { tokenBytes, type TokenVocabulary } from './vocabulary';

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
 * here as the CommonJS script it is. Its one dynamic `import('module')` (for createRequire) is
 * read through require, because a script compiled by vm has no dynamic-import loader on Node 18.
 */
function loadXgrammar(): Xgrammar {
  if (xgrammar) return xgrammar;
  const file = require.resolve('@mlc-ai/web-xgrammar/lib/index.js');
  const source = fs.readFileSync(file, 'utf8').replace("await import('module')", "require('module')");
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
  /** Bit set of the ids that can ever be output (not special, not unused). */
  private readonly printable: Int32Array;
  private readonly standInStop: number;
  private readonly vocab: TokenVocabulary;
  /** byteTokens[b]: the id of the byte-fallback token <0xb>, or -1. */
  private readonly byteTokens = new Int32Array(256).fill(-1);

  constructor(vocab: TokenVocabulary, size: number) {
    this.size = size;
    this.vocab = vocab;
    const xg = loadXgrammar();
    // Special and unused ids become '', which the engine never allows inside the output.
    const encoded: string[] = [];
    for (let id = 0; id < size; id++) encoded.push(vocab.specialIds.has(id) ? '' : (vocab.pieces[id] ?? ''));
    this.printable = new Int32Array((size + 31) >> 5);
    // Bytes that never occur in UTF-8 (C0, C1, F5-FF) are not text, though the engine would take
    // them as lead bytes; NUL the engine cannot match at all. Neither is ever generated.
    encoded.forEach((piece, id) => {
      if (piece !== '' && !/^<0x(00|C[01]|F[5-9A-F])>$/i.test(piece) && !piece.includes('\0')) this.printable[id >> 5]! |= 1 << (id & 31);
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      if (byte) this.byteTokens[parseInt(byte[1]!, 16)] = id;
    });
    // The engine needs a non-empty stop list even where the caller has none: a special id stands
    // in (the `possible` mask keeps it out of every mask).
    this.standInStop = Math.max(0, encoded.indexOf(''));
    this.compiler = xg.TokenizerInfo.createTokenizerInfo(encoded, 'byte_fallback', false, size, [this.standInStop])
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
    const stops = stopTokens.length > 0 ? [...stopTokens] : [this.standInStop];
    let m: XgMatcher;
    try {
      m = await xg.GrammarMatcher.createGrammarMatcher(compiled, stops, false, 0);
    } catch (e) {
      throw engineError('start a matcher', e);
    }
    // Which ids a mask may ever allow: printable tokens and the caller's stop tokens. The engine's
    // own treatment of empty (special) tokens is not relied on.
    const possible = Int32Array.from(this.printable);
    for (const id of stopTokens) if (id < this.size) possible[id >> 5]! |= 1 << (id & 31);
    return new EngineMatcher(m, possible, this.byteTokens, (id) => tokenBytes(this.vocab, id));
  }
}

/**
 * One generation's position in the grammar. The engine checks lead bytes but not which
 * continuation bytes may follow them (it would take F4 BF, beyond U+10FFFF, or ED A0, a
 * surrogate), so the UTF-8 state of the output is tracked here and, inside a character, only the
 * byte tokens that keep it valid UTF-8 are allowed.
 */
export class EngineMatcher {
  private disposed = false;
  /** Continuation bytes still due for the current character. */
  private due = 0;
  /** Allowed range of the next continuation byte. */
  private nextLo = 0x80;
  private nextHi = 0xbf;

  constructor(
    private readonly m: XgMatcher,
    /** Bit set of the ids a mask may allow at all. */
    private readonly possible: Int32Array,
    private readonly byteTokens: Int32Array,
    private readonly bytesOf: (id: number) => Uint8Array,
  ) {}

  /** The allowed next tokens: bit (id & 31) of word (id >> 5). */
  async allowed(): Promise<Int32Array> {
    const engine = await this.m.getNextTokenBitmask();
    const bits = new Int32Array(this.possible.length);
    if (this.due > 0) {
      for (let b = this.nextLo; b <= this.nextHi; b++) {
        const id = this.byteTokens[b]!;
        if (id >= 0) bits[id >> 5]! |= 1 << (id & 31);
      }
      for (let w = 0; w < bits.length; w++) bits[w]! &= engine[w]! & this.possible[w]!;
      return bits;
    }
    for (let w = 0; w < bits.length; w++) bits[w] = engine[w]! & this.possible[w]!;
    return bits;
  }

  /** Advances past `token`; false (and no change) when the grammar does not allow it. */
  accept(token: number): boolean {
    if (!this.m.acceptToken(token)) return false;
    for (const b of this.bytesOf(token)) this.step(b);
    return true;
  }

  /** The UTF-8 decoder state after byte b (RFC 3629 table of well-formed sequences). */
  private step(b: number): void {
    if (this.due > 0) {
      this.due--;
      [this.nextLo, this.nextHi] = [0x80, 0xbf];
      return;
    }
    if (b < 0xc0) return;
    this.due = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
    [this.nextLo, this.nextHi] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
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
