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
  it('tells whether a key was written at or after a read started, within the window', () => {
    const recent = new RecentWrites(1000, 10);
    recent.note('a', 100);
    expect(recent.since('a', 100, 500)).toBe(true);
    expect(recent.since('a', 99, 500)).toBe(true);
    expect(recent.since('a', 101, 500)).toBe(false);
    expect(recent.since('b', 0, 500)).toBe(false);
    expect(recent.since('a', 0, 1100)).toBe(false); // aged out: the fill is too late to be sent anyway
  });

  it('past its bound it forgets the oldest keys and refuses fills whose reads started before them', () => {
    const recent = new RecentWrites(1000, 2);
    recent.note('a', 0);
    recent.note('b', 10);
    recent.note('c', 20); // forgets 'a'
    expect(recent.since('a', 0, 50)).toBe(true);
    expect(recent.since('z', 0, 50)).toBe(true);
    expect(recent.since('z', 1, 50)).toBe(false);
    expect(recent.since('c', 1, 50)).toBe(true);
  });
});
