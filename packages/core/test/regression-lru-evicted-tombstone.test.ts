import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { RecentWrites } from '../src/recent-writes';
import { MemoryDatabase } from './support/memory-database';

// Found by the fault suites: a ProcessMemoryStore small enough to evict under load served an older
// version. A reader's database read started before a write; the write's tombstone and committed
// value were then evicted by the LRU; the reader's fill found the key empty and stored its older copy.

@Stockpyle({ keys: ['id'], name: 'regression.EvictedDoc' })
class Doc {
  constructor(public id: number, public version: number) {}
}

/** A database whose next batchGet answers only when `release()` is called (its rows are read at once). */
function heldDatabase(): { db: MemoryDatabase; release: () => void } {
  const db = new MemoryDatabase();
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const read = db.batchGet.bind(db);
  let held = false;
  db.batchGet = (async (cls: never, queries: never) => {
    const rows = await read(cls, queries);
    if (!held) {
      held = true;
      await gate;
    }
    return rows;
  }) as typeof db.batchGet;
  return { db, release };
}

describe('ProcessMemoryStore with a small max', () => {
  it('a late fill never brings back an older version after the LRU evicted the newer one', async () => {
    const memory = new ProcessMemoryStore({ max: 2 });
    const { db, release } = heldDatabase();
    await db.put(new Doc(1, 1));
    const chain = new ChainedStore([memory, db]);
    const reading = chain.get(Doc, { id: 1 }); // reads version 1, answered only after the write below
    await new Promise((resolve) => setTimeout(resolve, 5));
    await chain.put(new Doc(1, 2));
    await chain.batchPut([new Doc(2, 1), new Doc(3, 1)]); // evicts id 1 (tombstone and value)
    release();
    expect((await reading)?.version).toBe(1); // it started before the write: fine
    expect((await chain.get(Doc, { id: 1 }))?.version).toBe(2);
    expect((await memory.get(Doc, { id: 1 }))?.version).not.toBe(1);
  });

  it('a fill from a read that began after a write reserved the key, but before it reached the database, is refused', async () => {
    const memory = new ProcessMemoryStore({ max: 2 });
    const db = new MemoryDatabase();
    await db.put(new Doc(1, 1));
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const put = db.batchPut.bind(db);
    db.batchPut = async (objs) => {
      await held;
      return put(objs);
    };
    const chain = new ChainedStore([memory, db]);
    const writing = chain.put(new Doc(1, 2)); // tombstone reserved; the database write waits
    await new Promise((resolve) => setTimeout(resolve, 5));
    await memory.batchPut([new Doc(2, 1), new Doc(3, 1)]); // evicts the tombstone
    expect((await chain.get(Doc, { id: 1 }))?.version).toBe(1); // the database still has 1
    expect(await memory.get(Doc, { id: 1 })).toBeUndefined(); // but it was not filled
    release();
    await writing;
    await memory.batchPut([new Doc(2, 1), new Doc(3, 1)]);
    expect((await chain.get(Doc, { id: 1 }))?.version).toBe(2);
  });

  it('a fill of a key nobody wrote lately is still stored', async () => {
    const memory = new ProcessMemoryStore({ max: 2 });
    const db = new MemoryDatabase();
    await db.put(new Doc(7, 1));
    const chain = new ChainedStore([memory, db]);
    expect((await chain.get(Doc, { id: 7 }))?.version).toBe(1);
    expect((await memory.get(Doc, { id: 7 }))?.version).toBe(1);
  });
});

describe('RecentWrites', () => {
  it('a tombstone blocks every fill until it expires, as the evicted tombstone would have', () => {
    const recent = new RecentWrites(1000, 10);
    recent.tomb('a', 1100, 100);
    expect(recent.blocks('a', 500, 600)).toBe(true); // a read that started after the tombstone still waits
    expect(recent.blocks('a', 500, 1100)).toBe(false);
    expect(recent.blocks('b', 0, 600)).toBe(false);
  });

  it('a value replacing the tombstone blocks only fills whose read started no later than it', () => {
    const recent = new RecentWrites(1000, 10);
    recent.tomb('a', 1100, 100);
    recent.value('a', 200);
    expect(recent.blocks('a', 200, 300)).toBe(true);
    expect(recent.blocks('a', 201, 300)).toBe(false);
  });

  it('forgets entries that can block nothing any more', () => {
    const recent = new RecentWrites(1000, 10);
    recent.value('a', 100);
    expect(recent.blocks('a', 0, 1100)).toBe(false);
  });

  it('past its bound it forgets the oldest keys, and what they blocked is blocked for every key', () => {
    const recent = new RecentWrites(1000, 2);
    recent.tomb('a', 1000, 0);
    recent.value('b', 10);
    recent.value('c', 20); // forgets 'a'
    expect(recent.blocks('z', 500, 500)).toBe(true);
    expect(recent.blocks('z', 500, 1000)).toBe(false);
  });
  it('a key written again counts from its newest write when the oldest are forgotten', () => {
    const recent = new RecentWrites(1000, 2);
    recent.value('a', 10);
    recent.value('b', 20);
    recent.value('a', 30);
    recent.value('c', 40); // forgets 'b', the oldest current entry, not 'a'
    expect(recent.blocks('z', 20, 50)).toBe(true);
    expect(recent.blocks('z', 21, 50)).toBe(false);
    expect(recent.blocks('a', 25, 50)).toBe(true);
  });

  it('keeps answering from the newest writes when a few keys are written again and again', () => {
    const recent = new RecentWrites(1000, 4);
    for (let t = 0; t < 100_000; t++) recent.value(t % 3 === 0 ? 'hot' : `k${t % 5}`, t);
    expect(recent.blocks('hot', 99_999, 99_999)).toBe(true);
    expect(recent.blocks('k0', 100_000, 100_000)).toBe(false);
  });
});
