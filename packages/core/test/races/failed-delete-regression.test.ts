import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, TimeoutError } from '@stockpyle/core';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'regression.FailedDelete.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string) {}
}

/** A database that deletes, then reports a failure: its reply was lost, the row is gone. */
class LostReplyDatabase extends MemoryDatabase {
  override async batchDelete(objs: readonly object[]): Promise<void> {
    await super.batchDelete(objs);
    throw new TimeoutError('the database did not answer in time');
  }
}

// Found by the driven race suite races/write-failure: when the database's delete failed after
// deleting, the chain left every cache as it was, so they served the deleted object on (and a
// fill racing the delete could bring it back).
describe('ChainedStore', () => {
  describe('delete()', () => {
    it('leaves tombstones in every cache even when the database call fails', async () => {
      const memory = new ProcessMemoryStore();
      const shared = new DictionaryStore(new Map());
      const db = new LostReplyDatabase();
      const chain = new ChainedStore([memory, shared, db]);
      const foo = new Foo(1, 2, 'a');
      await chain.put(foo);
      await expect(chain.delete(foo)).rejects.toThrow(TimeoutError);
      for (const tier of [memory, shared]) {
        expect(await tier.get(Foo, { id: 1 })).toBeUndefined();
        expect(await tier.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
      }
      expect(await chain.get(Foo, { id: 1 })).toBeUndefined();
      // A fill of the version read before the delete finds the tombstone.
      await shared.fill([foo], Date.now());
      expect(await shared.get(Foo, { id: 1 })).toBeUndefined();
    });
  });
});
