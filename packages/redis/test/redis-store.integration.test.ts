import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ChainedStore, KeyBuilder, ProcessMemoryStore, Stockpyle, getMetadata, type StoreEvent } from '@stockpyle/core';
import { describeStoreContract } from '@stockpyle/core/testing';
import { RedisStore } from '@stockpyle/redis';
import { Cluster, Redis } from 'ioredis';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { MemoryDatabase } from '../../core/test/support/memory-database';
import { countRoundTrips } from './support/round-trips';

const REDIS_URL = serviceUrl('redis');
const CLUSTER_SEEDS = clusterNodes().map(({ host, port }) => `${host}:${port}`);

/**
 * A deadline generous enough for a loaded CI machine, where a fresh Cluster client's first call
 * (connect, slot discovery) can take longer than the 500 ms default; failure tests use a short one.
 */
const timeout = 3000;

describeStoreContract('RedisStore (standalone)', { create: (o) => new RedisStore({ url: REDIS_URL, timeout, ...o }) });
describeStoreContract('RedisStore (Cluster)', { create: (o) => new RedisStore({ url: CLUSTER_SEEDS, timeout, ...o }) });

@Stockpyle({ keys: ['id'], name: 'redis-it.Item' })
class Item {
  constructor(
    public id: number,
    public label: string,
  ) {}
}

@Stockpyle({ keys: ['id', 'sku'], name: 'redis-it.Product' })
class Product {
  constructor(
    public id: number,
    public sku: string,
    public price: number,
  ) {}
}

/** Counts the store's raw batch operations (each should cost at most one round trip per node). */
function countRawCalls(store: RedisStore): { total: number } {
  const counter = { total: 0 };
  for (const method of ['readRaw', 'writeRaw', 'swapRaw', 'removeRaw']) {
    const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
    const original = target[method]!;
    target[method] = function (...args: unknown[]) {
      counter.total++;
      return original.apply(this, args);
    };
  }
  return counter;
}

let seq = Math.floor(Math.random() * 1e9);
const nextId = (): number => ++seq;
const items = (n: number): Item[] => Array.from({ length: n }, () => new Item(nextId(), `item ${seq}`));

const topologies = [
  { name: 'standalone', client: (): Redis | Cluster => new Redis(REDIS_URL, { lazyConnect: true }) },
  { name: 'Cluster', client: (): Redis | Cluster => new Cluster(CLUSTER_SEEDS, { lazyConnect: true }) },
] as const;

