import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, TimeoutError } from '@stockpyle/core';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id'], name: 'regression.LostCommitReply.Doc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A database that holds the write of version 3 until told, then commits it and loses the reply. */
class SlowLossyDatabase extends MemoryDatabase {
  go = (): void => undefined;

  override async batchPut(objs: readonly object[]): Promise<void> {
    if ((objs[0] as Doc).version !== 3) return super.batchPut(objs);
    await new Promise<void>((resolve) => (this.go = resolve));
    await super.batchPut(objs);
    throw new TimeoutError('the database committed but did not answer in time');
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// Found by the driven race suite races/model: two writers of one object, the one that reserved the
// caches first committing to the database last and losing the reply. The other writer's value
// replaced the last reservation, and the failed write left it there: older than the database's.
describe('ChainedStore', () => {
  describe('put()', () => {
    it('tombstones the caches again when the database fails, as it may have committed', async () => {
      const memory = new ProcessMemoryStore();
      const shared = new DictionaryStore(new Map());
      const db = new SlowLossyDatabase();
      const chain = new ChainedStore([memory, shared, db]);
      const first = chain.put(new Doc(1, 3)); // reserves, then waits in the database
      const failed = expect(first).rejects.toThrow(TimeoutError);
      await tick();
      await chain.put(new Doc(1, 4)); // reserves after, commits first: its value is in the caches
      db.go(); // version 3 commits last: the database's version
      await failed;
      for (const tier of [memory, shared]) expect((await tier.get(Doc, { id: 1 }))?.version).not.toBe(4);
      expect((await chain.get(Doc, { id: 1 }))?.version).toBe(3);
    });
  });
});
