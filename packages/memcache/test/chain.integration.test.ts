import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { CountingStore, describeStoreContract } from '@stockpyle/core/testing';
import { MemcacheStore } from '@stockpyle/memcache';
import { Foo, newFoo, sharedServers } from './support/fixtures';
import { MemoryDatabase } from '../../core/test/support/memory-database';

describeStoreContract('ChainedStore [ProcessMemoryStore, MemcacheStore]', {
  create: (o) => new ChainedStore([new ProcessMemoryStore(o), new MemcacheStore({ servers: sharedServers(), ...o })]),
});

describe('ChainedStore [ProcessMemoryStore, MemcacheStore, database]', () => {
  let memory: ProcessMemoryStore & CountingStoreCounts;
  let memcache: MemcacheStore & CountingStoreCounts;
  let database: MemoryDatabase & CountingStoreCounts;
  let chain: ChainedStore;

  type CountingStoreCounts = ReturnType<typeof CountingStore.wrap>;

  beforeEach(() => {
    // stockpyle's README setup: a short-lived process cache over a longer-lived memcached over the database
    memory = CountingStore.wrap(new ProcessMemoryStore({ lifetime: () => 60 }));
    memcache = CountingStore.wrap(new MemcacheStore({ servers: sharedServers(), lifetime: () => 3600 }));
    database = CountingStore.wrap(new MemoryDatabase());
    chain = new ChainedStore([memory, memcache, database]);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await chain.release();
  });

  const reads = (store: CountingStoreCounts): number => store.calls('get', 'batchGet', 'lookup', 'peek');

  it('put writes through every tier, and a get then touches only the first', async () => {
    const f = newFoo();
    await chain.put(f);
    expect(await database.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(await memcache.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    [memory, memcache, database].forEach((s) => s.resetCounts());
    expect(await chain.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(await chain.get(Foo, { zap: f.zap, bar: f.bar })).toMatchObject({ id: f.id });
    expect(reads(memory)).toBeGreaterThan(0);
    expect(reads(memcache)).toBe(0);
    expect(reads(database)).toBe(0);
  });

  it('once the first tier\'s lifetime ends, memcached serves the object without touching the database, and refills the first tier', async () => {
    const f = newFoo();
    await chain.put(f);
    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    [memory, memcache, database].forEach((s) => s.resetCounts());
    expect(await chain.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(memcache.calls('lookup')).toBe(1);
    expect(reads(database)).toBe(0);
    expect(memory.calls('fill')).toBe(1);
    [memory, memcache, database].forEach((s) => s.resetCounts());
    expect(await chain.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(reads(memcache)).toBe(0);
  });

  it('once memcached\'s lifetime ends too, the database serves it and both caches are filled', async () => {
    const f = newFoo();
    await chain.put(f);
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_601_000);
    [memory, memcache, database].forEach((s) => s.resetCounts());
    expect(await chain.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(database.calls('batchGet')).toBe(1);
    expect(memcache.calls('fill')).toBe(1);
    expect(memory.calls('fill')).toBe(1);
    // and the fills landed: both caches serve it again
    expect(await memory.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    expect(await memcache.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
  });

  it('batchGet asks memcached once for everything the first tier missed, and the database once for the rest', async () => {
    const cached = [newFoo(), newFoo()];
    const onlyInDb = [newFoo(), newFoo()];
    await chain.batchPut(cached);
    await database.batchPut(onlyInDb);
    const fresh = new ChainedStore([memory, memcache, database]); // a process whose memory is empty
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 61_000);
    [memory, memcache, database].forEach((s) => s.resetCounts());
    const got = await fresh.batchGet(Foo, [...cached, ...onlyInDb].map((f) => ({ id: f.id })));
    expect(got.map((g) => g?.id)).toEqual([...cached, ...onlyInDb].map((f) => f.id));
    expect(memcache.calls('lookup')).toBe(1);
    expect(database.calls('batchGet')).toBe(1);
  });

  it('delete removes the object from every tier, and a late fill cannot bring it back', async () => {
    const f = newFoo();
    await chain.put(f);
    const readAt = Date.now();
    await chain.delete(f);
    await memcache.fill([f], readAt); // a reader that fetched f from the database just before the delete
    expect(await chain.get(Foo, { id: f.id })).toBeUndefined();
    expect(await memcache.get(Foo, { id: f.id })).toBeUndefined();
  });

  it('a second chain (another process) sees the first one\'s write through memcached', async () => {
    const f = newFoo('v1');
    await chain.put(f);
    const other = new ChainedStore([new ProcessMemoryStore(), new MemcacheStore({ servers: sharedServers() }), database]);
    try {
      expect(await other.get(Foo, { id: f.id })).toMatchObject({ note: 'v1' });
      await chain.put(new Foo(f.id, f.zap, f.bar, 'v2'));
      // other's process memory still has v1 until its own lifetime: the cross-process bound is lifetimes
      await other.stores[0]!.delete(f);
      expect(await other.get(Foo, { id: f.id })).toMatchObject({ note: 'v2' });
    } finally {
      await other.release();
    }
  });
});
