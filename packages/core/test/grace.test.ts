import 'reflect-metadata';
import { ChainedStore, ConfigurationError, DictionaryStore, ProcessMemoryStore, Stockpyle, type Class, type KeyQuery, type StoreEventOf } from '@stockpyle/core';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', 'email'], name: 'grace.User' })
class User {
  constructor(
    public id: number,
    public email: string,
    public revision: number,
  ) {}
}

/** The source of truth, which can go down: every read then fails as a dropped connection would. */
class FlakyDatabase extends MemoryDatabase {
  down = false;
  readonly outage = new Error('connect ECONNREFUSED 127.0.0.1:5432');

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    if (this.down) throw this.outage;
    return super.batchGet(cls, queries);
  }
}

describe('ChainedStore stale-if-error (grace)', () => {
  let now: number;
  let clock: jest.SpiedFunction<typeof Date.now>;
  beforeEach(() => {
    now = 1_000_000;
    clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => clock.mockRestore());

  /** [memory, shared, database]: the row cached, then invalidated (changed elsewhere), then the database down. */
  async function afterInvalidation(options: { grace?: number } = {}) {
    const memory = new ProcessMemoryStore();
    const shared = new DictionaryStore(new Map());
    const db = new FlakyDatabase();
    await db.put(new User(1, 'a@example.com', 1));
    const chain = new ChainedStore([memory, shared, db], options);
    const stale: StoreEventOf<'stale'>[] = [];
    chain.on('stale', (e) => stale.push(e));
    expect(await chain.get(User, { id: 1 })).toEqual(new User(1, 'a@example.com', 1));
    await chain.invalidate([new User(1, 'a@example.com', 1)]);
    db.down = true;
    return { memory, shared, db, chain, stale };
  }

  it('is off by default: the database error reaches the caller unchanged', async () => {
    const { chain, db, stale } = await afterInvalidation();
    await expect(chain.get(User, { id: 1 })).rejects.toBe(db.outage);
    expect(stale).toEqual([]);
  });

  it('answers with the last version seen when the database fails, reports it, and writes nothing back', async () => {
    const { chain, memory, shared, db, stale } = await afterInvalidation({ grace: 60 });
    now += 30_000;
    const answer = await chain.get(User, { id: 1 });
    expect(answer).toEqual(new User(1, 'a@example.com', 1));
    expect(stale).toEqual([{ type: 'stale', store: chain.name, className: 'grace.User', count: 1, ageMs: 30_000, error: db.outage }]);
    expect(await memory.get(User, { id: 1 })).toBeUndefined();
    expect(await shared.get(User, { id: 1 })).toBeUndefined();
    // By the alternate key too, in one batch.
    expect(await chain.batchGet(User, [{ email: 'a@example.com' }, { id: 1 }])).toEqual([new User(1, 'a@example.com', 1), new User(1, 'a@example.com', 1)]);
    // Once the database is back, its answer again, and the tiers are filled with it.
    db.down = false;
    await db.put(new User(1, 'a@example.com', 2));
    expect((await chain.get(User, { id: 1 }))?.revision).toBe(2);
    expect((await memory.get(User, { id: 1 }))?.revision).toBe(2);
  });

  it('does not answer with a version seen longer ago than the grace', async () => {
    const { chain, db, stale } = await afterInvalidation({ grace: 60 });
    now += 60_001;
    await expect(chain.get(User, { id: 1 })).rejects.toBe(db.outage);
    expect(stale).toEqual([]);
  });

  it('a batch with an object it never saw fails as without grace; coalesced gets fail one by one', async () => {
    const { chain, db } = await afterInvalidation({ grace: 60 });
    await expect(chain.batchGet(User, [{ id: 1 }, { id: 2 }])).rejects.toBe(db.outage);
    const [known, unknown] = await Promise.allSettled([chain.get(User, { id: 1 }), chain.get(User, { id: 2 })]);
    expect(known).toEqual({ status: 'fulfilled', value: new User(1, 'a@example.com', 1) });
    expect(unknown).toEqual({ status: 'rejected', reason: db.outage });
  });

  it('remembers what the chain wrote, and forgets what it deleted', async () => {
    const db = new FlakyDatabase();
    const chain = new ChainedStore([new ProcessMemoryStore(), db], { grace: 60 });
    await chain.put(new User(1, 'a@example.com', 7));
    await chain.put(new User(2, 'b@example.com', 1));
    await chain.invalidate([new User(1, 'a@example.com', 7), new User(2, 'b@example.com', 1)]);
    await chain.delete(new User(2, 'b@example.com', 1));
    db.down = true;
    expect((await chain.get(User, { id: 1 }))?.revision).toBe(7);
    await expect(chain.get(User, { id: 2 })).rejects.toBe(db.outage);
  });

  it('keeps at most graceEntries keys, the least recently seen out first', async () => {
    const db = new FlakyDatabase();
    const chain = new ChainedStore([db], { grace: 60, graceEntries: 2 });
    await chain.put(new User(1, 'a@example.com', 1)); // two keys: id and email
    await chain.put(new User(2, 'b@example.com', 1));
    db.down = true;
    expect((await chain.get(User, { id: 2 }))?.revision).toBe(1);
    await expect(chain.get(User, { id: 1 })).rejects.toBe(db.outage);
  });

  it('refuses options that are not a number of seconds or a count', () => {
    expect(() => new ChainedStore([new MemoryDatabase()], { grace: -1 })).toThrow(ConfigurationError);
    expect(() => new ChainedStore([new MemoryDatabase()], { grace: Number.NaN })).toThrow(ConfigurationError);
    expect(() => new ChainedStore([new MemoryDatabase()], { grace: 10, graceEntries: 0 })).toThrow(/graceEntries must be a positive integer/);
  });
});
