/**
 * The token mask is exact: on a small byte-fallback vocabulary (single bytes as <0xNN>, pieces
 * with ▁, multi-byte characters, pieces that span several grammar symbols), at every step of
 * many random walks the engine's mask equals brute force — every token tried against an
 * independent recogniser (test/helpers/grammar-recogniser.ts) — and stop tokens are allowed
 * exactly where the text so far is a whole sentence.
 */
import { applyTokenMask, compileConstraint, engineVocabulary, TokenConstraint, tokenBytes, type ConstraintSpec, type TokenVocabulary } from '../lib/grammar';
import { Recogniser } from './helpers/grammar-recogniser';
import { rng } from '../lib/synth';

const SPECIAL = ['<pad>', '<eos>', '<bos>'];
const EOS = 1;
const WALKS = Number(process.env.WALKS ?? 8);
const PIECES = [
  ...SPECIAL,
  ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`),
  '{"', '":', '", "', '"}', '},', '{', '}', '[', ']', '[1', '1,', ', ', ': ', '":▁', '▁"', 'true', 'false', 'null', 'nu', 'll',
  '▁', '▁▁', '▁a', 'a', 'ab', 'abc', 'b', 'c', 'x', 'y', 'yz', 'xy', 'ax', 'ba', 'cab', '0', '1', '12', '123', '-', '-1', '.', '.5', '5', '9', '99', '2024', '-0',
  'é', 'éa', 'aé', '€', 'ñ', '😀', 'a😀', '\n', '\t', '"', '\\', '\\"', '\\n', 'Z', 'T', '@', '.com', 'x@', 'AB', 'AB-', '-12', 'k', '": "', '"a', 'a"',
];
const vocab: TokenVocabulary = { pieces: PIECES, specialIds: new Set([0, 1, 2]) };
const engine = engineVocabulary({}, () => vocab, PIECES.length);

/**
 * Every id the brute force allows: non-special tokens the recogniser can still continue with
 * (except NUL, which is never generated), and EOS where the text is complete.
 */
function bruteForce(state: Recogniser): Set<number> {
  const allowed = new Set<number>();
  for (let id = 0; id < PIECES.length; id++) {
    if (vocab.specialIds.has(id)) {
      if (id === EOS && state.accepts) allowed.add(id);
      continue;
    }
    const bytes = tokenBytes(vocab, id);
    if (bytes.includes(0)) continue; // NUL is never generated (docs/structured-output.md)
    if (state.feed(bytes) !== undefined) allowed.add(id);
  }
  return allowed;
}

function maskIds(mask: Int32Array): Set<number> {
  const ids = new Set<number>();
  for (let id = 0; id < PIECES.length; id++) if ((mask[id >> 5]! >>> (id & 31)) & 1) ids.add(id);
  return ids;
}

const name = (ids: Iterable<number>) => [...ids].map((i) => JSON.stringify(PIECES[i])).sort().join(' ');


const CASES: Array<[string, ConstraintSpec]> = [
  ['letters with bounds', { grammar: 'root ::= ("a" | "b" "c"?){2,5} "x"?' }],
  ['classes, negation, escapes', { grammar: 'root ::= [a-c]+ "-" [^a-z\\x00-\\x1F"\\\\]{1,3} "\\n"?' }],
  ['multi-byte characters', { grammar: 'root ::= ("é" | "€" | [\\u00F1-\\u00F3] | "\\U0001F600")+ "a"' }],
  ['any character', { grammar: 'root ::= "a" . . "b"?  # any two characters' }],
  ['grouped alternatives', { grammar: 'root ::= item ("," space item)*\nitem ::= ( "true" | "false" | "null" | num )\nnum ::= "-"? [0-9]+ ("." [0-9]+)?\nspace ::= " "?' }],
  ['JSON object with optional properties', { jsonSchema: { type: 'object', properties: { a: { type: 'integer', minimum: -1, maximum: 12 }, b: { type: 'string', maxLength: 3 }, c: { type: 'boolean' } }, required: ['b'] } }],
  ['JSON array with bounds', { jsonSchema: { type: 'array', items: { enum: [1, 'ab', null] }, minItems: 1, maxItems: 3 } }],
  ['JSON date and pattern', { jsonSchema: { type: 'array', prefixItems: [{ type: 'string', format: 'date' }, { type: 'string', pattern: '^[A-Z]{2}-\\d+$' }], items: false, minItems: 2 } }],
  ['JSON number bounds', { jsonSchema: { type: 'number', minimum: -2, exclusiveMaximum: 13 } }],
];

describe('the token mask equals brute force over the vocabulary', () => {
  test.each(CASES)('%s', async (_label, spec) => {
    const compiled = compileConstraint(spec);
    const random = rng(12345);
    let steps = 0;
    for (let walk = 0; walk < WALKS; walk++) {
      const constraint = await TokenConstraint.start(compiled, engine, [EOS]);
      let state = Recogniser.of(compiled.grammar);
      try {
        for (let step = 0; step < 24; step++) {
          const mask = await constraint.allowed();
          const expected = bruteForce(state);
          const got = maskIds(mask);
          if (name(got) !== name(expected)) throw new Error(`walk ${walk} step ${step}: mask ${name(got)}\n  expected ${name(expected)}`);
          expect(got.size).toBeGreaterThan(0);
          steps++;
          // Walk on through a random allowed token (ending only sometimes, to reach deep states).
          const ids = [...got].filter((i) => i !== EOS);
          if (ids.length === 0 || (got.has(EOS) && random() < 0.15)) break;
          const id = ids[Math.floor(random() * ids.length)]!;
          const done = await constraint.accept(id);
          state = state.feed(tokenBytes(vocab, id))!;
          // Complete exactly when nothing but EOS can follow.
          expect(done).toBe(!state.canContinue);
          if (done) break;
        }
      } finally {
        constraint.dispose();
      }
    }
    expect(steps).toBeGreaterThan(WALKS);
  });
});

describe('applyTokenMask', () => {
  test('sets exactly the masked-out ids (and ids past the mask) to -Infinity', () => {
    const logits = Float32Array.from({ length: 70 }, (_, i) => i);
    const mask = new Int32Array(2);
    mask[0] = 0b1011 | (1 << 31);
    mask[1] = -1;
    applyTokenMask(logits, mask);
    const kept = [...logits.keys()].filter((i) => logits[i] !== -Infinity);
    expect(kept).toEqual([0, 1, 3, 31, ...Array.from({ length: 32 }, (_, i) => 32 + i)]);
  });
});
