/**
 * The grammar front ends without a model: GBNF parsing (llama.cpp's syntax, errors with line and
 * column), printing round trips, the JSON-schema compiler's strictness (every unsupported keyword
 * rejected by name) and its number ranges, checked exhaustively against plain arithmetic through
 * the independent recogniser.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { compileJsonSchema, GrammarError, parseGbnf, printGrammar } from '../lib';
import { recognises } from './helpers/grammar-recogniser';

function errorOf(f: () => unknown): GrammarError {
  try {
    f();
  } catch (e) {
    if (e instanceof GrammarError) return e;
    throw e;
  }
  throw new Error('expected a GrammarError');
}

describe('GBNF', () => {
  test("llama.cpp's syntax: rules, alternation, grouping, repetition, classes, escapes, comments", () => {
    const g = parseGbnf(
      [
        '# a comment line',
        'root ::= greeting ( ", " name )? "!"{1,3}   # trailing comment',
        'greeting ::=',
        '  "hello" |',
        '  "hi"',
        'name ::= [A-Z] [a-z-]* | "\\u00e9\\x41\\t\\"\\\\"',
        'unused ::= "x"',
      ].join('\n'),
    );
    expect([...g.rules.keys()].sort()).toEqual(['greeting', 'name', 'root']); // unreachable rules dropped
    expect(recognises(g, 'hello, Bob!!')).toBe(true);
    expect(recognises(g, 'hi!')).toBe(true);
    expect(recognises(g, 'hi, éA\t"\\!')).toBe(true);
    expect(recognises(g, 'hi, Bo-b!')).toBe(true);
    expect(recognises(g, 'hi!!!!')).toBe(false);
    expect(recognises(g, 'hey!')).toBe(false);
  });

  test('negated classes, ranges, `.`, + * ? and {m} {m,} {m,n}', () => {
    const g = parseGbnf('root ::= [^a-c]+ "." . x* y? [0-9]{2} [x]{1,} [y]{0,2}\nx ::= "x"\ny ::= "y"');
    expect(recognises(g, 'zz.éxxy12xyy')).toBe(true);
    expect(recognises(g, 'za.b12x')).toBe(false);
    expect(recognises(g, 'd.q1x')).toBe(false);
  });

  test('printing is a fixed point of parsing (the canonical text parses to the same grammar)', () => {
    const text = 'root ::= a ("b" | [c-e]){2,4} [^"]* "\\n" .\na ::= "x"+ | "y"?';
    const once = printGrammar(parseGbnf(text));
    expect(printGrammar(parseGbnf(once))).toBe(once);
  });

  test.each([
    ['root ::= "a" (', 'ERR_RG_GRAMMAR_SYNTAX', '1:15'],
    ['root ::= "abc', 'ERR_RG_GRAMMAR_SYNTAX', '1:14'],
    ['root ::= [z-a]', 'ERR_RG_GRAMMAR_SYNTAX', '1:10'],
    ['root ::= "a"{3,1}', 'ERR_RG_GRAMMAR_SYNTAX', '1:13'],
    ['root ::= "\\q"', 'ERR_RG_GRAMMAR_SYNTAX', '1:11'],
    ['root ::= x\nx ::= y', 'ERR_RG_GRAMMAR_RULE', '2:7'],
    ['start ::= "a"', 'ERR_RG_GRAMMAR_RULE', '1:1'],
    ['root ::= "a"\nroot ::= "b"', 'ERR_RG_GRAMMAR_RULE', '2:1'],
    ['root ::= "a" x ::= "b"', 'ERR_RG_GRAMMAR_SYNTAX', '1:14'],
    ['root "a"', 'ERR_RG_GRAMMAR_SYNTAX', '1:6'],
    ['root ::= * "a"', 'ERR_RG_GRAMMAR_SYNTAX', '1:10'],
  ])('%j fails with %s at %s', (text, code, location) => {
    const e = errorOf(() => parseGbnf(text));
    expect(e.code).toBe(code);
    expect(e.location).toBe(location);
    expect(e.message).toContain(location);
  });

  test('a class whose non-ASCII part the engine cannot match exactly is refused when printed', () => {
    expect(errorOf(() => printGrammar(parseGbnf('root ::= [^é]'))).code).toBe('ERR_RG_GRAMMAR_UNSUPPORTED');
    expect(errorOf(() => printGrammar(parseGbnf('root ::= [\\u4E00-\\u9FFF]'))).code).toBe('ERR_RG_GRAMMAR_UNSUPPORTED');
    // Every non-ASCII character, or a short list of them, is fine.
    expect(() => printGrammar(parseGbnf('root ::= [^a] [é-ë] .'))).not.toThrow();
  });
});

describe('JSON schema compiler', () => {
  test.each([
    [{ type: 'object', minProperties: 1 }, 'minProperties', '#'],
    [{ type: 'object', properties: { a: { type: 'string', contentEncoding: 'base64' } } }, 'contentEncoding', '#/properties/a'],
    [{ type: 'array', items: { type: 'integer', multipleOf: 3 } }, 'multipleOf', '#/items'],
    [{ type: 'array', uniqueItems: true }, 'uniqueItems', '#'],
    [{ allOf: [{ type: 'string' }, { maxLength: 3 }] }, 'allOf', '#/allOf'],
    [{ type: 'string', format: 'hostname' }, 'format', '#'],
    [{ type: 'string', pattern: '^a', maxLength: 3 }, 'maxLength', '#'],
    [{ type: 'string', pattern: '(?=a)b' }, 'pattern', '#/pattern'],
    [{ type: 'string', pattern: '(a)\\1' }, 'pattern', '#/pattern'],
    [{ type: 'number', minimum: 0.5 }, 'minimum', '#'],
    [{ $ref: 'https://example.com/s.json' }, '$ref', '#'],
    [{ $ref: '#/$defs/a', type: 'string', $defs: { a: { type: 'string' } } }, 'type', '#'],
    [{ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }, 'additionalProperties', '#'],
    [{ if: { type: 'string' }, then: { maxLength: 2 } }, 'if', '#'],
    [{ type: 'object', patternProperties: { '^x': { type: 'string' } } }, 'patternProperties', '#'],
    [{ type: 'array', contains: { type: 'string' } }, 'contains', '#'],
    [{ not: { type: 'null' } }, 'not', '#'],
  ])('rejects %j naming %s at %s', (schema, keyword, location) => {
    const e = errorOf(() => compileJsonSchema(schema));
    expect(e.code).toBe('ERR_RG_SCHEMA_UNSUPPORTED');
    expect(e.keyword).toBe(keyword);
    expect(e.location).toBe(location);
    expect(e.message).toContain(`"${keyword}"`);
  });

  test.each([
    [{ type: 'integer', minimum: 5, maximum: 4 }],
    [{ type: 'array', items: false, prefixItems: [{ type: 'null' }], minItems: 2 }],
    [{ type: 'string', minLength: 4, maxLength: 2 }],
    [{ type: 'frob' }],
    [{ $ref: '#/$defs/missing' }],
    [{ enum: [] }],
    [{ type: 'string', enum: [1, 2] }],
    [false],
  ])('rejects the unsatisfiable or malformed schema %j', (schema) => {
    expect(errorOf(() => compileJsonSchema(schema)).code).toBe('ERR_RG_SCHEMA_INVALID');
  });

  test('integer bounds: exactly the integers in range are sentences (exhaustive over windows)', () => {
    const cases: Array<[number | undefined, number | undefined, number | undefined, number | undefined]> = [
      [0, 9, undefined, undefined],
      [-120, 7345, undefined, undefined],
      [undefined, undefined, -1, 1000],
      [37, undefined, undefined, undefined],
      [undefined, -15, undefined, undefined],
      [-999, -10, undefined, undefined],
      [1.5, 99.5, undefined, undefined],
    ];
    for (const [minimum, maximum, exclusiveMinimum, exclusiveMaximum] of cases) {
      const schema = { type: 'integer', minimum, maximum, exclusiveMinimum, exclusiveMaximum };
      const g = compileJsonSchema(JSON.parse(JSON.stringify(schema)));
      const inRange = (v: number) =>
        (minimum === undefined || v >= minimum) && (maximum === undefined || v <= maximum) && (exclusiveMinimum === undefined || v > exclusiveMinimum) && (exclusiveMaximum === undefined || v < exclusiveMaximum);
      for (let v = -1100; v <= 8000; v += v > -50 && v < 150 ? 1 : 7) expect([v, recognises(g, String(v))]).toEqual([v, inRange(v)]);
      for (const bad of ['-0', '007', '+5', '1e2', '', '-']) expect(recognises(g, bad)).toBe(false);
    }
  });

  test('number bounds: whole and fractional values inside the bounds, none outside', () => {
    const g = compileJsonSchema({ type: 'number', minimum: -3, exclusiveMaximum: 5 });
    for (let v = -600; v <= 800; v++) {
      const x = v / 100;
      expect([x, recognises(g, String(x))]).toEqual([x, x >= -3 && x < 5]);
    }
    expect(recognises(g, '4.99999')).toBe(true);
    expect(recognises(g, '5.0')).toBe(false);
    expect(recognises(g, '-3.0001')).toBe(false);
  });

  test('formats and patterns: sentences validate with ajv-formats / the pattern itself', () => {
    const ajv = new Ajv2020({ strict: true });
    addFormats(ajv);
    const date = compileJsonSchema({ type: 'string', format: 'date' });
    for (const d of ['2024-02-28', '1999-12-31', '0000-01-01', '2024-04-30']) expect(recognises(date, JSON.stringify(d))).toBe(ajv.validate({ type: 'string', format: 'date' }, d));
    for (const d of ['2024-02-30', '2024-04-31', '2024-13-01', '2024-1-01']) expect(recognises(date, JSON.stringify(d))).toBe(false);
    const pattern = compileJsonSchema({ type: 'string', pattern: 'ab+c' }); // unanchored: anywhere in the string
    for (const s of ['abc', 'xxabbbcyy', 'ac', 'a"bc', 'ab\\nc']) expect([s, recognises(pattern, JSON.stringify(s))]).toEqual([s, /ab+c/.test(s)]);
  });
});
