import 'reflect-metadata';
import { ChainedStore, DictionaryStore, Stockpyle } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id'], name: 'regression.ExpiredTombstone.Doc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

// Found while writing the regression test for stale pointers (races/key-change): a DictionaryStore
// over a plain Map, which ignores TTLs, kept an expired tombstone and refused every fill of that key
// after it, so an object deleted once was never cached again.
describe('DictionaryStore', () => {
  describe('fill()', () => {
    const realNow = Date.now;
    afterEach(() => {
      Date.now = realNow;
    });

    it('writes over a tombstone that has expired in a backend without TTLs', async () => {
      const db = CountingStore.wrap(new MemoryDatabase());
      const chain = new ChainedStore([new DictionaryStore(new Map()), db]);
      const doc = new Doc(1, 1);
      await chain.put(doc);
      await chain.delete(doc);
      await db.put(new Doc(1, 2)); // inserted again through the ORM, after the tombstone has expired
      const later = realNow() + 60_000;
      Date.now = () => later;
      db.resetCounts();
      expect((await chain.get(Doc, { id: 1 }))?.version).toBe(2);
      expect((await chain.get(Doc, { id: 1 }))?.version).toBe(2);
      expect(db.counts.batchGet).toBe(1);
    });
  });
});
