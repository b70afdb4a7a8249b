import 'reflect-metadata';
import fc from 'fast-check';
import { ConfigurationError, KeyBuilder, Stockpyle, getMetadata } from '@stockpyle/core';

// Found by the hostile-key properties: a prefix within the 64-character limit but made of non-ASCII
// characters escaped to hundreds of bytes, so every key of that store (633 bytes for 64 × '好') was
// longer than memcached accepts, and the memcached tier failed on every call.

@Stockpyle({ keys: ['id'], name: 'regression.PrefixDoc' })
class Doc {
  constructor(public id: unknown) {}
}

const meta = getMetadata(Doc);
const memcachedSafe = (key: string): boolean => key.length <= 250 && /^[\x21-\x7e]+$/.test(key);

describe('KeyBuilder prefix', () => {
  it('refuses, with ConfigurationError, a prefix too long once escaped', () => {
    expect(() => new KeyBuilder('好'.repeat(64))).toThrow(ConfigurationError);
    expect(() => new KeyBuilder('\uD800'.repeat(64))).toThrow(/once escaped/);
  });

  it('keeps every key of any accepted prefix memcached-safe, short or hashed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 64, size: 'max' }), fc.string({ unit: 'binary', maxLength: 400 }), (prefix, id) => {
        let keys: KeyBuilder;
        try {
          keys = new KeyBuilder(prefix);
        } catch (error) {
          return error instanceof ConfigurationError;
        }
        return memcachedSafe(keys.build(meta, meta.keys[0]!, { id })!) && memcachedSafe(keys.build(meta, meta.keys[0]!, { id: 1 })!);
      }),
      { numRuns: 2_000 },
    );
  });
});
