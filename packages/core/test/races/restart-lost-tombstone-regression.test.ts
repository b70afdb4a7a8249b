import 'reflect-metadata';
import { ChainedStore, DictionaryStore, Stockpyle } from '@stockpyle/core';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id'], name: 'regression.RestartLostTombstone.Doc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A shared tier whose server can crash and come back empty, as memcached or a Redis without persistence does. */
class CrashableStore extends DictionaryStore {
  constructor(readonly entries: Map<string, string>) {
    super(entries);
  }

  /** The server restarts empty; the client sees its connection close (as RedisStore and MemcacheStore do). */
  crash(): void {
    this.entries.clear();
    this.noteTrouble();
  }
}

/** A database whose next read answers at once but hands its rows back only when told. */
function holdNextRead(db: MemoryDatabase): { readonly read: Promise<void>; release(): void } {
  let release = (): void => undefined;
  let entered = (): void => undefined;
  const read = new Promise<void>((resolve) => (entered = resolve));
  const held = new Promise<void>((resolve) => (release = resolve));
  const batchGet = db.batchGet.bind(db);
  db.batchGet = async (cls, queries) => {
    db.batchGet = batchGet;
    const rows = await batchGet(cls, queries);
    entered();
    await held;
    return rows;
  };
  return { read, release };
}

// Found by the driven race suite races/model (seed -577757760 on the fakes, 20261203 on the real
// servers): a read missed a shared tier and read the database; a delete committed and left a
// settled tombstone in that tier; the tier's server crashed and restarted empty; the read's fill
// then added the deleted row where the tombstone had been, and every process served it.
describe('ChainedStore', () => {
  describe('get()', () => {
    it('does not fill a tier whose connection broke since the read began (a restart may have lost its tombstones)', async () => {
      const tier = new CrashableStore(new Map());
      const db = new MemoryDatabase();
      await db.put(new Doc(1, 1));
      const chain = new ChainedStore([tier, db]);
      const skips: string[] = [];
      tier.on('skip', (e) => skips.push(e.reason));
      const database = holdNextRead(db);
      const reading = chain.get(Doc, { id: 1 }); // misses the tier, reads version 1, waits
      await database.read;
      await chain.delete(new Doc(1, 1)); // the database row goes, the tier keeps a settled tombstone
      tier.crash();
      database.release();
      expect(await reading).toEqual(new Doc(1, 1)); // what the database said when it was read
      expect(await tier.get(Doc, { id: 1 })).toBeUndefined();
      expect(await chain.get(Doc, { id: 1 })).toBeUndefined();
      expect(skips).toContain('the backend was unreachable too recently to trust its tombstones');
    });

    it('fills it again once a tombstone lifetime has passed since the connection broke', async () => {
      let now = 1_000_000;
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
      try {
        const tier = new CrashableStore(new Map());
        const db = new MemoryDatabase();
        await db.put(new Doc(1, 1));
        const chain = new ChainedStore([tier, db]);
        tier.crash();
        now += tier.tombstoneMs - 1;
        await chain.get(Doc, { id: 1 }); // read began less than a lifetime after: refused
        expect(await tier.get(Doc, { id: 1 })).toBeUndefined();
        now += 1;
        await chain.get(Doc, { id: 1 });
        expect(await tier.get(Doc, { id: 1 })).toEqual(new Doc(1, 1));
        expect(db.asked).toHaveLength(2);
      } finally {
        clock.mockRestore();
      }
    });
  });
});
