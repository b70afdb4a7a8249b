import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Stockpyle, type StoreEvent } from '@stockpyle/core';
import { describeStoreContract } from '@stockpyle/core/testing';
import { MemcacheStore, type MemcacheStoreOptions } from '@stockpyle/memcache';
import type { Client } from 'memjs';
import { Foo, idKey, newFoo, nextId, rawClient, sharedServers, sleep } from './support/fixtures';

describeStoreContract('MemcacheStore', { create: (o) => new MemcacheStore({ servers: sharedServers(), ...o }) });

@Stockpyle({ keys: ['id'], name: 'memcache-test.Blob' })
class Blob {
  constructor(
    public id: number,
    public data: string,
  ) {}
}

const DAY = 86_400_000;

describe('MemcacheStore', () => {
  const opened: MemcacheStore[] = [];
  const clients: Client[] = [];
  let raw: Client;

  const open = (options: Omit<MemcacheStoreOptions, 'servers' | 'client'> & { client?: Client } = {}): MemcacheStore => {
    const store = options.client ? new MemcacheStore(options) : new MemcacheStore({ servers: sharedServers(), ...options });
    opened.push(store);
    return store;
  };
  const client = (): Client => {
    const c = rawClient();
    clients.push(c);
    return c;
  };
  const events = (store: MemcacheStore, type: StoreEvent['type']): StoreEvent[] => {
    const seen: StoreEvent[] = [];
    store.on(type, (e) => seen.push(e));
    return seen;
  };

  beforeEach(() => {
    raw = client();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(opened.splice(0).map((s) => s.release()));
    for (const c of clients.splice(0)) c.close();
  });

  describe('lifetimes', () => {
    it('memcached drops an entry itself once a short lifetime has passed (relative expiry)', async () => {
      // A tombstone lifetime no longer than the value's: the entry is not held past its expiry.
      const store = open({ lifetime: () => 1, tombstoneLifetime: 1 });
      const f = newFoo();
      const putAt = Date.now();
      await store.put(f);
      expect((await raw.get(idKey(f))).value).not.toBeNull();
      await sleep(3500); // memcached has no fake clock: its expiry can only be seen by waiting
      jest.spyOn(Date, 'now').mockReturnValue(putAt); // the envelope alone would still serve it
      expect((await raw.get(idKey(f))).value).toBeNull();
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
    }, 10_000);

    it.each([
      ['just under 30 days (relative)', { milliseconds: 30 * DAY - 1500 }],
      ['exactly 30 days (the boundary: absolute)', { days: 30 }],
      ['31 days (absolute)', { days: 31 }],
      ['a Date 5 years ahead (absolute)', new Date(Date.now() + 5 * 365 * DAY)],
    ])('memcached keeps an entry whose lifetime is %s', async (_title, lifetime) => {
      // Sent as relative seconds above 30 days, memcached would read a 1970 date and drop it at once.
      const store = open({ lifetime: () => lifetime });
      const f = newFoo();
      await store.put(f);
      expect((await raw.get(idKey(f))).value).not.toBeNull();
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });

    it('with a client clock 40 days behind, lifetimes up to 30 days still hold; longer ones follow memcached\'s clock', async () => {
      jest.spyOn(Date, 'now').mockReturnValue(Date.now() - 40 * DAY);
      const within = open({ lifetime: () => ({ days: 29 }) });
      const beyond = open({ lifetime: () => ({ days: 35 }) });
      const [a, b] = [newFoo(), newFoo()];
      await within.put(a);
      await beyond.put(b);
      expect(await within.get(Foo, { id: a.id })).toMatchObject({ id: a.id });
      // 35 days after a clock 40 days slow is 5 days ago for memcached: absolute expiries are its business.
      expect((await raw.get(idKey(b))).value).toBeNull();
      expect(await beyond.get(Foo, { id: b.id })).toBeUndefined();
    });

    it('batchPut stores objects with different lifetimes in one batch, each with its own expiry', async () => {
      const [short, long] = [newFoo(), newFoo()];
      const store = open({ lifetime: (o) => ((o as Foo).id === short.id ? 1 : { days: 31 }), tombstoneLifetime: 1 });
      await store.batchPut([short, long]);
      await sleep(3500);
      expect((await raw.get(idKey(short))).value).toBeNull();
      expect((await raw.get(idKey(long))).value).not.toBeNull();
    }, 10_000);

    it('holds an entry that expires before a tombstone would until then, and no longer serves it once expired', async () => {
      const store = open({ lifetime: () => 1, tombstoneLifetime: 4 });
      const f = newFoo();
      await store.put(f);
      await sleep(2_100);
      expect((await raw.get(idKey(f))).value).not.toBeNull(); // held: it still blocks older fills
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      await sleep(3_000);
      expect((await raw.get(idKey(f))).value).toBeNull();
    }, 10_000);
  });

  describe('round trips', () => {
    /** Writes to each server's socket since the call; each write is one batch, i.e. one round trip. */
    const writesTo = (c: Client): (() => number[]) => {
      const spies = c.servers.map((server) => jest.spyOn(server, 'write'));
      return () => spies.map((spy) => spy.mock.calls.length);
    };
    /** At most `n` round trips to each server, and at least one somewhere. */
    const expectRoundTrips = (counts: number[], n: number): void => {
      expect(Math.max(...counts)).toBe(n);
      expect(counts.every((count) => count === 0 || count === n)).toBe(true);
    };

    it('batchGet of 100 keys is one round trip per server, where memjs Promise.all makes 100', async () => {
      const c = client();
      const store = open({ client: c });
      const foos = Array.from({ length: 100 }, () => newFoo());
      await store.batchPut(foos);
      const writes = writesTo(c);
      const got = await store.batchGet(Foo, foos.map((f) => ({ id: f.id })));
      expect(got.map((f) => f?.id)).toEqual(foos.map((f) => f.id));
      expectRoundTrips(writes(), 1);
      jest.restoreAllMocks();
      const raw100 = writesTo(c);
      await Promise.all(foos.map((f) => c.get(idKey(f))));
      expect(raw100().reduce((a, b) => a + b, 0)).toBe(100);
    });

    it('batchGet by an alternate key is two round trips: the pointers, then the objects they lead to', async () => {
      const c = client();
      const store = open({ client: c });
      const foos = Array.from({ length: 30 }, () => newFoo());
      await store.batchPut(foos);
      const writes = writesTo(c);
      const got = await store.batchGet(Foo, foos.map((f) => ({ zap: f.zap, bar: f.bar })));
      expect(got.map((f) => f?.id)).toEqual(foos.map((f) => f.id));
      expect(Math.max(...writes())).toBe(2);
    });

    it('batchPut is one round trip per server whatever the batch size and the lifetimes', async () => {
      const c = client();
      const store = open({ client: c, lifetime: (o) => ((o as Foo).id % 2 === 0 ? 60 : { days: 40 }) });
      // The first write of a class also reads its generation (clear(Class)); counted from the second.
      await store.batchPut([newFoo()]);
      const writes = writesTo(c);
      await store.batchPut(Array.from({ length: 50 }, () => newFoo()));
      expectRoundTrips(writes(), 1);
    });

    it('batchDelete is one round trip per server', async () => {
      const c = client();
      const store = open({ client: c });
      const foos = Array.from({ length: 50 }, () => newFoo());
      await store.batchPut(foos);
      const writes = writesTo(c);
      await store.batchDelete(foos);
      expectRoundTrips(writes(), 1);
      expect(await store.batchGet(Foo, foos.map((f) => ({ id: f.id })))).toEqual(foos.map(() => undefined));
    });

    it('a chain\'s commit is a compare-and-swap: read with CAS, then conditional store (and pointers)', async () => {
      const c = client();
      const store = open({ client: c });
      const foos = Array.from({ length: 20 }, () => newFoo());
      const ticket = { token: randomUUID(), expiresAt: Date.now() + 5000 };
      await store.reserve(foos, ticket);
      const writes = writesTo(c);
      await store.commit(foos, ticket);
      expect(Math.max(...writes())).toBe(3);
      expect((await store.batchGet(Foo, foos.map((f) => ({ zap: f.zap, bar: f.bar })))).map((f) => f?.id)).toEqual(foos.map((f) => f.id));
    });
  });

  describe('chain protocol', () => {
    it('fill() writes where nothing is cached', async () => {
      const store = open();
      const f = newFoo();
      // As a chain does: the tier's lookup first (it reads the class's generation), then the fill.
      const { observed } = await store.lookup(Foo, [{ id: f.id }]);
      await store.fill([f], Date.now(), observed);
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });

    it('fill() never overwrites a newer value (it is an add)', async () => {
      const store = open();
      const f = newFoo('old');
      const readAt = Date.now();
      await store.put(new Foo(f.id, f.zap, f.bar, 'new'));
      await store.fill([f], readAt);
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ note: 'new' });
    });

    it('fill() never resurrects a deleted object: the tombstone blocks the add', async () => {
      const store = open();
      const f = newFoo();
      const readAt = Date.now();
      await store.put(f);
      await store.delete(f);
      await store.fill([f], readAt);
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      expect(await store.get(Foo, { zap: f.zap, bar: f.bar })).toBeUndefined();
    });

    it('commit() replaces only its own tombstones (compare-and-swap): a racing writer wins', async () => {
      const store = open();
      const f = newFoo('first');
      const first = { token: randomUUID(), expiresAt: Date.now() + 5000 };
      const second = { token: randomUUID(), expiresAt: Date.now() + 5000 };
      await store.reserve([f], first);
      await store.reserve([f], second);
      await store.commit([f], first);
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      const g = new Foo(f.id, f.zap, f.bar, 'second');
      await store.commit([g], second);
      // `first` lost its swap and left a fresh tombstone, so `second` now loses too: a miss, never 'first'.
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      await store.reserve([g], second);
      await store.commit([g], second);
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ note: 'second' });
    });
  });

  describe('robustness', () => {
    it('skips a value over maxValueBytes with a skip event, and drops the older version', async () => {
      const store = open({ maxValueBytes: 2000 });
      const skips = events(store, 'skip');
      const id = nextId();
      await store.put(new Blob(id, 'small'));
      await expect(store.put(new Blob(id, 'x'.repeat(5000)))).resolves.toBeUndefined();
      expect(skips).toEqual([expect.objectContaining({ type: 'skip', className: 'memcache-test.Blob', reason: expect.stringMatching(/bytes exceeds/) })]);
      expect(await store.get(Blob, { id })).toBeUndefined();
    });

    it('skips a value over memcached\'s own item limit (1 MiB) even when maxValueBytes allows it', async () => {
      const store = open({ maxValueBytes: 64 * 1024 * 1024 });
      const skips = events(store, 'skip');
      const id = nextId();
      await store.put(new Blob(id, 'small'));
      await expect(store.put(new Blob(id, 'x'.repeat(2 * 1024 * 1024)))).resolves.toBeUndefined();
      expect(skips).toHaveLength(1);
      expect(await store.get(Blob, { id })).toBeUndefined();
      await store.put(new Blob(id, 'fits'));
      expect(await store.get(Blob, { id })).toMatchObject({ data: 'fits' });
    });

    it('stores a value just under the default limit', async () => {
      const store = open();
      const id = nextId();
      await store.put(new Blob(id, 'y'.repeat(1_000_000)));
      expect((await store.get(Blob, { id }))?.data).toHaveLength(1_000_000);
    });

    it.each([
      ['garbage bytes', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0x00])],
      ['text that is not JSON', Buffer.from('hello-secret not json')],
      ['JSON that is not an envelope', Buffer.from('{"hello":"world"}')],
      ['an envelope of another format version', Buffer.from('{"f":999,"k":"v","c":"memcache-test.Foo","e":0,"d":{}}')],
    ])('a poisoned payload (%s) written with memjs is a miss, reported as corrupt and removed', async (_title, payload) => {
      const store = open();
      const corrupt = events(store, 'corrupt');
      const f = newFoo();
      await raw.set(idKey(f), payload, {});
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      expect(corrupt).toEqual([expect.objectContaining({ type: 'corrupt', key: idKey(f) })]);
      expect(JSON.stringify(corrupt)).not.toMatch(/dead|beef|hello/i);
      expect((await raw.get(idKey(f))).value).toBeNull();
    });

    it('a prototype-polluting payload written with memjs pollutes nothing (it is corrupt: a miss)', async () => {
      const store = open();
      const f = newFoo();
      const payload = `{"f":1,"k":"v","c":"memcache-test.Foo","e":0,"d":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"id":${f.id},"zap":1,"bar":"x"}}`;
      await raw.set(idKey(f), payload, {});
      const got = await store.get(Foo, { id: f.id });
      expect(got).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Foo.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('hashes a key value too long for memcached, and the connection keeps working', async () => {
      const c = client();
      const store = open({ client: c });
      const id = nextId();
      const f = new Foo(id, id, `long-${'é'.repeat(3000)}`);
      await store.put(f);
      expect(await store.get(Foo, { zap: f.zap, bar: f.bar })).toMatchObject({ id });
      expect(await c.get(idKey(f))).toHaveProperty('value');
      const g = newFoo();
      await store.put(g);
      expect(await store.get(Foo, { id: g.id })).toMatchObject({ id: g.id });
    });

    it('answers many concurrent batches on one connection, each with its own results', async () => {
      const store = open();
      const foos = Array.from({ length: 200 }, () => newFoo());
      await store.batchPut(foos);
      const got = await Promise.all(foos.map((f) => store.get(Foo, { id: f.id })));
      expect(got.map((g) => g?.id)).toEqual(foos.map((f) => f.id));
    });
  });

  describe('release()', () => {
    it('leaves a given client open', async () => {
      const c = client();
      const store = open({ client: c });
      const f = newFoo();
      await store.put(f);
      await store.release();
      expect((await c.get(idKey(f))).value).not.toBeNull();
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });

    it('waits for calls in flight, then closes its own client; the next call reopens', async () => {
      const store = open();
      const f = newFoo();
      const put = store.put(f);
      await store.release();
      await expect(put).resolves.toBeUndefined();
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });
  });
});
