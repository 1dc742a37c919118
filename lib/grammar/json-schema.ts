/**
 * A JSON Schema (draft 2020-12 subset) compiled into the grammar tree, so the constrained output
 * always parses with JSON.parse and validates against the schema. The output is compact JSON
 * with Python's json.dumps separators (", " and ": "), properties in the order `properties` lists
 * them. Where the schema allows more than the grammar produces (extra properties, exponents,
 * more than 16 digits) the grammar generates a valid subset; a keyword outside the supported
 * subset is rejected with a GrammarError naming it, never ignored. See SUPPORTED_KEYWORDS.
 */
import { alt, charClass, cls, lit, optional, ref, repeat, seq, type Expr, type Grammar } from './ast';
import { GrammarError } from '../errors';
import { integerRange, MAX_DIGITS, numberRange } from './numbers';
import { jsonCharSet, patternToExpr } from './regex';

/** Keywords that only annotate (no effect on validity). */
const ANNOTATIONS = ['$schema', '$id', '$anchor', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions'];

/** Every keyword the compiler understands, by what it applies to. */
export const SUPPORTED_KEYWORDS = {
  annotations: ANNOTATIONS,
  any: ['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref'],
  object: ['properties', 'required', 'additionalProperties', 'unevaluatedProperties'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems'],
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
} as const;

/** `format` values the compiler can generate. */
export const SUPPORTED_FORMATS = ['date', 'time', 'date-time', 'uuid', 'email', 'ipv4'] as const;

const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type JsonType = (typeof TYPES)[number];

const KNOWN = new Set<string>(Object.values(SUPPORTED_KEYWORDS).flat());
const BY_TYPE: Record<string, readonly string[]> = {
  object: SUPPORTED_KEYWORDS.object,
  array: SUPPORTED_KEYWORDS.array,
  string: SUPPORTED_KEYWORDS.string,
  number: SUPPORTED_KEYWORDS.number,
  integer: SUPPORTED_KEYWORDS.number,
};

type Schema = Record<string, unknown>;

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON-pointer escaping of one path segment. */
const seg = (s: string | number) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');

const SEP = ', ';
const COLON = ': ';

/** One character of JSON string content: anything but ", \ and controls, or a short escape. */
const STRING_CHAR = alt(cls([[0x00, 0x1f], [0x22, 0x22], [0x5c, 0x5c]], true), seq(lit('\\'), charClass('"\\/bfnrt')));

const two = (a: string, b: string) => seq(charClass(a), charClass(b));
const DATE = seq(
  repeat(charClass('0-9'), 4, 4),
  lit('-'),
  alt(
    seq(alt(lit('01'), lit('03'), lit('05'), lit('07'), lit('08'), lit('10'), lit('12')), lit('-'), alt(seq(lit('0'), charClass('1-9')), two('12', '0-9'), seq(lit('3'), charClass('01')))),
    seq(alt(lit('04'), lit('06'), lit('09'), lit('11')), lit('-'), alt(seq(lit('0'), charClass('1-9')), two('12', '0-9'), lit('30'))),
    // February up to the 28th: the 29th would need the year's leap rule.
    seq(lit('02-'), alt(seq(lit('0'), charClass('1-9')), seq(lit('1'), charClass('0-9')), seq(lit('2'), charClass('0-8')))),
  ),
);
const TIME = seq(alt(two('01', '0-9'), seq(lit('2'), charClass('0-3'))), lit(':'), two('0-5', '0-9'), lit(':'), two('0-5', '0-9'), optional(seq(lit('.'), repeat(charClass('0-9'), 1, 6))), lit('Z'));
const HEX = charClass('0-9a-f');
const UUID = seq(repeat(HEX, 8, 8), lit('-'), repeat(HEX, 4, 4), lit('-'), repeat(HEX, 4, 4), lit('-'), repeat(HEX, 4, 4), lit('-'), repeat(HEX, 12, 12));
const ATEXT = charClass("a-zA-Z0-9!#$%&'*+/=?^_`{|}~-");
// No length limits on the parts: ajv-formats does not check them, and every bounded repetition
// costs the engine one state (compiled against the whole vocabulary).
const LABEL = seq(charClass('a-zA-Z0-9'), optional(seq(repeat(charClass('a-zA-Z0-9-'), 0, Infinity), charClass('a-zA-Z0-9'))));
const EMAIL = seq(repeat(ATEXT, 1, Infinity), repeat(seq(lit('.'), repeat(ATEXT, 1, Infinity)), 0, Infinity), lit('@'), LABEL, repeat(seq(lit('.'), LABEL), 1, Infinity));
const OCTET = alt(seq(lit('25'), charClass('0-5')), seq(lit('2'), charClass('0-4'), charClass('0-9')), seq(lit('1'), charClass('0-9'), charClass('0-9')), seq(charClass('1-9'), charClass('0-9')), charClass('0-9'));
const IPV4 = seq(OCTET, lit('.'), OCTET, lit('.'), OCTET, lit('.'), OCTET);
const FORMATS: Record<(typeof SUPPORTED_FORMATS)[number], Expr> = { date: DATE, time: TIME, 'date-time': seq(DATE, lit('T'), TIME), uuid: UUID, email: EMAIL, ipv4: IPV4 };

class SchemaCompiler {
  readonly rules = new Map<string, Expr>();
  private readonly refRules = new Map<string, string>();
  private ruleCount = 0;

  constructor(private readonly rootSchema: unknown) {}

  private unsupported(path: string, keyword: string, why = 'is not supported'): never {
    throw new GrammarError(`JSON schema ${path}: keyword "${keyword}" ${why}`, 'ERR_RG_SCHEMA_UNSUPPORTED', { location: path, keyword });
  }

  private invalid(path: string, message: string, keyword?: string): never {
    throw new GrammarError(`JSON schema ${path}: ${message}`, 'ERR_RG_SCHEMA_INVALID', { location: path, keyword });
  }

  private newRule(hint: string, body?: Expr): string {
    const name = `${hint.replace(/[^A-Za-z0-9]/g, '') || 'r'}_${this.ruleCount++}`;
    if (body) this.rules.set(name, body);
    return name;
  }

  /**
   * A non-trivial expression as a rule of its own. The engine compiles each grammar position
   * against the whole vocabulary, so a value repeated in several places (array items, `{0,n}`
   * tails) is compiled once when it is a rule and once per copy when it is inlined.
   */
  private shared(hint: string, e: Expr): Expr {
    return e.kind === 'ref' || e.kind === 'literal' ? e : ref(this.newRule(hint, e));
  }

  /** The shared rule for any JSON value (schema `true` or `{}`). */
  private anyValue(): Expr {
    if (!this.rules.has('value')) {
      const value = ref('value');
      const str = seq(lit('"'), repeat(STRING_CHAR, 0, Infinity), lit('"'));
      this.rules.set('string', str);
      this.rules.set('value', alt(
        seq(lit('{'), optional(seq(ref('string'), lit(COLON), value, repeat(seq(lit(SEP), ref('string'), lit(COLON), value), 0, Infinity))), lit('}')),
        seq(lit('['), optional(seq(value, repeat(seq(lit(SEP), value), 0, Infinity))), lit(']')),
        ref('string'),
        numberRange(undefined, false, undefined, false)!,
        lit('true'), lit('false'), lit('null'),
      ));
    }
    return ref('value');
  }

  compile(schema: unknown, path: string): Expr {
    if (schema === true) return this.anyValue();
    if (schema === false) this.invalid(path, 'schema false allows no value');
    if (!isObject(schema)) this.invalid(path, `a schema must be an object or a boolean, got ${JSON.stringify(schema)}`);
    for (const k of Object.keys(schema)) if (!KNOWN.has(k)) this.unsupported(path, k);
    const keys = Object.keys(schema).filter((k) => !ANNOTATIONS.includes(k));

    if (schema.$ref !== undefined) {
      const others = keys.filter((k) => k !== '$ref');
      if (others.length > 0) this.unsupported(path, others[0]!, 'next to "$ref" is not supported (put the constraints in the referenced schema)');
      return this.reference(schema.$ref, path);
    }
    for (const combiner of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (schema[combiner] === undefined) continue;
      const others = keys.filter((k) => k !== combiner);
      if (others.length > 0) this.unsupported(path, others[0]!, `next to "${combiner}" is not supported (move it into each branch)`);
      const branches = schema[combiner];
      if (!Array.isArray(branches) || branches.length === 0) this.invalid(path, `"${combiner}" must be a non-empty array of schemas`, combiner);
      if (combiner === 'allOf') {
        if (branches.length > 1) this.unsupported(`${path}/allOf`, 'allOf', 'with more than one schema is not supported');
        return this.compile(branches[0], `${path}/allOf/0`);
      }
      // oneOf is generated like anyOf: the branches of a schema meant for generation are
      // normally disjoint (different types, consts or required keys); see docs.
      return alt(...branches.map((b, i) => this.compile(b, `${path}/${combiner}/${i}`)));
    }

    const types = this.types(schema, path);
    if (schema.const !== undefined || schema.enum !== undefined) return this.enumeration(schema, types, keys, path);
    if (types === undefined) {
      const typed = keys.filter((k) => k !== 'type');
      if (typed.length === 0) return this.anyValue();
      const kinds = new Set(typed.map((k) => Object.keys(BY_TYPE).find((t) => BY_TYPE[t]!.includes(k))));
      if (kinds.size > 1) this.invalid(path, `keywords ${typed.join(', ')} apply to different types; add "type"`, 'type');
      return this.typed(schema, [...kinds][0] as JsonType, path);
    }
    return alt(...types.map((t) => this.typed(schema, t, path)));
  }

  private types(schema: Schema, path: string): JsonType[] | undefined {
    const t = schema.type;
    if (t === undefined) return undefined;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0) this.invalid(path, '"type" must not be an empty list', 'type');
    for (const x of list) if (!TYPES.includes(x as JsonType)) this.invalid(path, `unknown type ${JSON.stringify(x)} (one of ${TYPES.join(', ')})`, 'type');
    // "integer" is inside "number": generating both would only duplicate integers.
    return (list as JsonType[]).filter((x, i, all) => all.indexOf(x) === i && !(x === 'integer' && all.includes('number')));
  }

  private reference(target: unknown, path: string): Expr {
    if (typeof target !== 'string' || !target.startsWith('#')) this.unsupported(path, '$ref', `${JSON.stringify(target)} is not supported (only local references "#/$defs/...")`);
    let name = this.refRules.get(target);
    if (name === undefined) {
      let node: unknown = this.rootSchema;
      const parts = target === '#' ? [] : target.slice(target.startsWith('#/') ? 2 : 1).split('/');
      for (const raw of parts) {
        const p = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        if (!isObject(node) || !(p in node)) this.invalid(path, `"$ref": ${target} does not resolve`, '$ref');
        node = node[p];
      }
      name = this.newRule(parts[parts.length - 1] ?? 'root');
      this.refRules.set(target, name); // before compiling: recursive schemas refer back to it
      this.rules.set(name, this.compile(node, target));
    }
    return ref(name);
  }

  private enumeration(schema: Schema, types: JsonType[] | undefined, keys: string[], path: string): Expr {
    const others = keys.filter((k) => k !== 'enum' && k !== 'const' && k !== 'type');
    if (others.length > 0) this.unsupported(path, others[0]!, 'next to "enum" / "const" is not supported');
    let values: unknown[];
    if (schema.const !== undefined) values = [schema.const];
    else {
      if (!Array.isArray(schema.enum) || schema.enum.length === 0) this.invalid(path, '"enum" must be a non-empty array', 'enum');
      values = schema.enum;
    }
    if (schema.const !== undefined && schema.enum !== undefined) values = (schema.enum as unknown[]).filter((v) => JSON.stringify(v) === JSON.stringify(schema.const));
    const typeOf = (v: unknown): JsonType[] =>
      v === null ? ['null'] : Array.isArray(v) ? ['array'] : typeof v === 'number' ? (Number.isInteger(v) ? ['integer', 'number'] : ['number']) : [typeof v as JsonType];
    if (types) values = values.filter((v) => typeOf(v).some((t) => types.includes(t) || (t === 'integer' && types.includes('number'))));
    if (values.length === 0) this.invalid(path, 'no value of "enum" / "const" has the allowed "type"', 'enum');
    return alt(...values.map((v) => lit(JSON.stringify(v))));
  }

  private typed(schema: Schema, type: JsonType, path: string): Expr {
    switch (type) {
      case 'null': return lit('null');
      case 'boolean': return alt(lit('true'), lit('false'));
      case 'integer':
      case 'number': return this.number(schema, type, path);
      case 'string': return this.string(schema, path);
      case 'array': return this.array(schema, path);
      case 'object': return this.object(schema, path);
    }
  }

  private bound(schema: Schema, keyword: string, path: string): number | undefined {
    const v = schema[keyword];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.invalid(path, `"${keyword}" must be a number`, keyword);
    return v;
  }

  private number(schema: Schema, type: 'integer' | 'number', path: string): Expr {
    const min = this.bound(schema, 'minimum', path);
    const xmin = this.bound(schema, 'exclusiveMinimum', path);
    const max = this.bound(schema, 'maximum', path);
    const xmax = this.bound(schema, 'exclusiveMaximum', path);
    const limit = 10 ** MAX_DIGITS;
    for (const [k, v] of [['minimum', min], ['exclusiveMinimum', xmin], ['maximum', max], ['exclusiveMaximum', xmax]] as const)
      if (v !== undefined && Math.abs(v) >= limit) this.unsupported(path, k, `value ${v} is beyond the supported ±1e${MAX_DIGITS}`);
    let range: Expr | undefined;
    if (type === 'integer') {
      // The tightest integer bounds: x >= m means x >= ceil(m); x > m means x >= floor(m) + 1.
      const los = [min !== undefined ? Math.ceil(min) : undefined, xmin !== undefined ? Math.floor(xmin) + 1 : undefined].filter((x): x is number => x !== undefined);
      const his = [max !== undefined ? Math.floor(max) : undefined, xmax !== undefined ? Math.ceil(xmax) - 1 : undefined].filter((x): x is number => x !== undefined);
      range = integerRange(los.length ? BigInt(Math.max(...los)) : undefined, his.length ? BigInt(Math.min(...his)) : undefined);
    } else {
      for (const [k, v] of [['minimum', min], ['exclusiveMinimum', xmin], ['maximum', max], ['exclusiveMaximum', xmax]] as const)
        if (v !== undefined && !Number.isInteger(v)) this.unsupported(path, k, `with a fractional value (${v}) on type "number" is not supported; use whole-number bounds`);
      // With both an inclusive and an exclusive bound on one side, the tighter one wins.
      let lo: number | undefined;
      let loX = false;
      if (min !== undefined) lo = min;
      if (xmin !== undefined && (lo === undefined || xmin >= lo)) [lo, loX] = [xmin, true];
      let hi: number | undefined;
      let hiX = false;
      if (max !== undefined) hi = max;
      if (xmax !== undefined && (hi === undefined || xmax <= hi)) [hi, hiX] = [xmax, true];
      range = numberRange(lo === undefined ? undefined : BigInt(lo), loX, hi === undefined ? undefined : BigInt(hi), hiX);
    }
    if (range === undefined) this.invalid(path, `no ${type} satisfies the bounds`, 'minimum');
    return range;
  }

  private length(schema: Schema, keyword: string, path: string): number | undefined {
    const v = schema[keyword];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.invalid(path, `"${keyword}" must be a non-negative integer`, keyword);
    return v;
  }

  private string(schema: Schema, path: string): Expr {
    const minLength = this.length(schema, 'minLength', path);
    const maxLength = this.length(schema, 'maxLength', path);
    const { pattern, format } = schema;
    const lengths = minLength !== undefined || maxLength !== undefined;
    const quoted = (e: Expr) => seq(lit('"'), e, lit('"'));
    if (pattern !== undefined) {
      if (typeof pattern !== 'string') this.invalid(path, '"pattern" must be a string', 'pattern');
      if (format !== undefined) this.unsupported(path, 'format', 'together with "pattern" is not supported');
      if (lengths) this.unsupported(path, minLength !== undefined ? 'minLength' : 'maxLength', 'together with "pattern" is not supported (put the length into the pattern)');
      return quoted(patternToExpr(pattern, `${path}/pattern`));
    }
    if (format !== undefined) {
      if (!(SUPPORTED_FORMATS as readonly unknown[]).includes(format)) this.unsupported(path, 'format', `${JSON.stringify(format)} is not supported (supported: ${SUPPORTED_FORMATS.join(', ')})`);
      if (lengths) this.unsupported(path, minLength !== undefined ? 'minLength' : 'maxLength', 'together with "format" is not supported');
      return quoted(FORMATS[format as keyof typeof FORMATS]);
    }
    const lo = minLength ?? 0;
    const hi = maxLength ?? Infinity;
    if (hi < lo) this.invalid(path, `maxLength ${hi} is below minLength ${lo}`, 'maxLength');
    return quoted(repeat(STRING_CHAR, lo, hi));
  }

  private array(schema: Schema, path: string): Expr {
    if (schema.uniqueItems !== undefined && schema.uniqueItems !== false) this.unsupported(path, 'uniqueItems');
    const prefix = schema.prefixItems ?? [];
    if (!Array.isArray(prefix)) this.invalid(path, '"prefixItems" must be an array of schemas', 'prefixItems');
    const minItems = this.length(schema, 'minItems', path) ?? 0;
    let maxItems = this.length(schema, 'maxItems', path) ?? Infinity;
    const elements = prefix.map((s, i) => this.compile(s, `${path}/prefixItems/${i}`));
    // After the prefix: `items` (absent = any value; false = nothing more).
    const rest = schema.items === false ? undefined : this.shared('item', this.compile(schema.items ?? true, `${path}/items`));
    if (rest === undefined) maxItems = Math.min(maxItems, elements.length);
    if (maxItems < minItems) this.invalid(path, `no array fits: at most ${maxItems} items but minItems is ${minItems}`, 'minItems');
    const at = (j: number) => (j < elements.length ? elements[j]! : rest!);
    // tail(j): the optional items from position j on, each preceded by a separator.
    const tail = (j: number): Expr => {
      if (j >= maxItems) return lit('');
      if (j >= elements.length) {
        const more = maxItems - j;
        return repeat(seq(lit(SEP), rest!), 0, more);
      }
      return optional(seq(lit(SEP), at(j), tail(j + 1)));
    };
    if (maxItems === 0) return lit('[]');
    let body: Expr;
    if (minItems === 0) body = optional(seq(at(0), tail(1)));
    else {
      const required: Expr[] = [at(0)];
      for (let j = 1; j < minItems; j++) required.push(lit(SEP), at(j));
      body = seq(...required, tail(minItems));
    }
    return seq(lit('['), body, lit(']'));
  }

  private object(schema: Schema, path: string): Expr {
    const props = schema.properties ?? {};
    if (!isObject(props)) this.invalid(path, '"properties" must be an object', 'properties');
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) this.invalid(path, '"required" must be an array of strings', 'required');
    if (schema.unevaluatedProperties !== undefined && schema.unevaluatedProperties !== false) this.unsupported(path, 'unevaluatedProperties', 'is only supported as false');
    const extra = schema.additionalProperties;
    const names = Object.keys(props);
    for (const r of required as string[]) if (!names.includes(r)) names.push(r); // required but undescribed: any value
    if (extra !== undefined && typeof extra !== 'boolean') {
      // A map: keys free, values by the schema. With named properties too, a generated key could
      // repeat a named one and the value would be checked against both.
      if (names.length > 0) this.unsupported(path, 'additionalProperties', 'as a schema next to "properties" / "required" is not supported');
      const value = this.compile(extra, `${path}/additionalProperties`);
      const key = seq(lit('"'), repeat(STRING_CHAR, 0, Infinity), lit('"'));
      const pair = seq(key, lit(COLON), value);
      return seq(lit('{'), optional(seq(pair, repeat(seq(lit(SEP), pair), 0, Infinity))), lit('}'));
    }
    // additionalProperties true or absent allows extra keys; only the described ones are generated.
    const isRequired = names.map((n) => (required as string[]).includes(n));
    const kv = names.map((n) => seq(lit(JSON.stringify(n) + COLON), this.shared('value', this.compile(n in props ? props[n] : true, `${path}/properties/${seg(n)}`))));
    // after(i): properties i.. when one has been written (each needs a separator);
    // first(i): properties i.. when none has been written yet.
    const after: Expr[] = [];
    const first: Expr[] = [];
    after[names.length] = lit('');
    first[names.length] = lit('');
    for (let i = names.length - 1; i >= 0; i--) {
      const nextAfter = i + 1 < names.length ? ref(this.newRule('after', after[i + 1])) : after[i + 1]!;
      after[i] = isRequired[i] ? seq(lit(SEP), kv[i]!, nextAfter) : seq(optional(seq(lit(SEP), kv[i]!)), nextAfter);
      first[i] = isRequired[i] ? seq(kv[i]!, nextAfter) : alt(seq(kv[i]!, nextAfter), first[i + 1]!);
    }
    return seq(lit('{'), first[0]!, lit('}'));
  }
}

/**
 * Compiles a JSON schema into a grammar whose sentences are exactly JSON texts (compact, ", " and
 * ": " separators) that validate against it. Throws GrammarError: ERR_RG_SCHEMA_UNSUPPORTED
 * naming the keyword and its JSON pointer, or ERR_RG_SCHEMA_INVALID for a malformed or
 * unsatisfiable schema.
 */
export function compileJsonSchema(schema: unknown): Grammar {
  if (!isObject(schema) && typeof schema !== 'boolean') throw new GrammarError('jsonSchema must be a JSON schema object', 'ERR_RG_SCHEMA_INVALID', { location: '#' });
  const c = new SchemaCompiler(schema);
  const root = c.compile(schema, '#');
  c.rules.set('root', root);
  return { rules: c.rules, root: 'root' };
}
