import 'reflect-metadata';
import fc from 'fast-check';
import { ConfigurationError, getMetadata, KeyBuilder, Stockpyle, UnknownKeyError } from '@stockpyle/core';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'keys.Foo' })
class Foo {
  constructor(public id: unknown, public zap: unknown = null, public bar: unknown = null) {}
}

const meta = getMetadata(Foo);
const byId = meta.keys[0]!;
const byPair = meta.keys[1]!;
const keys = new KeyBuilder();

describe('KeyBuilder', () => {
  describe('build()', () => {
    it('is deterministic and independent of the order attributes are named in', () => {
      expect(keys.build(meta, byPair, { zap: 1, bar: 'x' })).toBe(keys.build(meta, byPair, { bar: 'x', zap: 1 }));
      expect(keys.build(meta, byId, { id: 7 })).toBe('stockpyle:1:keys.Foo:id=n7');
    });

    it('tells the number 1 from the string "1", and true from "true"', () => {
      const built = [1, '1', 1n, true, 'true', new Date(1)].map((id) => keys.build(meta, byId, { id }));
      expect(new Set(built).size).toBe(built.length);
    });

    it("keeps ('a:b', 'c') and ('a', 'b:c') apart", () => {
      const a = keys.build(meta, byPair, { zap: 'a:b', bar: 'c' });
      const b = keys.build(meta, byPair, { zap: 'a', bar: 'b:c' });
      const c = keys.build(meta, byPair, { zap: 'a,bar=b', bar: 'c' });
      expect(new Set([a, b, c]).size).toBe(3);
    });

    it('returns undefined when a value is null or undefined: the object is not indexed there', () => {
      expect(keys.build(meta, byPair, { zap: 1, bar: null })).toBeUndefined();
      expect(keys.build(meta, byId, { id: undefined })).toBeUndefined();
    });

    it('rejects values that cannot be keys with UnknownKeyError', () => {
      expect(() => keys.build(meta, byId, { id: { nested: 1 } })).toThrow(UnknownKeyError);
      expect(() => keys.build(meta, byId, { id: NaN })).toThrow(UnknownKeyError);
      expect(() => keys.build(meta, byId, { id: new Date('nope') })).toThrow(UnknownKeyError);
    });

    it('hashes keys longer than 250 bytes, keeping the class readable', () => {
      const key = keys.build(meta, byId, { id: 'x'.repeat(1000) })!;
      expect(key.length).toBeLessThanOrEqual(250);
      expect(key).toMatch(/^stockpyle:1:keys\.Foo:#[A-Za-z0-9_-]+$/);
      expect(key).not.toBe(keys.build(meta, byId, { id: 'x'.repeat(1001) }));
    });

    it('namespaces keys by prefix', () => {
      const a = new KeyBuilder('app-a').build(meta, byId, { id: 1 });
      const b = new KeyBuilder('app-b').build(meta, byId, { id: 1 });
      expect(a).toBe('stockpyle:1:app-a:keys.Foo:id=n1');
      expect(a).not.toBe(b);
    });

    it('returns the same key for a repeated single-attribute lookup, also after its memo starts over', () => {
      const fresh = new KeyBuilder();
      const first = fresh.build(meta, byId, { id: 42 });
      expect(fresh.build(meta, byId, { id: 42 })).toBe(first);
      for (let id = 0; id < 40_000; id++) fresh.build(meta, byId, { id: `v${id}` });
      expect(fresh.build(meta, byId, { id: 42 })).toBe('stockpyle:1:keys.Foo:id=n42');
      expect(fresh.build(meta, byId, { id: '42' })).not.toBe(first);
      expect(fresh.build(meta, byId, { id: -0 })).toBe(fresh.build(meta, byId, { id: 0 }));
    });

    it('rejects an empty or overlong prefix with ConfigurationError', () => {
      expect(() => new KeyBuilder('')).toThrow(ConfigurationError);
      expect(() => new KeyBuilder('p'.repeat(65))).toThrow(ConfigurationError);
    });
  });

  describe('properties', () => {
    const keyValue = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ maxLength: 20 }).map((s) => s + '\uD800'),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.bigInt(),
      fc.boolean(),
      fc.date({ noInvalidDate: true }),
    );
    const runs = Number(process.env.STOCKPYLE_KEY_RUNS ?? 20_000);

    it(`every key is memcached-safe: at most 250 bytes, printable ASCII, no spaces (${runs} cases)`, () => {
      fc.assert(
        fc.property(keyValue, keyValue, (zap, bar) => {
          const key = keys.build(meta, byPair, { zap, bar })!;
          return Buffer.byteLength(key) <= 250 && /^[\x21-\x7e]+$/.test(key);
        }),
        { numRuns: runs },
      );
    });

    it(`different values never share a key (${runs} pairs)`, () => {
      const seen = new Map<string, string>();
      const canonical = (v: unknown): string =>
        `${typeof v}:${v instanceof Date ? v.getTime() : typeof v === 'number' && Object.is(v, -0) ? '0' : String(v)}`;
      fc.assert(
        fc.property(keyValue, keyValue, (zap, bar) => {
          const key = keys.build(meta, byPair, { zap, bar })!;
          const id = `${canonical(zap)}|${canonical(bar)}`;
          const before = seen.get(key);
          seen.set(key, id);
          return before === undefined || before === id;
        }),
        { numRuns: runs },
      );
    });
  });
});

describe('KeyBuilder.relativeKeysOf() and relativeKey()', () => {
  it('rebuild every builder\'s own keys, whatever its prefix, long (hashed) keys included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string({ maxLength: 400 })), fc.integer(), fc.string({ maxLength: 300 }), fc.option(fc.constantFrom('app', 'ünï', 'x'.repeat(40)), { nil: undefined }), (id, zap, bar, prefix) => {
        const foo = new Foo(id, zap, bar);
        const relative = keys.relativeKeysOf(meta, foo);
        const own = new KeyBuilder(prefix);
        expect(relative.map((k) => own.relativeKey(k))).toEqual(own.keysOf(meta, foo, false));
        for (const k of relative) expect(k).not.toMatch(/[ ]/);
      }),
    );
  });

  it('leave out keys with a null attribute, as keysOf does', () => {
    expect(keys.relativeKeysOf(meta, new Foo(3))).toEqual(['keys.Foo:id=n3']);
  });
});
