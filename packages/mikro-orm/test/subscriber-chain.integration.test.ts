import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChainedStore, ProcessMemoryStore, type CacheTier, type Class, type KeyQuery, type Store } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MemcacheStore } from '@stockpyle/memcache';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { Article, Foo } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';

type Counted<S extends Store> = ReturnType<typeof CountingStore.wrap<S>>;
const prefix = `mo-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

const middles: [string, () => CacheTier][] = [
  ['RedisStore', () => new RedisStore({ url: serviceUrl('redis'), prefix })],
  ['MemcacheStore', () => new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix })],
];

describe.each(middles)('[ProcessMemoryStore, %s, MikroOrmStore] with StockpyleSubscriber', (middleName, makeMiddle) => {
  let db: TestOrm;
  let memory: Counted<ProcessMemoryStore>;
  let middle: Counted<CacheTier>;
  let store: Counted<MikroOrmStore>;
  let chain: ChainedStore;
  let seq = Math.floor(Math.random() * 1_000_000) * 100;
  const next = (): number => (seq += 1);

  beforeAll(async () => {
    db = await openOrm(`chain_${middleName.slice(0, 5).toLowerCase()}`);
    memory = CountingStore.wrap(new ProcessMemoryStore());
    middle = CountingStore.wrap(makeMiddle());
    store = CountingStore.wrap(new MikroOrmStore({ orm: db.orm }));
    chain = new ChainedStore([memory, middle, store]);
    // Registered after init, through the event manager (the config's `subscribers` is the other way).
    db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
  });

  afterAll(async () => {
    await chain.release();
    await db.close();
  });

  beforeEach(() => {
    [memory, middle, store].forEach((s) => s.resetCounts());
    db.log.reset();
  });

  /** What each tier answers for a query: [memory, middle, database]. */
  async function tiers<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<(T | undefined)[]> {
    return [await memory.get(cls, query), await middle.get(cls, query), await store.get(cls, query)];
  }

  /** A Foo written through the chain, so every tier holds it. */
  async function cachedFoo(): Promise<Foo> {
    const foo = new Foo(next(), next(), `bar-${seq}`);
    await chain.put(foo);
    expect((await tiers(Foo, { zap: foo.zap, bar: foo.bar })).map((f) => f?.id)).toEqual([foo.id, foo.id, foo.id]);
    [memory, middle, store].forEach((s) => s.resetCounts());
    db.log.reset();
    return foo;
  }

  describe('reads', () => {
    it('a hit in a cache tier sends no query; a miss sends one per key shape', async () => {
      const foos = [await cachedFoo(), await cachedFoo(), await cachedFoo()];
      await memory.batchDelete(foos);
      db.log.reset();
      const got = await chain.batchGet(Foo, foos.map((f) => ({ id: f.id })));
      expect(got.map((f) => f?.bar)).toEqual(foos.map((f) => f.bar));
      expect(db.log.statements).toEqual([]);
      await chain.get(Foo, { id: foos[0]!.id });
      expect(db.log.statements).toEqual([]);

      const fresh = [0, 1, 2, 3].map(() => new Foo(next(), next(), `fresh-${seq}`));
      await db.orm.em.fork().insertMany(Foo, fresh.map((f) => ({ id: f.id, zap: f.zap, bar: f.bar })));
      db.log.reset();
      const loaded = await chain.batchGet(Foo, [
        { id: fresh[0]!.id },
        { zap: fresh[1]!.zap, bar: fresh[1]!.bar },
        { id: fresh[2]!.id },
        { zap: fresh[3]!.zap, bar: fresh[3]!.bar },
      ]);
      expect(loaded.map((f) => f?.id)).toEqual(fresh.map((f) => f.id));
      expect(db.log.statements).toHaveLength(2);
      db.log.reset();
      await chain.batchGet(Foo, fresh.map((f) => ({ id: f.id })));
      expect(db.log.statements).toEqual([]);
    });
  });

  describe('the chain\'s own writes', () => {
    it('are not undone by the subscriber: after chain.put every tier serves the new version', async () => {
      const foo = await cachedFoo();
      foo.bar = `${foo.bar}-v2`;
      await chain.put(foo);
      expect(db.log.queries).toEqual([expect.stringMatching(/^select .* where "f0"\."id" in \(\$1\)/), expect.stringMatching(/^update /)]);
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([foo.bar, foo.bar, foo.bar]);
    });

    it('a create in the application\'s EntityManager invalidates nothing in tiers without missLifetime, so the new row is cacheable at once', async () => {
      const em = db.orm.em.fork();
      const created = em.create(Foo, { id: next(), zap: next(), bar: 'created' });
      await em.flush();
      expect(middle.calls('batchDelete')).toBe(0);
      await chain.get(Foo, { id: created.id });
      db.log.reset();
      expect(await chain.get(Foo, { zap: created.zap, bar: 'created' })).toMatchObject({ id: created.id });
      expect(db.log.statements).toEqual([]);
    });

    it('a create in the application\'s EntityManager clears what a tier with missLifetime remembered as absent', async () => {
      const remembering = new ChainedStore([new ProcessMemoryStore({ missLifetime: 60 }), store]);
      db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: remembering }));
      const id = next();
      const zap = next();
      expect(await remembering.get(Foo, { id })).toBeUndefined();
      expect(await remembering.get(Foo, { zap, bar: 'later' })).toBeUndefined();
      db.log.reset();
      expect(await remembering.get(Foo, { id })).toBeUndefined();
      expect(db.log.statements).toEqual([]); // remembered
      const em = db.orm.em.fork();
      em.create(Foo, { id, zap, bar: 'later' });
      await em.flush();
      db.log.reset();
      expect(await remembering.get(Foo, { id })).toMatchObject({ zap, bar: 'later' });
      expect(await remembering.get(Foo, { zap, bar: 'later' })).toMatchObject({ id });
      expect(db.log.queries).toHaveLength(1);
    });

    it('never write back to the database or loop: the subscriber touches only the cache tiers', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      const mine = (await em.findOne(Foo, { id: foo.id }))!;
      mine.bar = `${foo.bar}-app`;
      store.resetCounts();
      await em.flush();
      expect(store.calls()).toBe(0);
      expect(db.log.queries.filter((q) => !q.startsWith('select'))).toHaveLength(1);
    });
  });

  describe('writes in the application\'s EntityManager', () => {
    it('an update drops the cached copies from every tier, once, after the commit', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      const mine = (await em.findOne(Foo, { id: foo.id }))!;
      mine.bar = `${foo.bar}-updated`;
      await em.flush();
      expect(middle.counts.batchDelete).toBe(1);
      expect(await tiers(Foo, { id: foo.id })).toEqual([undefined, undefined, expect.objectContaining({ bar: mine.bar })]);
      expect(await chain.get(Foo, { id: foo.id })).toMatchObject({ bar: mine.bar });
    });

    it('after an update committed elsewhere, the first read costs one query and refills every tier; the next ones none, by any key', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      const mine = (await em.findOne(Foo, { id: foo.id }))!;
      mine.bar = `${foo.bar}-again`;
      await em.flush();
      db.log.reset();
      expect(await chain.get(Foo, { id: foo.id })).toMatchObject({ bar: mine.bar });
      expect(db.log.queries).toHaveLength(1);
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([mine.bar, mine.bar, mine.bar]);
      db.log.reset();
      for (let i = 0; i < 10; i++) expect(await chain.get(Foo, { zap: foo.zap, bar: mine.bar })).toMatchObject({ id: foo.id });
      expect(db.log.queries).toHaveLength(0);
      expect(await chain.get(Foo, { zap: foo.zap, bar: foo.bar })).toBeUndefined(); // the old key: in no tier, not in the database
    });

    it('a new row written through the chain is served by every key with no query', async () => {
      const foo = new Foo(next(), next(), 'through');
      await chain.put(foo);
      db.log.reset();
      for (let i = 0; i < 10; i++) {
        expect(await chain.get(Foo, { id: foo.id })).toMatchObject({ bar: 'through' });
        expect(await chain.get(Foo, { zap: foo.zap, bar: 'through' })).toMatchObject({ id: foo.id });
      }
      expect(db.log.statements).toEqual([]);
    });

    it('inside a transaction the caches keep the committed version until the root transaction commits', async () => {
      const foo = await cachedFoo();
      await db.orm.em.fork().transactional(async (tx) => {
        const mine = (await tx.findOne(Foo, { id: foo.id }))!;
        mine.bar = `${foo.bar}-tx`;
        await tx.flush();
        expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([foo.bar, foo.bar, foo.bar]);
        expect(middle.calls('batchDelete')).toBe(0);
      });
      expect(middle.calls('batchDelete')).toBe(1);
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([undefined, undefined, `${foo.bar}-tx`]);
    });

    it('a rollback changes nothing in any tier', async () => {
      const foo = await cachedFoo();
      await expect(
        db.orm.em.fork().transactional(async (tx) => {
          const mine = (await tx.findOne(Foo, { id: foo.id }))!;
          mine.bar = `${foo.bar}-rolled-back`;
          await tx.flush();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(middle.calls('batchDelete')).toBe(0);
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([foo.bar, foo.bar, foo.bar]);
    });

    it('a failed flush (its own transaction rolled back) changes nothing in any tier', async () => {
      const [a, b] = [await cachedFoo(), await cachedFoo()];
      const em = db.orm.em.fork();
      const mine = (await em.findOne(Foo, { id: a.id }))!;
      mine.zap = b.zap;
      mine.bar = b.bar;
      await expect(em.flush()).rejects.toThrow(/unique/i);
      expect(middle.calls('batchDelete')).toBe(0);
      expect((await tiers(Foo, { id: a.id })).map((f) => f?.bar)).toEqual([a.bar, a.bar, a.bar]);
    });

    it('nested transactions: one batch at the root commit, covering what the savepoints wrote', async () => {
      const [outer, inner, rolledBack] = [await cachedFoo(), await cachedFoo(), await cachedFoo()];
      await db.orm.em.fork().transactional(async (tx) => {
        (await tx.findOneOrFail(Foo, { id: outer.id })).bar = `${outer.bar}-outer`;
        await tx.flush();
        await tx.transactional(async (nested) => {
          (await nested.findOneOrFail(Foo, { id: inner.id })).bar = `${inner.bar}-inner`;
        });
        await expect(
          tx.transactional(async (nested) => {
            (await nested.findOneOrFail(Foo, { id: rolledBack.id })).bar = `${rolledBack.bar}-never`;
            await nested.flush();
            throw new Error('savepoint rolled back');
          }),
        ).rejects.toThrow('savepoint');
        expect(middle.calls('batchDelete')).toBe(0);
      });
      expect(middle.calls('batchDelete')).toBe(1);
      expect((await tiers(Foo, { id: outer.id })).map((f) => f?.bar)).toEqual([undefined, undefined, `${outer.bar}-outer`]);
      expect((await tiers(Foo, { id: inner.id })).map((f) => f?.bar)).toEqual([undefined, undefined, `${inner.bar}-inner`]);
      // Savepoint rollbacks fire no event: what they wrote is invalidated anyway, a miss and never stale.
      const after = await tiers(Foo, { id: rolledBack.id });
      expect(after[2]!.bar).toBe(rolledBack.bar);
      expect(after.slice(0, 2).every((f) => f === undefined || f.bar === rolledBack.bar)).toBe(true);
    });

    it('begin() and commit() by hand behave like transactional()', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      await em.begin();
      (await em.findOneOrFail(Foo, { id: foo.id })).bar = `${foo.bar}-manual`;
      await em.flush();
      expect(middle.calls('batchDelete')).toBe(0);
      await em.commit();
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([undefined, undefined, `${foo.bar}-manual`]);
    });

    it('a key change drops the object from under its old key in every tier', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      const mine = (await em.findOneOrFail(Foo, { id: foo.id }));
      mine.zap = next();
      await em.flush();
      expect(await tiers(Foo, { zap: foo.zap, bar: foo.bar })).toEqual([undefined, undefined, undefined]);
      expect(await chain.get(Foo, { zap: mine.zap, bar: foo.bar })).toMatchObject({ id: foo.id });
    });

    it('a key change through em.getReference (old values unknown) leaves no stale key readable', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      const ref = em.getReference(Foo, foo.id);
      ref.bar = `${foo.bar}-by-ref`;
      await em.flush();
      expect(db.log.queries.filter((q) => q.startsWith('select'))).toEqual([]);
      expect(await tiers(Foo, { zap: foo.zap, bar: foo.bar })).toEqual([undefined, undefined, undefined]);
      expect(await tiers(Foo, { id: foo.id })).toEqual([undefined, undefined, expect.objectContaining({ bar: ref.bar })]);
      expect(await chain.get(Foo, { zap: foo.zap, bar: ref.bar })).toMatchObject({ id: foo.id });
    });

    it('a delete drops the object from every tier', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      em.remove(await em.findOneOrFail(Foo, { id: foo.id }));
      await em.flush();
      expect(await tiers(Foo, { id: foo.id })).toEqual([undefined, undefined, undefined]);
      expect(await tiers(Foo, { zap: foo.zap, bar: foo.bar })).toEqual([undefined, undefined, undefined]);
      expect(await chain.get(Foo, { id: foo.id })).toBeUndefined();
    });

    it('a delete through em.getReference drops the object from every tier', async () => {
      const foo = await cachedFoo();
      const em = db.orm.em.fork();
      em.remove(em.getReference(Foo, foo.id));
      await em.flush();
      expect(await tiers(Foo, { zap: foo.zap, bar: foo.bar })).toEqual([undefined, undefined, undefined]);
    });

    it('many writes in one flush are one batch per commit', async () => {
      const foos = [await cachedFoo(), await cachedFoo(), await cachedFoo()];
      const em = db.orm.em.fork();
      for (const f of await em.find(Foo, { id: { $in: foos.map((x) => x.id) } })) f.bar = `${f.bar}-batch`;
      em.create(Foo, { id: next(), zap: next(), bar: 'created' });
      await em.flush();
      expect(middle.counts.batchDelete).toBe(1);
      expect(memory.counts.batchDelete).toBe(1);
      for (const f of foos) expect((await tiers(Foo, { id: f.id })).slice(0, 2)).toEqual([undefined, undefined]);
    });

    it('upsert (which fires only afterUpsert) drops the cached copy, now or at the commit', async () => {
      const foo = await cachedFoo();
      await db.orm.em.fork().upsert(Foo, { id: foo.id, zap: foo.zap, bar: `${foo.bar}-upsert` });
      expect((await tiers(Foo, { id: foo.id })).map((f) => f?.bar)).toEqual([undefined, undefined, `${foo.bar}-upsert`]);

      const other = await cachedFoo();
      await db.orm.em.fork().transactional(async (tx) => {
        await tx.upsert(Foo, { id: other.id, zap: other.zap, bar: `${other.bar}-upsert` });
        expect((await memory.get(Foo, { id: other.id }))?.bar).toBe(other.bar);
      });
      expect((await tiers(Foo, { id: other.id })).slice(0, 2)).toEqual([undefined, undefined]);
    });

    it('nativeUpdate fires no event: the cached copy stays until its lifetime ends or chain.invalidate()', async () => {
      const foo = await cachedFoo();
      await db.orm.em.fork().nativeUpdate(Foo, { id: foo.id }, { bar: `${foo.bar}-native` });
      expect((await chain.get(Foo, { id: foo.id }))?.bar).toBe(foo.bar);
      await chain.invalidate([foo]);
      expect((await chain.get(Foo, { id: foo.id }))?.bar).toBe(`${foo.bar}-native`);
    });

    it('entities with dates, embeddables and relations are invalidated like any other', async () => {
      const a = db.orm.em.fork().create(Article, { id: next(), slug: `inv-${seq}`, title: 'v1', dateline: { city: 'Rome' } }, { persist: false, partial: true });
      await chain.put(a);
      const em = db.orm.em.fork();
      const mine = await em.findOneOrFail(Article, { id: a.id });
      mine.slug = `inv-${seq}-renamed`;
      await em.flush();
      expect(await tiers(Article, { slug: a.slug })).toEqual([undefined, undefined, undefined]);
      const got = (await chain.get(Article, { slug: mine.slug }))!;
      expect(got).toMatchObject({ title: 'v1', version: 2, dateline: { city: 'Rome' } });
    });
  });
});
