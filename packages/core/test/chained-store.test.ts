import 'reflect-metadata';
import { ChainedStore, ConfigurationError, DictionaryStore, ProcessMemoryStore, Stockpyle, type StoreEvent } from '@stockpyle/core';
import { CountingStore, FaultyStore } from '@stockpyle/core/testing';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'chain.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string, public version = 1) {}
}

function tiers() {
  const memory = CountingStore.wrap(new ProcessMemoryStore());
  const shared = CountingStore.wrap(new DictionaryStore(new Map()));
  const db = CountingStore.wrap(new MemoryDatabase());
  return { memory, shared, db, chain: new ChainedStore([memory, shared, db]) };
}

describe('ChainedStore', () => {
  describe('constructor', () => {
    it('throws ConfigurationError for an empty chain', () => {
      expect(() => new ChainedStore([])).toThrow(ConfigurationError);
    });

    it('throws ConfigurationError for something that is not a store', () => {
      expect(() => new ChainedStore([{} as never])).toThrow(/stores\[0\] is not a store/);
    });
  });

  describe('get()', () => {
    it('after put, a get touches only the first tier', async () => {
      const { memory, shared, db, chain } = tiers();
      await chain.put(new Foo(1, 2, 'a'));
      [memory, shared, db].forEach((s) => s.resetCounts());
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      expect(memory.calls()).toBe(1);
      expect(shared.calls() + db.calls()).toBe(0);
    });

    it('a hit lower down is written back into every tier above that missed', async () => {
      const { memory, shared, db, chain } = tiers();
      await db.put(new Foo(1, 2, 'a'));
      expect(await chain.get(Foo, { zap: 2, bar: 'a' })).toMatchObject({ id: 1 });
      expect(await memory.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      expect(await shared.get(Foo, { zap: 2, bar: 'a' })).toMatchObject({ id: 1 });
      db.resetCounts();
      await chain.get(Foo, { id: 1 });
      expect(db.calls()).toBe(0);
    });

    it('returns undefined when no tier has it', async () => {
      const { chain } = tiers();
      expect(await chain.get(Foo, { id: 404 })).toBeUndefined();
    });
  });

  describe('batchGet()', () => {
    it('asks each tier only for what is still missing, in one batch per tier', async () => {
      const { memory, shared, db, chain } = tiers();
      const [a, b, c] = [new Foo(1, 1, 'a'), new Foo(2, 2, 'b'), new Foo(3, 3, 'c')];
      await memory.put(a);
      await shared.put(b);
      await db.put(c);
      [memory, shared, db].forEach((s) => s.resetCounts());
      const got = await chain.batchGet(Foo, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
      expect(got.map((f) => f?.id)).toEqual([1, 2, 3, undefined]);
      expect(memory.counts.lookup).toBe(1);
      expect(shared.counts.lookup).toBe(1);
      expect(db.counts.batchGet).toBe(1);
      expect(db.asked.at(-1)).toEqual([{ id: 3 }, { id: 4 }]);
    });
  });

  describe('put()', () => {
    it('writes the most persistent store first, then each cache upward', async () => {
      const order: string[] = [];
      const memory = new ProcessMemoryStore();
      const shared = new DictionaryStore(new Map());
      const db = new MemoryDatabase();
      const chain = new ChainedStore([memory, shared, db]);
      for (const [name, s] of [['memory', memory], ['shared', shared]] as const) {
        const commit = s.commit.bind(s);
        jest.spyOn(s, 'commit').mockImplementation(async (o, t) => (order.push(name), commit(o, t)));
      }
      const put = db.batchPut.bind(db);
      jest.spyOn(db, 'batchPut').mockImplementation(async (o) => (order.push('db'), put(o)));
      await chain.put(new Foo(1, 2, 'a'));
      expect(order).toEqual(['db', 'shared', 'memory']);
    });

    it('a change of a key attribute leaves nothing under the old key in any tier', async () => {
      const { memory, shared, chain } = tiers();
      await chain.put(new Foo(1, 2, 'a'));
      await chain.put(new Foo(1, 3, 'a'));
      expect(await chain.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
      expect(await memory.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
      expect(await shared.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
    });
  });

  describe('delete()', () => {
    it('removes the object from every tier', async () => {
      const { memory, shared, db, chain } = tiers();
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      await chain.delete(foo);
      for (const s of [memory, shared, db]) expect(await s.get(Foo, { id: 1 })).toBeUndefined();
      expect(await chain.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
    });
  });

  describe('adopt hook', () => {
    it('hands objects that came out of a cache tier to the stores below', async () => {
      const db = new MemoryDatabase() as MemoryDatabase & { adopt(objs: readonly object[]): object[] };
      const adopted: object[] = [];
      db.adopt = (objs) => (adopted.push(...objs), [...objs]);
      const memory = new ProcessMemoryStore();
      const chain = new ChainedStore([memory, db]);
      await chain.put(new Foo(1, 2, 'a'));
      await chain.get(Foo, { id: 1 });
      expect(adopted).toHaveLength(1);
      adopted.length = 0;
      memory.clear();
      await chain.get(Foo, { id: 1 });
      expect(adopted).toHaveLength(0);
    });
  });

  describe('failure', () => {
    it('a throwing cache tier is skipped and reported; the database answers', async () => {
      const memory = new ProcessMemoryStore();
      const shared = FaultyStore.wrap(new DictionaryStore(new Map()));
      const db = new MemoryDatabase();
      const events: StoreEvent[] = [];
      const chain = new ChainedStore([memory, shared, db]);
      chain.on('error', (e) => events.push(e));
      await db.put(new Foo(1, 2, 'a'));
      shared.fault({ kind: 'throw' });
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      expect(events[0]).toMatchObject({ type: 'error', store: 'DictionaryStore', operation: 'batchGet' });
    });

    it('a hanging cache tier costs at most the tier deadline', async () => {
      const shared = FaultyStore.wrap(new DictionaryStore(new Map()));
      const db = new MemoryDatabase();
      const chain = new ChainedStore([shared, db], { tierTimeout: 20 });
      await db.put(new Foo(1, 2, 'a'));
      shared.fault({ kind: 'hang' });
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      shared.heal();
    });

    it('opens the circuit after repeated failures and stops calling the tier', async () => {
      const shared = CountingStore.wrap(FaultyStore.wrap(new DictionaryStore(new Map())));
      const db = new MemoryDatabase();
      const states: string[] = [];
      const chain = new ChainedStore([shared, db], { breaker: { failureThreshold: 2, resetAfter: 60_000 } });
      chain.on('circuit', (e) => states.push(e.state));
      shared.fault({ kind: 'throw' });
      for (let i = 0; i < 5; i++) await chain.batchGet(Foo, [{ id: i }]);
      expect(shared.counts.lookup).toBe(2);
      expect(states).toEqual(['open']);
    });

    it("the database's own errors reach the caller", async () => {
      const db = FaultyStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([new ProcessMemoryStore(), db]);
      db.fault({ kind: 'throw', error: new Error('db down') });
      await expect(chain.get(Foo, { id: 1 })).rejects.toThrow('db down');
      await expect(chain.put(new Foo(1, 2, 'a'))).rejects.toThrow('db down');
    });

    it('a tier that missed an invalidation is cleaned before it is trusted again', async () => {
      const shared = FaultyStore.wrap(new DictionaryStore(new Map()));
      const db = new MemoryDatabase();
      const chain = new ChainedStore([shared, db], { breaker: { failureThreshold: 1, resetAfter: 0 } });
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      shared.fault({ kind: 'throw' });
      await chain.put(new Foo(1, 2, 'a', 2));
      shared.heal();
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ version: 2 });
    });
  });

  describe('background replay of missed invalidations', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    /** A chain whose shared tier misses the second version's write; `other` reads the same backend. */
    async function missedWrite(options: ConstructorParameters<typeof ChainedStore>[1] = {}) {
      const backend = new Map<string, unknown>();
      const shared = FaultyStore.wrap(new DictionaryStore(backend));
      const other = new DictionaryStore(backend); // another process on the same backend
      const chain = new ChainedStore([shared, new MemoryDatabase()], { breaker: { failureThreshold: 1, resetAfter: 500 }, ...options });
      const errors: StoreEvent[] = [];
      chain.on('error', (e) => errors.push(e));
      await chain.put(new Foo(1, 2, 'a', 1));
      shared.fault({ kind: 'throw' });
      await chain.put(new Foo(1, 2, 'a', 2));
      expect(await other.get(Foo, { id: 1 })).toMatchObject({ version: 1 }); // what the tier still holds
      return { shared, other, chain, errors };
    }

    it('reach a tier that is back without any call to the chain, after the breaker resetAfter', async () => {
      const { shared, other } = await missedWrite();
      shared.heal();
      await jest.advanceTimersByTimeAsync(499);
      expect(await other.get(Foo, { id: 1 })).toMatchObject({ version: 1 });
      await jest.advanceTimersByTimeAsync(1);
      expect(await other.get(Foo, { id: 1 })).toBeUndefined();
    });

    it('are retried while the tier still fails, each failure reported, until it is back', async () => {
      const { shared, other, errors } = await missedWrite();
      const before = errors.length;
      await jest.advanceTimersByTimeAsync(500 * 3);
      expect(errors.length - before).toBe(3);
      expect(errors.at(-1)).toMatchObject({ operation: 'invalidate' });
      shared.heal();
      await jest.advanceTimersByTimeAsync(500);
      expect(await other.get(Foo, { id: 1 })).toBeUndefined();
      const settled = errors.length;
      await jest.advanceTimersByTimeAsync(500 * 4);
      expect(errors.length).toBe(settled); // nothing left: no more attempts
      expect(jest.getTimerCount()).toBe(0);
    });

    it('stop on release() and with replayInterval: 0, leaving them to the next call', async () => {
      for (const mode of ['release', 'off'] as const) {
        const { shared, other, chain } = await missedWrite(mode === 'off' ? { replayInterval: 0 } : {});
        if (mode === 'release') await chain.release();
        shared.heal();
        await jest.advanceTimersByTimeAsync(5_000);
        expect(await other.get(Foo, { id: 1 })).toMatchObject({ version: 1 });
        // (batchGet: a get would wait for a process.nextTick, which the fake timers hold)
        expect(await chain.batchGet(Foo, [{ id: 1 }])).toMatchObject([{ version: 2 }]); // the next call replays first
        expect(await other.get(Foo, { id: 1 })).toBeUndefined(); // invalidated there (its tombstone then blocks fills a while)
      }
    });

    it('replayInterval must be a number of ms', () => {
      expect(() => new ChainedStore([new MemoryDatabase()], { replayInterval: -1 })).toThrow(ConfigurationError);
    });
  });

  describe('coalescing', () => {
    it('gets issued in the same tick are served as one batch per tier', async () => {
      const { db, chain } = tiers();
      for (let i = 0; i < 100; i++) await db.put(new Foo(i, i, `b${i}`));
      db.resetCounts();
      const got = await Promise.all(Array.from({ length: 100 }, (_, i) => chain.get(Foo, { id: i })));
      expect(got.map((f) => f?.id)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(db.counts.batchGet).toBe(1);
    });

    it('1,000 concurrent gets of one cold key ask the database once, for one key', async () => {
      const { db, chain } = tiers();
      await db.put(new Foo(7, 7, 'x'));
      db.resetCounts();
      db.asked.length = 0;
      const got = await Promise.all(Array.from({ length: 1000 }, () => chain.get(Foo, { id: 7 })));
      expect(got.every((f) => f?.id === 7)).toBe(true);
      expect(db.counts.batchGet).toBe(1);
      expect(db.asked).toEqual([[{ id: 7 }]]);
    });

    it('a get after a put does not join a read that started before it', async () => {
      const db = FaultyStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([new ProcessMemoryStore(), db]);
      await db.put(new Foo(1, 2, 'a', 1));
      db.fault({ kind: 'hang' }, ['batchGet']);
      const early = chain.get(Foo, { id: 1 });
      await new Promise((r) => setImmediate(r));
      db.fault({ kind: 'ok' });
      await chain.put(new Foo(1, 2, 'a', 2));
      const late = await chain.get(Foo, { id: 1 });
      expect(late).toMatchObject({ version: 2 });
      db.heal();
      await early;
    });
  });
});

describe('ChainedStore events', () => {
  it('a first-tier miss is counted once, a first-tier hit once', async () => {
    const memory = new ProcessMemoryStore();
    const db = new MemoryDatabase();
    const counts: string[] = [];
    memory.on('hit', (e) => counts.push(`hit:${e.count}`)).on('miss', (e) => counts.push(`miss:${e.count}`));
    const chain = new ChainedStore([memory, db]);
    await db.put(new Foo(1, 2, 'a'));
    await chain.get(Foo, { id: 1 });
    await chain.get(Foo, { id: 1 });
    expect(counts).toEqual(['miss:1', 'hit:1']);
  });
});
