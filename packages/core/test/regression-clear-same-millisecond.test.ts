import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { MemoryDatabase } from './support/memory-database';

// Found by the bus race suite (CI seed 42): an in-process tier compared a read's start with its
// last clear() in milliseconds. With `<`, a read that missed the tier, then saw the tier cleared
// (the bus reconnecting) in the same millisecond, filled it with what it read before the clear —
// which may be what a missed bus message changed. With `<=`, a clear followed at once by a read
// left the tier unfilled. The tier now counts its clears and each read notes the count.

@Stockpyle({ keys: ['id'], name: 'regression.ClearSameMs' })
class Doc {
  constructor(public id: number, public version: number) {}
}

describe('an in-process tier cleared in the same millisecond as a read', () => {
  let clock: jest.SpyInstance<number, []>;
  beforeEach(() => (clock = jest.spyOn(Date, 'now').mockReturnValue(1_000_000)));
  afterEach(() => clock.mockRestore());

  it('refuses the fill of a read that looked before the clear', async () => {
    const memory = new ProcessMemoryStore();
    const db = new MemoryDatabase();
    await db.put(new Doc(1, 1));
    const chain = new ChainedStore([memory, db]);
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const read = db.batchGet.bind(db);
    let entered = (): void => undefined;
    const inDb = new Promise<void>((resolve) => (entered = resolve));
    db.batchGet = async (cls, queries) => {
      db.batchGet = read;
      const rows = await read(cls, queries);
      entered();
      await held;
      return rows;
    };
    const reading = chain.get(Doc, { id: 1 }); // misses memory, reads the database, waits
    await inDb;
    memory.clear(); // same millisecond: Date.now() is fixed
    release();
    expect(await reading).toEqual(new Doc(1, 1));
    expect(await memory.get(Doc, { id: 1 })).toBeUndefined();
    expect(db.asked).toHaveLength(1);
  });

  it('fills after a clear that came first, in the same millisecond', async () => {
    const memory = new ProcessMemoryStore();
    const db = new MemoryDatabase();
    await db.put(new Doc(1, 1));
    const chain = new ChainedStore([memory, db]);
    memory.clear();
    expect(await chain.get(Doc, { id: 1 })).toEqual(new Doc(1, 1));
    expect(await memory.get(Doc, { id: 1 })).toEqual(new Doc(1, 1));
    expect(await chain.get(Doc, { id: 1 })).toEqual(new Doc(1, 1));
    expect(db.asked).toHaveLength(1);
  });
});
