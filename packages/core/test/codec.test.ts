import 'reflect-metadata';
import { decodeRecord, encodeRecord, FORMAT_VERSION, Stockpyle, type CacheRecord } from '@stockpyle/core';

@Stockpyle({ keys: ['id'], name: 'codec.Address' })
class Address {
  constructor(public city: string, public id = 0) {}
  label(): string {
    return `in ${this.city}`;
  }
}

@Stockpyle({ keys: ['id'], name: 'codec.Person' })
class Person {
  id = 1;
  born = new Date('2001-02-03T04:05:06.789Z');
  big = 12345678901234567890n;
  photo = Buffer.from([0, 1, 2, 255]);
  tags = new Set(['a', 'b']);
  scores = new Map<string, number>([['x', 1]]);
  address = new Address('Oslo');
  nothing: null = null;
  weird = { $t: 'date', v: 3 };
  ratio = Infinity;
  greet(): string {
    return `hi ${this.id}`;
  }
}

const decodeValue = (payload: string): object => {
  const record = decodeRecord(payload);
  if (record.kind !== 'value') throw new Error(`expected a value, got ${JSON.stringify(record)}`);
  return record.obj;
};

describe('codec', () => {
  describe('encodeRecord() and decodeRecord()', () => {
    it('round-trips an instance of the right class with Date, BigInt, Buffer, Map, Set and nested instances', () => {
      const p = new Person();
      const back = decodeValue(encodeRecord({ kind: 'value', obj: p, expiresAt: 0 })) as Person;
      expect(back).toBeInstanceOf(Person);
      expect(back.greet()).toBe('hi 1');
      expect(back.born).toEqual(p.born);
      expect(back.big).toBe(p.big);
      expect(Buffer.isBuffer(back.photo) && back.photo.equals(p.photo)).toBe(true);
      expect(back.tags).toEqual(p.tags);
      expect(back.scores).toEqual(p.scores);
      expect(back.address).toBeInstanceOf(Address);
      expect(back.address.label()).toBe('in Oslo');
      expect(back.weird).toEqual({ $t: 'date', v: 3 });
      expect(back.ratio).toBe(Infinity);
      expect(back.nothing).toBeNull();
    });

    it('round-trips tombstones and expiries', () => {
      const tomb: CacheRecord = { kind: 'tomb', token: 't-1', expiresAt: 99 };
      expect(decodeRecord(encodeRecord(tomb))).toEqual(tomb);
      const rec = decodeRecord(encodeRecord({ kind: 'value', obj: new Address('x', 3), expiresAt: 1234 }));
      expect(rec).toMatchObject({ kind: 'value', expiresAt: 1234 });
    });

    it('refuses to encode a cycle', () => {
      const a = new Address('loop') as Address & { self?: unknown };
      a.self = { back: a };
      expect(() => encodeRecord({ kind: 'value', obj: a, expiresAt: 0 })).toThrow(/cycle/);
    });
  });

  describe('hostile payloads', () => {
    const envelope = (d: string, c = 'codec.Address'): string => `{"f":${FORMAT_VERSION},"k":"v","c":"${c}","e":0,"d":${d}}`;

    it('never pollutes prototypes through __proto__ or constructor.prototype: such a payload is corrupt', () => {
      for (const d of ['{"city":"x","__proto__":{"polluted":1}}', '{"city":"x","constructor":{"prototype":{"polluted":2}}}', '{"city":"x","nested":{"__proto__":{"polluted":3}}}']) {
        expect(decodeRecord(envelope(d))).toMatchObject({ kind: 'corrupt' });
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it.each([
      ['another format version', `{"f":${FORMAT_VERSION + 1},"k":"v","c":"codec.Address","e":0,"d":{}}`],
      ['garbage', '\u0000\u0001not json'],
      ['truncated JSON', envelope('{"city":"x"').slice(0, -3)],
      ['a JSON array', '[1,2,3]'],
      ['an unknown tag', envelope('{"x":{"$t":"evil","v":"process.exit()"}}')],
      ['a malformed bigint', envelope('{"x":{"$t":"big","v":"1e9; boom"}}')],
      ['deep nesting', envelope('{"x":'.repeat(200) + '1' + '}'.repeat(200))],
    ])('decodes %s as corrupt, never throwing', (_label, payload) => {
      expect(decodeRecord(payload)).toMatchObject({ kind: 'corrupt' });
    });

    it('never quotes the payload in the reason it gives', () => {
      expect(decodeRecord('secret-token-123 is not json')).toEqual({ kind: 'corrupt', reason: 'not JSON' });
      expect(JSON.stringify(decodeRecord(envelope('{"password":secret-token-123}')))).not.toContain('secret');
    });

    it('decodes a payload over the size limit as corrupt', () => {
      expect(decodeRecord(envelope(`{"city":"${'x'.repeat(2000)}"}`), 1000)).toMatchObject({ kind: 'corrupt' });
    });

    it('decodes a class name this process does not know as unknown-class', () => {
      expect(decodeRecord(envelope('{}', 'codec.Nobody'))).toEqual({ kind: 'unknown-class', name: 'codec.Nobody' });
    });

    it('never evaluates code', () => {
      const back = decodeValue(envelope('{"city":"x","fn":"function(){ throw 1 }"}')) as Record<string, unknown>;
      expect(typeof back.fn).toBe('string');
    });
  });
});
