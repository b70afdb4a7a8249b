import 'reflect-metadata';
import { ChainedStore, DictionaryStore, Stockpyle, type Class, type KeyQuery } from '@stockpyle/core';
import { ExpiringMap } from '../support/expiring-map';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id'], name: 'regression.BriefValue.Doc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A database whose next read answers (with what it read) only when the test says so. */
class HeldDatabase extends MemoryDatabase {
  #held: Promise<void> | undefined;
  #go = (): void => undefined;

  holdNextRead(): () => void {
    this.#held = new Promise((resolve) => (this.#go = resolve));
    return () => this.#go();
  }

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const found = await super.batchGet(cls, queries);
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) await held;
    return found;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// Found by the driven race suite races/outlived-tombstone: a write-through committed a value whose
// lifetime (1 s) was shorter than the tombstone it replaced (5 s); once it expired the key was
// empty, and the fill of a read made before the write put the older version back.
describe('ChainedStore', () => {
  describe('put()', () => {
    let now = Date.UTC(2030, 0, 1);
    const realNow = Date.now;
    beforeEach(() => {
      Date.now = () => now;
    });
    afterEach(() => {
      Date.now = realNow;
    });

    it('never lets a fill read before it replace a value that expired before its tombstone would have', async () => {
      const shared = new DictionaryStore(new ExpiringMap(), { lifetime: () => 1 });
      const db = new HeldDatabase();
      await db.put(new Doc(1, 1));
      const chain = new ChainedStore([shared, db]);
      const go = db.holdNextRead();
      const reading = chain.get(Doc, { id: 1 }); // reads version 1 from the database, answers late
      await tick();
      await chain.put(new Doc(1, 2));
      now += 1_500; // version 2's lifetime is over; a tombstone would still live
      go();
      expect((await reading)?.version).toBe(1);
      expect(await shared.get(Doc, { id: 1 })).toBeUndefined();
      expect((await chain.get(Doc, { id: 1 }))?.version).toBe(2);
    });
  });
});
