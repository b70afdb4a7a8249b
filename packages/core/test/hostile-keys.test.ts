import 'reflect-metadata';
import fc from 'fast-check';
import { ConfigurationError, KeyBuilder, Stockpyle, UnknownKeyError, getMetadata, type ClassMetadata, type KeyShape } from '@stockpyle/core';

// Hostile key values through KeyBuilder: every key must be one memcached accepts (at most 250 bytes
// of printable ASCII, no spaces or control characters), and no two different key values — of any
// class, key shape, type or prefix — may share a key. STOCKPYLE_KEY_RUNS sets the cases per
// property (default 100,000).

const RUNS = Number(process.env.STOCKPYLE_KEY_RUNS ?? 100_000);

@Stockpyle({ keys: ['a', ['a', 'b'], ['a', 'b', 'c']], name: 'hostile.Tuple' })
class Tuple {
  constructor(public a: unknown, public b: unknown = null, public c: unknown = null) {}
}

// Attribute and class names with the key format's own delimiters in them.
@Stockpyle({ keys: [['a:b', 'c'], ['x=y', 'é,#']], name: 'hostile:Odd=Names,#' })
class OddNames {
  'a:b': unknown;
  c: unknown;
  'x=y': unknown;
  'é,#': unknown;
}

// The same attribute names as Tuple under another class name: keys must still differ.
@Stockpyle({ keys: ['a', ['a', 'b']], name: 'hostile.Twin' })
class Twin {
  constructor(public a: unknown, public b: unknown = null) {}
}

/** Printable ASCII without spaces, at most 250 bytes: what memcached takes as a key. */
const memcachedSafe = (key: string): boolean => Buffer.byteLength(key) <= 250 && /^[\x21-\x7e]+$/.test(key);

const binaryLooking = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 64 });
const keyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }), // any code point, astral included
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  binaryLooking, // NUL, control characters, Latin-1
  fc.string({ maxLength: 10 }).chain((s) => fc.constantFrom(`${s}\uD800`, `\uDC00${s}`, `${s}\uDBFF\uDBFF`)), // lone surrogates
  fc.string({ unit: 'binary', minLength: 250, maxLength: 3000, size: 'max' }), // very long
  fc.constantFrom('', ' ', ':', ',', '=', '#', '%', '%3A', 'a,b=c', 's1', 'n1', 'T', 'F', 'd0', 'b1', 'u0041'),
  fc.integer(),
  fc.double({ noNaN: true }), // -0, ±Infinity, subnormals
  fc.integer().map(String), // numbers as strings
  fc.double({ noNaN: true }).map(String),
  fc.bigInt(),
  fc.bigInt().map(String),
  fc.boolean(),
  fc.constantFrom('true', 'false'),
  fc.date({ noInvalidDate: true }),
  fc.date({ noInvalidDate: true }).map((d) => String(d.getTime())),
);

/** A value's identity as a key: its type and value, with 0 and -0 one value (they are ===). */
function canonical(value: unknown): string {
  if (value instanceof Date) return `date:${value.getTime()}`;
  if (typeof value === 'number' && Object.is(value, -0)) return 'number:0';
  return `${typeof value}:${String(value)}`;
}

interface Case {
  readonly cls: ClassMetadata;
  readonly shape: KeyShape;
  readonly values: readonly unknown[];
}

const tuple = getMetadata(Tuple);
const odd = getMetadata(OddNames);
const twin = getMetadata(Twin);
const shapes = [...tuple.keys, ...odd.keys, ...twin.keys].map((shape) => ({
  cls: tuple.keys.includes(shape) ? tuple : odd.keys.includes(shape) ? odd : twin,
  shape,
}));
const keyCase: fc.Arbitrary<Case> = fc
  .constantFrom(...shapes)
  .chain(({ cls, shape }) => fc.array(keyValue, { minLength: shape.attrs.length, maxLength: shape.attrs.length }).map((values) => ({ cls, shape, values })));

