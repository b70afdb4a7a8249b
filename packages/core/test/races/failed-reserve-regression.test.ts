import 'reflect-metadata';
import { ChainedStore, DictionaryStore, Stockpyle, TimeoutError, type WriteTicket } from '@stockpyle/core';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id'], name: 'regression.FailedReserve.Doc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A shared tier whose next reservation times out without reaching the server. */
class FlakyStore extends DictionaryStore {
  failNextReserve = false;

  override async reserve(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    if (this.failNextReserve) {
      this.failNextReserve = false;
      throw new TimeoutError('the reservation did not answer');
    }
    return super.reserve(objs, ticket);
  }
}

/** A database whose next write is applied only when told. */
function holdNextWrite(db: MemoryDatabase): { readonly entered: Promise<void>; release(): void } {
  let release = (): void => undefined;
  let enter = (): void => undefined;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const held = new Promise<void>((resolve) => (release = resolve));
  const batchPut = db.batchPut.bind(db);
  db.batchPut = async (objs) => {
    db.batchPut = batchPut;
    enter();
    await held;
    return batchPut(objs);
  };
  return { entered, release };
}

// Found by the driven race suite races/model (seed 863852714 on the fakes): a write's reservation
// in a tier failed, so the chain remembered to invalidate the tier; a call before the write reached
// the database replayed that invalidation; a second write of the same chain then reserved,
// reached the database first and committed its version in the tier, and the first write landed in
// the database after it. Nothing invalidated the tier again: it served the second write's version.
describe('ChainedStore', () => {
  describe('put()', () => {
    it('invalidates a tier whose reservation failed again after the database write', async () => {
      const tier = new FlakyStore(new Map());
      const db = new MemoryDatabase();
      const chain = new ChainedStore([tier, db], { replayInterval: 0 });
      tier.failNextReserve = true;
      const database = holdNextWrite(db);
      const first = chain.put(new Doc(1, 1)); // its reservation fails; its database write waits
      await database.entered;
      await chain.get(Doc, { id: 2 }); // a call to the tier: the remembered invalidation is replayed
      await chain.put(new Doc(1, 2)); // reserves, writes the database, commits version 2 in the tier
      database.release();
      await first; // version 1 is the database's now
      expect((await db.get(Doc, { id: 1 }))?.version).toBe(1);
      expect(await chain.get(Doc, { id: 1 })).toEqual(new Doc(1, 1));
      expect((await tier.get(Doc, { id: 1 }))?.version).not.toBe(2);
    });
  });
});
