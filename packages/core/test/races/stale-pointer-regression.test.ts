import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { ExpiringMap } from '../support/expiring-map';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'regression.StalePointer.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string) {}
}

// Found by the driven race suite races/key-change (its refill check): when an object gave up an
// alternate key and another took it through the ORM (which only invalidates), the pointer left
// under that key kept every later fill from writing the new one, so the key was never cached again.
describe('ChainedStore', () => {
  describe('get()', () => {
    const realNow = Date.now;
    afterEach(() => {
      Date.now = realNow;
    });

    it.each([
      ['a shared tier', () => new DictionaryStore(new ExpiringMap())],
      ['process memory', () => new ProcessMemoryStore()],
    ])('caches an alternate key again in %s once another object has taken it', async (_name, tier) => {
      const db = CountingStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([tier(), db]);
      const old = new Foo(1, 7, 'b');
      await chain.put(old);
      await chain.get(Foo, { zap: 7, bar: 'b' });
      // The ORM deletes the old object and inserts one with its alternate key; the subscriber invalidates both.
      await db.delete(old);
      const taken = new Foo(3, 7, 'b');
      await db.put(taken);
      await chain.invalidate([old, taken]);
      const later = realNow() + 60_000; // the tombstones have expired
      Date.now = () => later;
      db.resetCounts();
      expect((await chain.get(Foo, { zap: 7, bar: 'b' }))?.id).toBe(3);
      expect((await chain.get(Foo, { zap: 7, bar: 'b' }))?.id).toBe(3);
      expect(db.counts.batchGet).toBe(1);
    });
  });
});
