import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle, type Class, type KeyQuery } from '@stockpyle/core';
import { MemoryDatabase } from '../support/memory-database';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'regression.SharedReads.Foo' })
class Foo {
  constructor(public id: number, public zap: number, public bar: string, public version: number) {}
}

/**
 * A database whose answers wait for the test: a held read has already read the rows (it answers
 * with them as they were), a held write waits before it applies and again before it answers.
 */
class HeldDatabase extends MemoryDatabase {
  holdReads = false;
  holdWrites = false;
  readonly heldReads: (() => void)[] = [];
  readonly heldWrites: (() => void)[] = [];

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const found = await super.batchGet(cls, queries);
    if (this.holdReads) await new Promise<void>((go) => this.heldReads.push(go));
    return found;
  }

  override async batchPut(objs: readonly object[]): Promise<void> {
    if (this.holdWrites) await new Promise<void>((go) => this.heldWrites.push(go));
    await super.batchPut(objs);
    if (this.holdWrites) await new Promise<void>((go) => this.heldWrites.push(go));
  }

  /** Lets the oldest held write take its next step. */
  step(): void {
    this.heldWrites.shift()?.();
  }

  /** Lets everything go, from now on. */
  releaseAll(): void {
    this.holdReads = false;
    this.holdWrites = false;
    this.heldReads.splice(0).forEach((go) => go());
    this.heldWrites.splice(0).forEach((go) => go());
  }
}

/** `cached: false` leaves out the memory tier, whose hit after a write would hide a shared read. */
async function setUp(cached = true): Promise<{ db: HeldDatabase; chain: ChainedStore }> {
  const db = new HeldDatabase();
  await db.put(new Foo(1, 1, 'b', 1));
  return { db, chain: new ChainedStore(cached ? [new ProcessMemoryStore(), db] : [db]) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// Found by the driven race suites (races/key-change, races/stale-set): a `get` shared the answer of
// a read of the same key already in flight, though that read could have seen the database before a
// write that had since committed there.
describe('ChainedStore', () => {
  describe('get()', () => {
    it('does not join a read that began before a write changed the key attribute it asks by', async () => {
      const { db, chain } = await setUp();
      db.holdReads = true;
      const before = chain.get(Foo, { zap: 1, bar: 'b' });
      await tick();
      await chain.put(new Foo(1, 2, 'b', 2));
      const after = chain.get(Foo, { zap: 1, bar: 'b' });
      await tick();
      db.releaseAll();
      expect((await before)?.version).toBe(1);
      expect(await after).toBeUndefined();
    });

    it('does not join a read that began during a write once the write has returned', async () => {
      const { db, chain } = await setUp(false);
      db.holdReads = true;
      db.holdWrites = true;
      const write = chain.put(new Foo(1, 1, 'b', 2));
      await tick();
      const during = chain.get(Foo, { id: 1 });
      await tick();
      db.step();
      await tick();
      db.step();
      await write;
      const after = chain.get(Foo, { id: 1 });
      await tick();
      db.releaseAll();
      expect((await during)?.version).toBe(1);
      expect((await after)?.version).toBe(2);
    });

    it('does not join a read that began before a write committed in the database, while that write is still running', async () => {
      const { db, chain } = await setUp();
      db.holdReads = true;
      db.holdWrites = true;
      const write = chain.put(new Foo(1, 1, 'b', 2));
      await tick();
      const during = chain.get(Foo, { id: 1 });
      await tick();
      db.step(); // the database has the new version; the write has not returned yet
      await tick();
      const afterCommit = chain.get(Foo, { id: 1 });
      await tick();
      db.releaseAll();
      await write;
      expect((await during)?.version).toBe(1);
      expect((await afterCommit)?.version).toBe(2);
    });
  });
});
