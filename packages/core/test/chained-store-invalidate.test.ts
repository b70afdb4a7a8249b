import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, type StoreEvent } from '@stockpyle/core';
import { CountingStore, FaultyStore } from '@stockpyle/core/testing';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'invalidate.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string) {}
}

/** A database whose writes call back into the chain, as an ORM subscriber does after its commit. */
class ReportingDatabase extends MemoryDatabase {
  onWrite: ((objs: readonly object[]) => Promise<void>) | undefined;

  override async batchPut(objs: readonly object[]): Promise<void> {
    await super.batchPut(objs);
    await this.onWrite?.(objs);
  }
}

describe('ChainedStore', () => {
  describe('invalidate()', () => {
    it('tombstones every cache tier and never touches the database', async () => {
      const memory = CountingStore.wrap(new ProcessMemoryStore());
      const shared = CountingStore.wrap(new DictionaryStore(new Map()));
      const db = CountingStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([memory, shared, db]);
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      db.resetCounts();
      await chain.invalidate([foo]);
      expect(db.calls()).toBe(0);
      expect(await memory.get(Foo, { id: 1 })).toBeUndefined();
      expect(await shared.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
      expect(await db.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
    });

    it('skips objects the chain is writing itself when called from inside that write', async () => {
      const memory = new ProcessMemoryStore();
      const db = new ReportingDatabase();
      const chain = new ChainedStore([memory, db]);
      const other = new Foo(2, 3, 'b');
      await chain.put(other);
      db.onWrite = (objs) => chain.invalidate([...objs, other]);
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      expect(await memory.get(Foo, { id: 1 })).toBe(foo);
      expect(await memory.get(Foo, { id: 2 })).toBeUndefined();
    });

    it('reports a failing tier instead of throwing, and invalidates it again before using it', async () => {
      const shared = FaultyStore.wrap(new DictionaryStore(new Map()));
      const chain = new ChainedStore([shared, new MemoryDatabase()], { breaker: { failureThreshold: 100 } });
      const events: StoreEvent[] = [];
      chain.on('error', (e) => events.push(e));
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      shared.fault({ kind: 'throw' });
      await expect(chain.invalidate([foo])).resolves.toBeUndefined();
      expect(events).toEqual([expect.objectContaining({ type: 'error', operation: 'invalidate' })]);
      shared.heal();
      expect(await chain.get(Foo, { id: 1 })).toMatchObject({ id: 1 });
      expect(await shared.get(Foo, { id: 1 })).toBeUndefined();
    });
  });
});
