import 'reflect-metadata';
import { ChainedStore, DictionaryStore, KeyBuilder, ProcessMemoryStore, Stockpyle, getMetadata, type StoreEvent } from '@stockpyle/core';
import { CountingStore, FaultyStore, MemoryBusHub } from '@stockpyle/core/testing';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'clear.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string) {}
}

@Stockpyle({ keys: ['id'], name: 'clear.SubFoo' })
class SubFoo extends Foo {}

@Stockpyle({ keys: ['id'], name: 'clear.Bar' })
class Bar {
  constructor(public id: number) {}
}

/** A write the ORM does not see: the database changes, no cache is told. */
async function behindTheCache(db: MemoryDatabase, ...objs: object[]): Promise<void> {
  await db.batchPut(objs);
}

describe('clear(Class)', () => {
  describe('on one store', () => {
    it.each([
      ['ProcessMemoryStore', () => new ProcessMemoryStore({ polymorphic: true })],
      ['DictionaryStore', () => new DictionaryStore(new Map(), { polymorphic: true })],
    ])('%s: the hierarchy becomes unreachable, other classes stay, new writes are served', async (_name, make) => {
      const store = make();
      await store.batchPut([new Foo(1, 1, 'a'), new SubFoo(2, 2, 'a'), new Bar(1)]);
      await store.clear(SubFoo); // any class of the hierarchy clears all of it
      expect(await store.get(Foo, { id: 1 })).toBeUndefined();
      expect(await store.get(Foo, { zap: 1, bar: 'a' })).toBeUndefined();
      expect(await store.get(SubFoo, { id: 2 })).toBeUndefined();
      expect(await store.get(Foo, { id: 2 })).toBeUndefined();
      expect(await store.get(Bar, { id: 1 })).toEqual(new Bar(1));
      await store.put(new Foo(1, 1, 'b'));
      expect(await store.get(Foo, { id: 1 })).toMatchObject({ bar: 'b' });
      expect(await store.get(Foo, { zap: 1, bar: 'b' })).toMatchObject({ id: 1 });
    });

    it.each([
      ['ProcessMemoryStore', () => new ProcessMemoryStore()],
      ['DictionaryStore', () => new DictionaryStore(new Map())],
    ])('%s: a fill of a read from before the clear stays unreachable; one from after is served', async (_name, make) => {
      const store = make();
      const before = await store.lookup(Foo, [{ id: 1 }]);
      const readAt = Date.now();
      await store.clear(Foo);
      await store.fill([new Foo(1, 1, 'old')], readAt, before.observed);
      expect(await store.get(Foo, { id: 1 })).toBeUndefined();
      const after = await store.lookup(Foo, [{ id: 1 }]);
      await store.fill([new Foo(1, 1, 'new')], Date.now(), after.observed);
      expect(await store.get(Foo, { id: 1 })).toMatchObject({ bar: 'new' });
    });

    it('a remote tier: another process sees the clear on its very next read, and an evicted generation resurrects nothing', async () => {
      const backend = new Map<string, string>();
      const a = new DictionaryStore(backend);
      const b = new DictionaryStore(backend);
      await a.put(new Foo(1, 1, 'a'));
      expect(await b.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      await a.clear(Foo);
      expect(await b.get(Foo, { id: 1 })).toBeUndefined();
      // The generation key lost (memcached evicts it, Redis is flushed of it): entries of every
      // earlier generation stay unreachable, as a new generation is made.
      backend.delete(new KeyBuilder().generationKey(getMetadata(Foo)));
      expect(await b.get(Foo, { id: 1 })).toBeUndefined();
      expect([...backend.keys()].filter((k) => k.includes('#gen:'))).toHaveLength(1);
    });

    it('rejects an undecorated class', async () => {
      await expect(new ProcessMemoryStore().clear(class Plain {})).rejects.toThrow(/Plain/);
    });
  });

  describe('on a chain', () => {
    function setUp(options: { maxPendingInvalidations?: number } = {}) {
      const memory = new ProcessMemoryStore();
      const shared = FaultyStore.wrap(new DictionaryStore(new Map()));
      const db = CountingStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([memory, shared, db], { replayInterval: 0, breaker: { failureThreshold: 1_000_000 }, ...options });
      const events: StoreEvent[] = [];
      chain.on('error', (e) => events.push(e));
      return { memory, shared, db, chain, events };
    }

    it('after a write behind the cache: the new rows with one database read each, then from the cache again', async () => {
      const { db, chain } = setUp();
      await chain.batchPut([new Foo(1, 1, 'a'), new Foo(2, 2, 'a')]);
      await behindTheCache(db, new Foo(1, 1, 'b'), new Foo(2, 2, 'b'));
      db.resetCounts();
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'a' }); // the caches do not know yet
      expect(db.calls()).toBe(0);
      await chain.clear(Foo);
      expect(db.calls()).toBe(0); // a clear reads and writes no row
      expect(await chain.batchGet(Foo, [{ id: 1 }, { id: 2 }])).toMatchObject([{ bar: 'b' }, { bar: 'b' }]);
      expect(await chain.get(Foo, { zap: 1, bar: 'b' })).toMatchObject({ id: 1 });
      const reads = db.calls();
      expect(reads).toBe(1); // the batch; its fill wrote the alternate keys' pointers too
      for (let i = 0; i < 10; i++) await chain.get(Foo, { id: 1 });
      expect(db.calls()).toBe(reads);
    });

    it('a tier that missed the clear is cleared before it is used again', async () => {
      const { shared, db, chain, events } = setUp();
      await chain.put(new Foo(1, 1, 'a'));
      await behindTheCache(db, new Foo(1, 1, 'b'));
      shared.fault({ kind: 'throw' });
      await expect(chain.clear(Foo)).resolves.toBeUndefined();
      expect(events).toEqual([expect.objectContaining({ type: 'error', operation: 'clear', store: shared.name })]);
      shared.heal();
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'b' });
      expect(await shared.get(Foo, { id: 1 })).toMatchObject({ bar: 'b' });
    });

    it('20,000 invalidations missed during an outage (twice the pending limit): 0 stale reads after recovery', async () => {
      const { memory, shared, db, chain, events } = setUp();
      const n = 20_000;
      const rows = Array.from({ length: n }, (_, i) => new Foo(i, i, 'a'));
      await chain.batchPut(rows);
      shared.fault({ kind: 'throw' });
      const changed = rows.map((r) => new Foo(r.id, r.zap, 'b'));
      await behindTheCache(db, ...changed);
      for (let i = 0; i < n; i += 1000) await chain.invalidate(changed.slice(i, i + 1000)); // as the subscriber does after each commit
      const overflow = events.filter((e) => e.type === 'error' && /will be cleared/.test(String((e as { error: unknown }).error)));
      expect(overflow).toHaveLength(1);
      shared.heal();
      // What the first tier held was tombstoned there; the shared tier is cleared at its next use.
      expect(await memory.get(Foo, { id: 0 })).toBeUndefined();
      const found = await chain.batchGet(Foo, changed.map((r) => ({ id: r.id })));
      expect(found.filter((f) => f?.bar !== 'b')).toHaveLength(0);
      expect((await shared.batchGet(Foo, changed.map((r) => ({ id: r.id })))).filter((f) => f !== undefined && f.bar !== 'b')).toHaveLength(0);
    });

    it('a tier owing a clear is cleared once however many calls arrive at once, and the invalidations it covers are not replayed', async () => {
      const memory = new ProcessMemoryStore();
      const shared = CountingStore.wrap(FaultyStore.wrap(new DictionaryStore(new Map())));
      const db = CountingStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([memory, shared, db], { replayInterval: 0, breaker: { failureThreshold: 1_000_000 }, maxPendingInvalidations: 2 });
      const rows = [1, 2, 3].map((id) => new Foo(id, id, 'a'));
      await chain.batchPut(rows);
      shared.fault({ kind: 'throw' });
      await chain.invalidate(rows); // two remembered, the third overflows: Foo is to be cleared there
      shared.heal();
      shared.resetCounts();
      await Promise.all([chain.batchGet(Foo, [{ id: 1 }]), chain.batchGet(Foo, [{ id: 2 }]), chain.batchGet(Foo, [{ id: 3 }])]);
      expect(shared.counts.clear).toBe(1);
      expect(shared.counts.reserve ?? 0).toBe(0); // the two remembered invalidations went with the clear
      // Refilled at once: no reservation blocks the fills.
      db.resetCounts();
      memory.clear();
      expect((await chain.batchGet(Foo, [{ id: 1 }, { id: 2 }, { id: 3 }])).map((f) => f?.bar)).toEqual(['a', 'a', 'a']);
      expect(db.calls('batchGet')).toBe(0);
    });

    it('reaches other processes through the bus', async () => {
      const hub = new MemoryBusHub();
      const backend = new Map<string, string>();
      const db = new MemoryDatabase();
      const procs = [0, 1].map(() => {
        const memory = new ProcessMemoryStore();
        const chain = new ChainedStore([memory, new DictionaryStore(backend), db], { bus: hub.bus() });
        return { memory, chain };
      });
      hub.deliverAll();
      await procs[0]!.chain.put(new Foo(1, 1, 'a'));
      expect(await procs[1]!.chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'a' });
      await behindTheCache(db, new Foo(1, 1, 'b'));
      await procs[0]!.chain.clear(Foo);
      hub.deliverAll();
      expect(procs[1]!.memory.peek(Foo, { id: 1 })).toBeUndefined();
      expect(await procs[1]!.chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'b' });
      await Promise.all(procs.map((p) => p.chain.release()));
    });
  });
});
