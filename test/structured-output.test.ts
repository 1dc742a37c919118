/**
 * Constrained generation on the demo model (trained on Python, so only the constraint makes it
 * write JSON): 200 seeded temperature-1 generations over 12 JSON schemas, each output checked
 * with ajv (an independent validator), and 90 over 6 GBNF grammars, each output checked by a
 * hand-written regular expression and by the derivative recogniser; plus the API surfaces
 * (complete, generateBatch, ChatSession) and option errors.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { GrammarError, InvalidArgumentError, parseGbnf, RecurrentGemma, type BatchRequest } from '../lib';
import { recognises } from './helpers/grammar-recogniser';

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load();
});
afterAll(() => model.dispose());

/** Schemas whose values have a bounded length, so every generation completes within maxTokens. */
const SCHEMAS: Record<string, object> = {
  person: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 120 }, nickname: { type: 'string', maxLength: 6 } },
    required: ['name', 'age'],
    additionalProperties: false,
  },
  nested: {
    type: 'object',
    properties: {
      user: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 } }, required: ['id', 'tags'] },
      active: { type: 'boolean' },
    },
    required: ['user', 'active'],
  },
  boundedArray: { type: 'array', items: { type: 'integer', minimum: -5, maximum: 5 }, minItems: 2, maxItems: 4 },
  enums: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, size: { enum: [1, 2, 3, null] } }, required: ['color', 'size'] },
  anyOf: { type: 'object', properties: { value: { anyOf: [{ type: 'integer', minimum: 0, maximum: 99 }, { type: 'string', maxLength: 5 }, { type: 'null' }] } }, required: ['value'] },
  refs: {
    $defs: { point: { type: 'object', properties: { x: { type: 'integer', minimum: 0, maximum: 9 }, y: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['x', 'y'], additionalProperties: false } },
    type: 'object',
    properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } },
    required: ['from', 'to'],
  },
  formats: { type: 'object', properties: { day: { type: 'string', format: 'date' }, at: { type: 'string', format: 'date-time' }, host: { type: 'string', format: 'ipv4' } }, required: ['day', 'at', 'host'] },
  tuple: { type: 'array', prefixItems: [{ type: 'string', maxLength: 4 }, { type: 'number', minimum: -10, maximum: 10 }, { type: 'boolean' }], items: false, minItems: 3 },
  oneOf: {
    oneOf: [
      { type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['kind', 'r'], additionalProperties: false },
      { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['kind', 'side'], additionalProperties: false },
    ],
  },
  pattern: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{2}$' }, note: { type: ['string', 'null'], maxLength: 8 } }, required: ['code', 'note'] },
  numbers: { type: 'object', properties: { price: { type: 'number', minimum: 0, exclusiveMaximum: 100 }, delta: { type: 'number', minimum: -3, maximum: 3 } }, required: ['price', 'delta'] },
  typeList: { type: 'array', items: { type: ['integer', 'boolean', 'null'], minimum: 10, maximum: 20 }, maxItems: 3 },
};

