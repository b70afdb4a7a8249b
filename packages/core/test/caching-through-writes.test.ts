import 'reflect-metadata';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle, type CacheStoreOptions } from '@stockpyle/core';
import { ExpiringMap } from './support/expiring-map';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id', 'email'], name: 'test.through.User' })
class User {
  id?: number;
  constructor(
    public email: string,
    public name: string,
  ) {}
}

/** A database that assigns serial ids on insert, as PostgreSQL does. */
class SerialDatabase extends MemoryDatabase {
  #next = 1;

  override async batchPut(objs: readonly object[]): Promise<void> {
    for (const o of objs as User[]) o.id ??= this.#next++;
    await super.batchPut(objs);
  }

  /** A write made elsewhere (another process, raw SQL): the caches learn of it only by an invalidation. */
  async change(user: User, name: string): Promise<User> {
    const changed = Object.assign(new User(user.email, name), { id: user.id });
    await super.batchPut([changed]);
    return changed;
  }

  get reads(): number {
    return this.asked.length;
  }
}

function chainOf(memoryOptions: CacheStoreOptions = {}, sharedOptions: CacheStoreOptions = {}) {
  const memory = new ProcessMemoryStore(memoryOptions);
  const shared = new DictionaryStore(new ExpiringMap(), sharedOptions);
  const db = new SerialDatabase();
  return { memory, shared, db, chain: new ChainedStore([memory, shared, db]) };
}

async function readTimes(n: number, read: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) await read();
}

describe('ChainedStore', () => {
  describe('put()', () => {
    it('writes a new row whose id the database assigns through every tier: gets by id and by alternate key cost no database read', async () => {
      const { memory, shared, db, chain } = chainOf();
      const user = new User('ada@example.com', 'Ada');
      await chain.put(user);
      expect(user.id).toBe(1);
      await readTimes(25, () => chain.get(User, { id: 1 }));
      await readTimes(25, () => chain.get(User, { email: 'ada@example.com' }));
      expect(db.reads).toBe(0);
      expect((await memory.get(User, { email: 'ada@example.com' }))?.name).toBe('Ada');
      expect((await shared.get(User, { id: 1 }))?.name).toBe('Ada');
    });

    it('keeps an object whose lifetime is shorter than a tombstone in every tier right after the put', async () => {
      const { memory, shared, db, chain } = chainOf({ lifetime: () => 1 });
      const user = new User('bob@example.com', 'Bob');
      await chain.put(user);
      expect(await memory.get(User, { id: user.id! })).toBeDefined();
      expect(await shared.get(User, { id: user.id! })).toBeDefined();
      await chain.get(User, { id: user.id! });
      expect(db.reads).toBe(0);
    });
  });

  describe('invalidate()', () => {
    it('after an invalidation, the first read costs one database read and the next ones none, by any key', async () => {
      const { db, chain } = chainOf();
      const user = new User('cy@example.com', 'Cy');
      await chain.put(user);
      const changed = await db.change(user, 'Cyrus');
      await chain.invalidate([changed]);
      expect((await chain.get(User, { id: user.id! }))?.name).toBe('Cyrus');
      expect(db.reads).toBe(1);
      await readTimes(10, () => chain.get(User, { id: user.id! }));
      await readTimes(10, () => chain.get(User, { email: 'cy@example.com' }));
      expect(db.reads).toBe(1);
    });

    it('after an invalidation, a read by an alternate key refills the anchor too', async () => {
      const { db, chain } = chainOf();
      const user = new User('di@example.com', 'Di');
      await chain.put(user);
      await chain.invalidate([await db.change(user, 'Diana')]);
      expect((await chain.get(User, { email: 'di@example.com' }))?.name).toBe('Diana');
      expect((await chain.get(User, { id: user.id! }))?.name).toBe('Diana');
      expect(db.reads).toBe(1);
    });

    it('a hot row changed and invalidated 20 times costs one database read per change', async () => {
      const { db, chain } = chainOf();
      let user = new User('hot@example.com', 'v0');
      await chain.put(user);
      for (let i = 1; i <= 20; i++) {
        user = await db.change(user, `v${i}`);
        await chain.invalidate([user]);
        for (let r = 0; r < 10; r++) expect((await chain.get(User, { id: user.id! }))?.name).toBe(`v${i}`);
      }
      expect(db.reads).toBe(20);
    });
  });

  describe('delete()', () => {
    it('a deleted object reads as nothing, and a new object under the same key is cached by its first read', async () => {
      const { db, chain } = chainOf();
      const user = new User('ed@example.com', 'Ed');
      await chain.put(user);
      await chain.delete(user);
      expect(await chain.get(User, { email: 'ed@example.com' })).toBeUndefined();
      const again = new User('ed@example.com', 'Edgar');
      await chain.put(again);
      const before = db.reads;
      expect((await chain.get(User, { email: 'ed@example.com' }))?.name).toBe('Edgar');
      expect(db.reads).toBe(before);
    });
  });

  describe('missLifetime', () => {
    it('remembers that the database has no object for a key: repeated reads of a missing id cost one database read', async () => {
      const { db, chain } = chainOf({ missLifetime: 30 }, { missLifetime: 30 });
      await readTimes(20, () => chain.get(User, { id: 404 }));
      await readTimes(20, () => chain.get(User, { email: 'nobody@example.com' }));
      expect(db.reads).toBe(2);
    });

    it('is cleared by a write through the chain: the new row is found at once, by either key', async () => {
      const { db, chain } = chainOf({ missLifetime: 30 }, { missLifetime: 30 });
      expect(await chain.get(User, { id: 1 })).toBeUndefined();
      expect(await chain.get(User, { email: 'fay@example.com' })).toBeUndefined();
      await chain.put(new User('fay@example.com', 'Fay'));
      expect((await chain.get(User, { id: 1 }))?.name).toBe('Fay');
      expect((await chain.get(User, { email: 'fay@example.com' }))?.name).toBe('Fay');
      expect(db.reads).toBe(2);
    });

    it('is cleared by an invalidation of a row inserted elsewhere', async () => {
      const { db, chain } = chainOf({ missLifetime: 30 }, { missLifetime: 30 });
      expect(await chain.get(User, { email: 'gus@example.com' })).toBeUndefined();
      expect(await chain.get(User, { id: 1 })).toBeUndefined();
      const inserted = new User('gus@example.com', 'Gus');
      await db.batchPut([inserted]); // not through the chain
      expect(await chain.get(User, { id: 1 })).toBeUndefined(); // remembered: the caches were not told
      await chain.invalidate([inserted]);
      expect((await chain.get(User, { id: 1 }))?.name).toBe('Gus');
      expect((await chain.get(User, { email: 'gus@example.com' }))?.name).toBe('Gus');
    });

    it('can be chosen per class, and is off by default', async () => {
      const { db, chain } = chainOf({}, { missLifetime: (cls) => (cls === User ? undefined : 30) });
      await readTimes(5, () => chain.get(User, { id: 404 }));
      expect(db.reads).toBe(5);
    });

    it('rejects a lifetime that is not a positive number of seconds', () => {
      expect(() => new ProcessMemoryStore({ missLifetime: 0 })).toThrow(/missLifetime/);
      expect(() => new ProcessMemoryStore({ missLifetime: 'long' as unknown as number })).toThrow(/missLifetime/);
    });
  });
});