function build(keys: KeyBuilder, c: Case): string {
  const source: Record<string, unknown> = {};
  c.shape.attrs.forEach((attr, i) => (source[attr] = c.values[i]));
  return keys.build(c.cls, c.shape, source)!;
}

const identity = (c: Case): string => `${c.cls.name}|${c.shape.attrs.join('|')}|${c.values.map(canonical).join('|')}`;

const figures: string[] = [];
afterAll(() => console.log(`hostile keys: ${figures.join('; ')}`));

describe('KeyBuilder with hostile key values', () => {
  const plain = new KeyBuilder();

  it(`every key of ${RUNS} hostile tuples is memcached-safe, and none is shared by two different tuples`, () => {
    const seen = new Map<string, string>();
    let collisions = 0;
    let hashed = 0;
    fc.assert(
      fc.property(keyCase, (c) => {
        const key = build(plain, c);
        if (!memcachedSafe(key)) return false;
        if (key.includes(':#')) hashed++;
        const id = identity(c);
        const before = seen.get(key);
        if (before !== undefined && before !== id) collisions++;
        seen.set(key, id);
        return before === undefined || before === id;
      }),
      { numRuns: RUNS },
    );
    figures.push(`${RUNS} tuples, ${seen.size} distinct keys, ${hashed} hashed, ${collisions} collisions`);
    expect(collisions).toBe(0);
  });

  it(`a number, its string, a bigint, a Date and a boolean of the same value always get different keys (${RUNS / 10} cases)`, () => {
    const meta = tuple;
    const byA = meta.keys[0]!;
    fc.assert(
      fc.property(fc.integer(), (n) => {
        const keys = [n, String(n), BigInt(n), new Date(n), n !== 0, String(n !== 0)].map((a) => plain.build(meta, byA, { a }));
        return new Set(keys).size === 6;
      }),
      { numRuns: RUNS / 10 },
    );
  });

  it('a tuple never shares a key with a shorter or longer tuple, nor with another class using the same attribute names', () => {
    const one = plain.build(tuple, tuple.keys[0]!, { a: 'x,b=y' });
    const two = plain.build(tuple, tuple.keys[1]!, { a: 'x', b: 'y' });
    const three = plain.build(tuple, tuple.keys[2]!, { a: 'x', b: 'y', c: 'z' });
    const other = plain.build(twin, twin.keys[1]!, { a: 'x', b: 'y' });
    expect(new Set([one, two, three, other]).size).toBe(4);
  });

  it(`with any accepted prefix, keys stay memcached-safe and prefixes never share keys (${RUNS / 10} cases)`, () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }), keyCase, (prefix, c) => {
        let keys: KeyBuilder;
        try {
          keys = new KeyBuilder(prefix);
        } catch (error) {
          return error instanceof ConfigurationError;
        }
        const key = build(keys, c);
        const id = `${prefix}|${identity(c)}`;
        const before = seen.get(key);
        seen.set(key, id);
        return memcachedSafe(key) && (before === undefined || before === id);
      }),
      { numRuns: RUNS / 10 },
    );
    figures.push(`${RUNS / 10} prefixed tuples, 0 collisions`);
  });

  it('values that cannot be keys are refused with UnknownKeyError, never turned into a key', () => {
    for (const a of [NaN, {}, [], [1], Symbol('s'), () => 1, new Date('nope'), new Map(), Buffer.from('x')]) {
      expect(() => plain.build(tuple, tuple.keys[0]!, { a })).toThrow(UnknownKeyError);
    }
  });

  it('building a key again gives the same key (the builder remembers recent keys)', () => {
    fc.assert(
      fc.property(keyCase, (c) => build(plain, c) === build(new KeyBuilder(), c) && build(plain, c) === build(plain, c)),
      { numRuns: 2_000 },
    );
  });
});