/** GBNF grammars with a hand-written regular expression for the same language. */
const GRAMMARS: Array<{ name: string; gbnf: string; regex: RegExp }> = [
  { name: 'answer', gbnf: 'root ::= ("yes" | "no") ("," " " [a-z]{1,8})?', regex: /^(yes|no)(, [a-z]{1,8})?$/ },
  { name: 'csv row', gbnf: 'root ::= field ("," field){2}\nfield ::= [a-zA-Z0-9 ]{1,10}  # three fields', regex: /^[a-zA-Z0-9 ]{1,10}(,[a-zA-Z0-9 ]{1,10}){2}$/ },
  { name: 'arithmetic', gbnf: 'root ::= num (" " [-+*/] " " num){1,3}\nnum ::= "-"? [1-9] [0-9]{0,3}', regex: /^-?[1-9][0-9]{0,3}( [-+*/] -?[1-9][0-9]{0,3}){1,3}$/ },
  { name: 'assignments', gbnf: 'root ::= (key "=" value "\\n"){1,3}\nkey ::= [a-z_]{1,8}\nvalue ::= "\\"" [^"\\n\\\\]{0,12} "\\""', regex: /^([a-z_]{1,8}="[^"\n\\]{0,12}"\n){1,3}$/u },
  { name: 'timestamp', gbnf: 'root ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) ( "T" [0-2] [0-9] ":" [0-5] [0-9] )?', regex: /^[0-9]{4}-(0[1-9]|1[0-2])(T[0-2][0-9]:[0-5][0-9])?$/ },
  { name: 'unicode', gbnf: 'root ::= ( "é" | "ü" | [a-c] | . ){1,6} "!"', regex: /^(é|ü|[a-c]|[^\n\r]|\n|\r){1,6}!$/u },
];

const schemaNames = Object.keys(SCHEMAS);
const SCHEMA_RUNS = 200;
const GRAMMAR_RUNS = 90;

describe('JSON-schema constrained generation on the demo model', () => {
  test(`${SCHEMA_RUNS} seeded generations at temperature 1 over ${schemaNames.length} schemas all parse and validate with ajv`, async () => {
    const requests: BatchRequest[] = Array.from({ length: SCHEMA_RUNS }, (_, i) => ({
      prompt: 'def parse(data):\n    return ',
      options: { jsonSchema: SCHEMAS[schemaNames[i % schemaNames.length]!]!, seed: 1000 + i },
    }));
    const results = await model.generateBatch(requests, { temperature: 1, topK: 0, topP: 1, maxTokens: 160 });
    const failures: string[] = [];
    results.forEach((r, i) => {
      const name = schemaNames[i % schemaNames.length]!;
      const validate = ajv.getSchema(name) ?? (ajv.addSchema(SCHEMAS[name]!, name), ajv.getSchema(name)!);
      let value: unknown;
      try {
        value = JSON.parse(r.text);
      } catch (e) {
        failures.push(`${name} seed ${1000 + i}: not JSON (${(e as Error).message}): ${JSON.stringify(r.text)}`);
        return;
      }
      if (!validate(value)) failures.push(`${name} seed ${1000 + i}: ${ajv.errorsText(validate.errors)}: ${r.text}`);
      if (r.finishReason !== 'stop') failures.push(`${name} seed ${1000 + i}: finished by ${r.finishReason}`);
    });
    expect(failures).toEqual([]);
    // The constraint, not luck: the outputs vary across seeds.
    expect(new Set(results.map((r) => r.text)).size).toBeGreaterThan(SCHEMA_RUNS / 2);
  });
});

describe('GBNF constrained generation on the demo model', () => {
  test(`${GRAMMAR_RUNS} seeded generations over ${GRAMMARS.length} grammars all match an independent matcher`, async () => {
    const requests: BatchRequest[] = Array.from({ length: GRAMMAR_RUNS }, (_, i) => ({
      prompt: 'import os\n',
      options: { grammar: GRAMMARS[i % GRAMMARS.length]!.gbnf, seed: 2000 + i },
    }));
    const results = await model.generateBatch(requests, { temperature: 1, topK: 0, topP: 1, maxTokens: 96 });
    const failures: string[] = [];
    results.forEach((r, i) => {
      const g = GRAMMARS[i % GRAMMARS.length]!;
      if (!g.regex.test(r.text)) failures.push(`${g.name} seed ${2000 + i}: regex rejects ${JSON.stringify(r.text)}`);
      if (!recognises(parseGbnf(g.gbnf), r.text)) failures.push(`${g.name} seed ${2000 + i}: recogniser rejects ${JSON.stringify(r.text)}`);
      if (r.finishReason !== 'stop') failures.push(`${g.name} seed ${2000 + i}: finished by ${r.finishReason}`);
    });
    expect(failures).toEqual([]);
  });
});

describe('constraints through every API surface', () => {
  const schema = SCHEMAS.person!;

  test('complete() and generate() stop as soon as the value is complete, greedy included', async () => {
    const greedy = await model.complete('def f():', { jsonSchema: schema, temperature: 0, maxTokens: 100 });
    expect(ajv.validate(schema, JSON.parse(greedy.text))).toBe(true);
    expect(greedy.finishReason).toBe('stop');
    // The last token closes the object: no stop token was needed after it.
    expect(model.tokenizer!.decode([greedy.tokens[greedy.tokens.length - 1]!])).toMatch(/}$/);
    const chunks: string[] = [];
    for await (const c of model.generate('x = ', { jsonSchema: schema, seed: 5, maxTokens: 100 })) chunks.push(c.text);
    expect(ajv.validate(schema, JSON.parse(chunks.join('')))).toBe(true);
  });

  test('ChatSession.prompt and promptStream take jsonSchema and grammar per turn', async () => {
    const session = model.createChatSession({ generation: { seed: 3, maxTokens: 100 } });
    const reply = await session.prompt('Give me a person', { jsonSchema: schema });
    expect(ajv.validate(schema, JSON.parse(reply.text))).toBe(true);
    let text = '';
    for await (const c of session.promptStream('yes or no?', { grammar: GRAMMARS[0]!.gbnf })) text += c.text;
    expect(text).toMatch(GRAMMARS[0]!.regex);
    session.dispose();
  });

  test('a shared schema in generateBatch options constrains every request', async () => {
    const results = await model.generateBatch(['a', 'b', 'c'], { jsonSchema: SCHEMAS.boundedArray!, seed: 9, maxTokens: 60 });
    for (const r of results) expect(ajv.validate(SCHEMAS.boundedArray!, JSON.parse(r.text))).toBe(true);
  });

  test('with ignoreEos the grammar alone ends generation', async () => {
    const r = await model.complete('q', { grammar: 'root ::= "ok" [0-9]?', ignoreEos: true, seed: 1, maxTokens: 50 });
    expect(r.text).toMatch(/^ok[0-9]?$/);
    expect(r.finishReason).toBe('stop');
  });

  test('bad options fail before any work with a typed error naming the problem', () => {
    expect(() => model.generate('x', { jsonSchema: schema, grammar: 'root ::= "a"' })).toThrow(InvalidArgumentError);
    expect(() => model.generate('x', { jsonSchema: 'nope' as unknown as object })).toThrow(/jsonSchema must be a JSON schema object/);
    expect(() => model.generate('x', { grammar: 42 as unknown as string })).toThrow(/grammar must be a string/);
    const unsupported = (() => {
      try {
        model.generate('x', { jsonSchema: { type: 'object', properties: { a: { type: 'string', contentEncoding: 'base64' } } } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(unsupported).toBeInstanceOf(GrammarError);
    expect(unsupported).toMatchObject({ code: 'ERR_RG_SCHEMA_UNSUPPORTED', keyword: 'contentEncoding', location: '#/properties/a' });
    expect(() => model.generate('x', { grammar: 'root ::= "a" (' })).toThrow(expect.objectContaining({ code: 'ERR_RG_GRAMMAR_SYNTAX', location: '1:15' }));
  });
});