describe.each(topologies)('RedisStore on a $name server', (topology) => {
  let raw: Redis | Cluster;
  const prefix = `it${Math.random().toString(36).slice(2, 8)}`;
  const keys = new KeyBuilder(prefix);
  const itemKey = (id: number): string => keys.build(getMetadata(Item), getMetadata(Item).keys[0]!, { id })!;
  const opened: RedisStore[] = [];
  const open = (options: { client?: Redis | Cluster; lifetime?: () => number } = {}): RedisStore => {
    const url = topology.name === 'Cluster' ? CLUSTER_SEEDS : REDIS_URL;
    const store = new RedisStore(options.client ? { prefix, timeout, ...options } : { url, prefix, timeout, ...options });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    raw = topology.client();
    await raw.connect();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.release()));
  });
  afterAll(async () => {
    await raw.quit();
  });

  describe('round trips', () => {
    const masters = (): number => (topology.name === 'Cluster' ? 3 : 1);

    it('batchGet(100 objects) costs one round trip per node touched', async () => {
      const store = open({ client: raw });
      const batch = items(100);
      await store.batchPut(batch);
      const trips = countRoundTrips(raw);
      try {
        const got = await store.batchGet(Item, batch.map((i) => ({ id: i.id })));
        expect(got.map((g) => g?.id)).toEqual(batch.map((i) => i.id));
        expect(trips.perNode().size).toBe(masters());
        for (const count of trips.perNode().values()) expect(count).toBe(1);
      } finally {
        trips.restore();
      }
    });

    it('batchPut(100 objects) of a single-key class costs one round trip per node', async () => {
      const store = open({ client: raw });
      // The first write of a class also reads its generation (clear(Class)); counted from the second.
      await store.batchPut(items(1));
      const trips = countRoundTrips(raw);
      try {
        await store.batchPut(items(100));
        expect(trips.total()).toBe(masters());
      } finally {
        trips.restore();
      }
    });

    it('each raw batch of a two-key class costs at most one round trip per node', async () => {
      const store = open({ client: raw });
      const rawCalls = countRawCalls(store);
      const batch = Array.from({ length: 100 }, () => new Product(nextId(), `sku-${seq}`, 10));
      const trips = countRoundTrips(raw);
      const check = (): void => {
        expect(rawCalls.total).toBeGreaterThan(0);
        expect(trips.total()).toBeGreaterThan(0);
        for (const count of trips.perNode().values()) expect(count).toBeLessThanOrEqual(rawCalls.total);
        trips.reset();
        rawCalls.total = 0;
      };
      try {
        await store.batchPut(batch);
        check();
        const bySku = await store.batchGet(Product, batch.map((p) => ({ sku: p.sku })));
        expect(bySku.map((p) => p?.id)).toEqual(batch.map((p) => p.id));
        check();
        const ticket = { token: 'round-trips', expiresAt: Date.now() + 5000 };
        await store.reserve(batch, ticket);
        check();
        await store.commit(batch, ticket);
        check();
        await store.batchDelete(batch);
        check();
        await store.fill(batch, Date.now());
        check();
        expect(await store.batchGet(Product, batch.map((p) => ({ sku: p.sku })))).toEqual(batch.map(() => undefined));
      } finally {
        trips.restore();
      }
    });

    it('get(cls, key) is a single round trip (on a Cluster, one more where the class generation is on another node)', async () => {
      const store = open({ client: raw });
      const [item] = items(1);
      await store.put(item!);
      const trips = countRoundTrips(raw);
      try {
        expect((await store.get(Item, { id: item!.id }))?.label).toBe(item!.label);
        // The entry and the class's generation (clear(Class)) go as one MGET on one server; on a
        // Cluster they are in two slots: one round trip to each node, or one where one node has both.
        if (topology.name === 'Cluster') expect([1, 2]).toContain(trips.total());
        else expect(trips.total()).toBe(1);
      } finally {
        trips.restore();
      }
    });
  });

  describe('clients', () => {
    it('honours a client keyPrefix when grouping keys by slot', async () => {
      const prefixed = topology.name === 'Cluster' ? new Cluster(CLUSTER_SEEDS, { lazyConnect: true, keyPrefix: 'kp:' }) : new Redis(REDIS_URL, { lazyConnect: true, keyPrefix: 'kp:' });
      try {
        const store = open({ client: prefixed });
        const batch = items(50);
        await store.batchPut(batch);
        expect((await store.batchGet(Item, batch.map((i) => ({ id: i.id })))).map((i) => i?.label)).toEqual(batch.map((i) => i.label));
        expect(await raw.exists(`kp:${itemKey(batch[0]!.id)}`)).toBe(1);
        await store.batchDelete(batch);
        expect(await store.batchGet(Item, batch.map((i) => ({ id: i.id })))).toEqual(batch.map(() => undefined));
      } finally {
        await prefixed.quit();
      }
    });

    it('round-trips non-ASCII text and lone surrogates exactly (values are UTF-8 strings under RESP3)', async () => {
      const store = open();
      const label = 'héllo ☃ 🎉 \ud83d end \u0000';
      const stored = new Item(nextId(), label);
      await store.put(stored);
      expect((await store.get(Item, { id: stored.id }))?.label).toBe(label);
    });
  });

  describe('conditional writes (docs/ARCHITECTURE.md, invariant 2)', () => {
    it('fill() does not overwrite a newer value', async () => {
      const store = open();
      const id = nextId();
      await store.put(new Item(id, 'new'));
      await store.fill([new Item(id, 'old')], Date.now());
      expect((await store.get(Item, { id }))?.label).toBe('new');
    });

    it('fill() does not overwrite a deletion (tombstone)', async () => {
      const store = open();
      const item = new Item(nextId(), 'deleted');
      await store.put(item);
      await store.delete(item);
      await store.fill([item], Date.now());
      expect(await store.get(Item, { id: item.id })).toBeUndefined();
    });

    it('fill() writes where the key is absent', async () => {
      const store = open();
      const item = new Item(nextId(), 'filled');
      // As a chain does: the tier's lookup first (it reads the class's generation), then the fill.
      const { observed } = await store.lookup(Item, [{ id: item.id }]);
      await store.fill([item], Date.now(), observed);
      expect((await store.get(Item, { id: item.id }))?.label).toBe('filled');
    });

    it('commit() replaces only its own tombstone: a racing writer wins', async () => {
      const store = open();
      const item = new Item(nextId(), 'first');
      const first = { token: 'first-writer', expiresAt: Date.now() + 5000 };
      const second = { token: 'second-writer', expiresAt: Date.now() + 5000 };
      await store.reserve([item], first);
      await store.reserve([item], second);
      await store.commit([item], first);
      expect(await store.get(Item, { id: item.id })).toBeUndefined();
      await store.commit([new Item(item.id, 'second')], second);
      expect(await raw.get(itemKey(item.id))).toContain('"k":"t"'); // the loser left a fresh tombstone
    });

    it('commit() after its own reserve stores the value', async () => {
      const store = open();
      const item = new Item(nextId(), 'committed');
      const ticket = { token: 'only-writer', expiresAt: Date.now() + 5000 };
      await store.reserve([item], ticket);
      await store.commit([item], ticket);
      expect((await store.get(Item, { id: item.id }))?.label).toBe('committed');
    });
  });

  describe('lifetimes', () => {
    it('puts a millisecond expiry on the key', async () => {
      const store = open({ lifetime: () => 60 });
      const [item] = items(1);
      await store.put(item!);
      const ttl = await raw.pttl(itemKey(item!.id));
      expect(ttl).toBeGreaterThan(58_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });

    it('puts no expiry on an object without lifetime, and a short one on a tombstone', async () => {
      const store = open();
      const [item] = items(1);
      await store.put(item!);
      expect(await raw.pttl(itemKey(item!.id))).toBe(-1);
      await store.delete(item!);
      const ttl = await raw.pttl(itemKey(item!.id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
    });
  });

  describe('poisoned payloads', () => {
    const poisons: [string, string][] = [
      ['garbage', 'not json at all \u0000\xff'],
      ['another format version', JSON.stringify({ f: 99, k: 'v', c: 'redis-it.Item', e: 0, d: { id: 1, label: 'x' } })],
      ['a JSON array', '[1,2,3]'],
      ['a bad tag', '{"f":1,"k":"v","c":"redis-it.Item","e":0,"d":{"id":{"$t":"nope"}}}'],
    ];

    it.each(poisons)('%s is a miss, is removed and is reported as corrupt', async (_name, payload) => {
      const store = open();
      const id = nextId();
      await raw.set(itemKey(id), payload);
      const events: StoreEvent[] = [];
      store.on('corrupt', (e) => events.push(e));
      expect(await store.get(Item, { id })).toBeUndefined();
      expect(await raw.exists(itemKey(id))).toBe(0);
      expect(events).toEqual([expect.objectContaining({ type: 'corrupt', key: itemKey(id) })]);
    });

    it('a __proto__ payload does not touch Object.prototype', async () => {
      const store = open();
      const id = nextId();
      await raw.set(
        itemKey(id),
        `{"f":1,"k":"v","c":"redis-it.Item","e":0,"d":{"id":${id},"label":"x","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`,
      );
      const got = await store.get(Item, { id });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
      if (got !== undefined) {
        expect(got).toBeInstanceOf(Item);
        expect((got as unknown as Record<string, unknown>).polluted).toBeUndefined();
      }
    });

    it('a key of another Redis type is a miss', async () => {
      const store = open();
      const id = nextId();
      await raw.rpush(itemKey(id), 'a', 'b');
      expect(await store.get(Item, { id })).toBeUndefined();
      await raw.del(itemKey(id));
    });
  });

  describe('in a chain [ProcessMemoryStore, RedisStore, database]', () => {
    it('serves a second process from Redis and fills its memory tier', async () => {
      const db = new MemoryDatabase();
      const writer = new ChainedStore([new ProcessMemoryStore(), open(), db]);
      const batch = items(20);
      await writer.batchPut(batch);

      const memory = new ProcessMemoryStore();
      const reader = new ChainedStore([memory, open(), db]);
      const reads = db.asked.length;
      const got = await reader.batchGet(Item, batch.map((i) => ({ id: i.id })));
      expect(got.map((g) => g?.label)).toEqual(batch.map((i) => i.label));
      expect(db.asked.length).toBe(reads);
      expect(memory.size).toBe(20);
    });

    it('back-fills Redis from the database, and a delete leaves nothing to serve', async () => {
      const db = new MemoryDatabase();
      const item = new Item(nextId(), 'in db only');
      await db.put(item);
      const redis = open();
      const chain = new ChainedStore([new ProcessMemoryStore(), redis, db]);
      expect((await chain.get(Item, { id: item.id }))?.label).toBe('in db only');
      expect((await redis.get(Item, { id: item.id }))?.label).toBe('in db only');
      await chain.delete(item);
      expect(await chain.get(Item, { id: item.id })).toBeUndefined();
      expect(await redis.get(Item, { id: item.id })).toBeUndefined();
    });
  });

  describe('release()', () => {
    it('leaves a given client open', async () => {
      const store = open({ client: raw });
      await store.put(items(1)[0]!);
      await store.release();
      expect(raw.status).toBe('ready');
    });

    it('closes a client it created, and reopens it on the next call', async () => {
      const store = open();
      const [item] = items(1);
      await store.put(item!);
      await store.release();
      expect(store.client.status).toBe('end');
      expect((await store.get(Item, { id: item!.id }))?.label).toBe(item!.label);
      expect(store.client.status).toBe('ready');
    });
  });
});