describe('fillLease', () => {
  /** Two processes: each its own chain and first tier, one shared tier and one database. */
  function twoProcesses(lease: CacheStoreOptions['fillLease']) {
    const backend = new ExpiringMap();
    const db = new SerialDatabase();
    const procs = [0, 1].map(() => new ChainedStore([new ProcessMemoryStore(), new DictionaryStore(backend, { fillLease: lease }), db]));
    return { db, procs };
  }

  it('after an invalidation, readers in two processes at once cost one database read', async () => {
    const { db, procs } = twoProcesses({ wait: 5 });
    const user = new User('hal@example.com', 'Hal');
    await procs[0]!.put(user);
    const changed = await db.change(user, 'Hallie');
    await procs[0]!.invalidate([changed]);
    await procs[1]!.invalidate([changed]); // its own first tier
    const got = await Promise.all(procs.map((p) => p.get(User, { id: user.id! })));
    expect(got.map((u) => u?.name)).toEqual(['Hallie', 'Hallie']);
    expect(db.reads).toBe(1);
  });

  it('without it, both readers go to the database', async () => {
    const { db, procs } = twoProcesses(false);
    const user = new User('ivy@example.com', 'Ivy');
    await procs[0]!.put(user);
    const changed = await db.change(user, 'Ivor');
    await procs[0]!.invalidate([changed]);
    await procs[1]!.invalidate([changed]);
    await Promise.all(procs.map((p) => p.get(User, { id: user.id! })));
    expect(db.reads).toBe(2);
  });

  it('rejects options that are not milliseconds', () => {
    expect(() => new DictionaryStore(new Map(), { fillLease: { wait: -1 } })).toThrow(/fillLease\.wait/);
    expect(() => new DictionaryStore(new Map(), { fillLease: 'yes' as unknown as boolean })).toThrow(/fillLease/);
  });
});
