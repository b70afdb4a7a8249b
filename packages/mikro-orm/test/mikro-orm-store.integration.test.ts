import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { helper, wrap } from '@mikro-orm/core';
import { ChainedStore, NonUniqueKeyError, NotStockpyleClassError, ProcessMemoryStore, decodeRecord, encodeRecord } from '@stockpyle/core';
import { describeStoreContract, type ContractFixtures } from '@stockpyle/core/testing';
import { MikroOrmStore, UnloadedEntityError } from '@stockpyle/mikro-orm';
import { Article, Author, Automobile, Car, Foo, Note, Plain, Seat, Tag, Truck } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';

let db: TestOrm;
beforeAll(async () => {
  db = await openOrm('store');
});
afterAll(async () => {
  await db.close();
});

const fixtures: ContractFixtures = {
  Foo,
  makeFoo: (id, zap, bar) => new Foo(id, zap, bar),
  Automobile,
  Car,
  Truck,
  makeCar: (plate) => new Car(plate),
  makeTruck: (plate) => new Truck(plate),
};

// The database honours no lifetimes, and is polymorphic by nature (a Car row is an Automobile).
describeStoreContract('MikroOrmStore', { create: () => new MikroOrmStore({ orm: db.orm }), fixtures, lifetimes: false, polymorphic: false });

let nextId = 1000;
const id = (): number => (nextId += 1);

function article(fields: Partial<Article> = {}): Article {
  const em = db.orm.em.fork();
  const a = em.create(Article, { id: id(), slug: `s-${nextId}`, title: 't', ...fields } as never, { persist: false });
  return a;
}

describe('MikroOrmStore', () => {
  let store: MikroOrmStore;
  beforeEach(() => {
    store = new MikroOrmStore({ orm: db.orm });
    db.log.reset();
  });

  describe('constructor', () => {
    it('works from an EntityManager as well as from the ORM', async () => {
      const fromEm = new MikroOrmStore({ em: db.orm.em });
      const foo = new Foo(id(), nextId, 'em');
      await fromEm.put(foo);
      expect(await fromEm.get(Foo, { zap: foo.zap, bar: 'em' })).toMatchObject({ id: foo.id });
    });
  });

  describe('batchGet()', () => {
    it('sends one query per key shape: IN for one column, row-value IN for several', async () => {
      const foos = [0, 1, 2, 3].map((i) => new Foo(id(), nextId, `b${i}`));
      await store.batchPut(foos);
      db.log.reset();
      const got = await store.batchGet(Foo, [{ id: foos[0]!.id }, { zap: foos[1]!.zap, bar: 'b1' }, { id: foos[2]!.id }, { id: 1 }, { bar: 'b3', zap: foos[3]!.zap }]);
      expect(got.map((f) => f?.id)).toEqual([foos[0]!.id, foos[1]!.id, foos[2]!.id, undefined, foos[3]!.id]);
      expect(db.log.statements).toHaveLength(2);
      expect(db.log.statements[0]).toMatch(/where "f0"\."id" in \(\$1, \$2, \$3\)/);
      expect(db.log.statements[1]).toMatch(/where \("f0"\."bar", "f0"\."zap"\) in \(\(\$1, \$2\), \(\$3, \$4\)\)/);
    });

    it('sends no query for an empty batch, nor for queries whose values are null', async () => {
      expect(await store.batchGet(Foo, [])).toEqual([]);
      expect(await store.batchGet(Foo, [{ id: null as never }, { zap: 1, bar: undefined as never }])).toEqual([undefined, undefined]);
      expect(db.log.statements).toEqual([]);
    });

    it('splits a batch larger than maxKeysPerQuery, keeping the asked order', async () => {
      const small = new MikroOrmStore({ orm: db.orm, maxKeysPerQuery: 4 });
      const foos = Array.from({ length: 10 }, (_v, i) => new Foo(id(), nextId, `m${i}`));
      await small.batchPut(foos);
      db.log.reset();
      const got = await small.batchGet(Foo, [...foos].reverse().map((f) => ({ zap: f.zap, bar: f.bar })));
      expect(got.map((f) => f?.id)).toEqual([...foos].reverse().map((f) => f.id));
      expect(db.log.statements).toHaveLength(5);
    });

    it('throws NonUniqueKeyError when more than one row matches a non-unique key', async () => {
      const em = db.orm.em.fork();
      em.create(Tag, { id: id(), label: 'twice' });
      em.create(Tag, { id: id(), label: 'twice' });
      em.create(Tag, { id: id(), label: 'once' });
      await em.flush();
      await expect(store.get(Tag, { label: 'twice' })).rejects.toBeInstanceOf(NonUniqueKeyError);
      await expect(store.batchGet(Tag, [{ label: 'once' }, { label: 'twice' }])).rejects.toThrow(/2 rows of mo\.Tag match/);
      expect(await store.get(Tag, { label: 'once' })).toMatchObject({ label: 'once' });
    });

    it('finds rows by a composite primary key', async () => {
      const em = db.orm.em.fork();
      em.create(Seat, { hall: 'A', num: 1, holder: 'ann' });
      em.create(Seat, { hall: 'A', num: 2, holder: 'bob' });
      await em.flush();
      db.log.reset();
      const got = await store.batchGet(Seat, [{ hall: 'A', num: 2 }, { num: 1, hall: 'A' }, { hall: 'B', num: 1 }]);
      expect(got.map((s) => s?.holder)).toEqual(['bob', 'ann', undefined]);
      expect(db.log.statements).toHaveLength(1);
    });

    it('finds a subclass row through its base class (single-table inheritance)', async () => {
      const truck = new Truck(`T-${id()}`);
      truck.axles = 3;
      await store.put(truck);
      const found = await store.get(Automobile, { license_plate: truck.license_plate });
      expect(found).toBeInstanceOf(Truck);
      expect(found).toMatchObject({ axles: 3 });
      expect(await store.get(Car, { license_plate: truck.license_plate })).toBeUndefined();
    });

    it('returns undefined for a stockpyle class that is not an entity, without a query', async () => {
      expect(await store.get(Plain, { id: 1 })).toBeUndefined();
      expect(db.log.statements).toEqual([]);
    });

    it('returns entities managed by a fork, never by the global EntityManager', async () => {
      const foo = new Foo(id(), nextId, 'fork');
      await store.put(foo);
      const got = await store.get(Foo, { id: foo.id });
      expect(helper(got!).__em).toBeDefined();
      expect(helper(got!).__em).not.toBe(db.orm.em);
      expect(db.orm.em.getUnitOfWork(false).getIdentityMap().values()).toHaveLength(0);
    });
  });

  describe('batchPut()', () => {
    it('inserts new objects and updates existing ones in one lookup and one flush', async () => {
      const old = new Foo(id(), nextId, 'old');
      await store.put(old);
      db.log.reset();
      const changed = new Foo(old.id, old.zap, 'changed');
      const fresh = new Foo(id(), nextId, 'fresh');
      await store.batchPut([changed, fresh]);
      expect(db.log.queries).toEqual([
        expect.stringMatching(/^select .* where "f0"\."id" in \(\$1, \$2\)/),
        expect.stringMatching(/^insert into .*"foo"/),
        expect.stringMatching(/^update .*"foo" set "bar" = \$1 where "id" = \$2/),
      ]);
      expect(await store.batchGet(Foo, [{ id: old.id }, { id: fresh.id }])).toEqual([
        expect.objectContaining({ bar: 'changed' }),
        expect.objectContaining({ bar: 'fresh' }),
      ]);
    });

    it('costs one lookup, one insert and one update statement for a batch of many, inside one transaction', async () => {
      const existing = Array.from({ length: 50 }, (_v, i) => new Foo(id(), nextId, `many-${i}`));
      await store.batchPut(existing);
      existing.forEach((f, i) => (f.bar = `many-${i}-changed`));
      const fresh = Array.from({ length: 50 }, (_v, i) => new Foo(id(), nextId, `many-new-${i}`));
      db.log.reset();
      await store.batchPut([...existing, ...fresh]);
      expect(db.log.statements.map((s) => s.split(' ')[0])).toEqual(['select', 'begin', 'insert', 'update', 'commit']);
      const got = await store.batchGet(Foo, [...existing, ...fresh].map((f) => ({ id: f.id })));
      expect(got.map((f) => f?.bar)).toEqual([...existing, ...fresh].map((f) => f.bar));
    });

    it('writes only the columns that differ from the stored row, and nothing when none does', async () => {
      const a = article({ title: 'first' });
      await store.put(a);
      db.log.reset();
      await store.put(a);
      expect(db.log.queries).toHaveLength(1);
      a.title = 'second';
      db.log.reset();
      await store.put(a);
      // MikroORM 6 bumps the version in SQL, 7 sends the next one; both check the one it read.
      expect(db.log.queries[1]).toMatch(/^update .*"article" set "title" = \$1, "updated_at" = \$2, "version" = ("version" \+ 1|\$3) where .*"version" = \$\d/);
      expect(a.version).toBe(2);
      expect(a.updatedAt).toBeInstanceOf(Date);
    });

    it('updates an entity that came out of a cache tier, leaving its related references alone', async () => {
      const author = db.orm.em.fork().create(Author, { name: 'related' }, { persist: false });
      await store.put(author);
      const a = article({ title: 'cached', author, dateline: { city: 'Lima' } });
      await store.put(a);
      const decoded = decodeRecord(encodeRecord({ kind: 'value', obj: a, expiresAt: 0 }));
      const copy = (decoded as { obj: Article }).obj;
      copy.title = 'changed in a cache copy';
      db.log.reset();
      await store.put(copy);
      expect(db.log.queries).toEqual([expect.stringMatching(/^select /), expect.stringMatching(/^update .*"article" set "title" = \$1, "updated_at"/)]);
      expect(await store.get(Article, { id: a.id })).toMatchObject({ title: 'changed in a cache copy', version: 2, dateline: { city: 'Lima' } });
      expect(await store.get(Author, { id: author.id })).toMatchObject({ name: 'related' });
    });

    it('sets generated values on the objects given', async () => {
      const em = db.orm.em.fork();
      const author = em.create(Author, { name: 'generated' }, { persist: false });
      await store.put(author);
      expect(author.id).toEqual(expect.any(Number));
      expect(await store.get(Author, { id: author.id })).toMatchObject({ name: 'generated' });
    });

    it('inserts again an object whose row was deleted since it was read', async () => {
      const foo = new Foo(id(), nextId, 'gone');
      await store.put(foo);
      await db.orm.em.fork().nativeDelete(Foo, { id: foo.id });
      foo.bar = 'back';
      await store.put(foo);
      expect(await store.get(Foo, { id: foo.id })).toMatchObject({ bar: 'back' });
    });

    it('rejects a stale version with the ORM\'s OptimisticLockError', async () => {
      const a = article();
      await store.put(a);
      const other = (await store.get(Article, { id: a.id }))!;
      other.title = 'other';
      await store.put(other);
      a.title = 'mine';
      await expect(store.put(a)).rejects.toThrow(/optimistic lock/i);
    });

    it('throws UnloadedEntityError for a reference that was never loaded', async () => {
      const ref = db.orm.em.fork().getReference(Foo, 1);
      await expect(store.put(ref)).rejects.toBeInstanceOf(UnloadedEntityError);
    });

    it('ignores objects that are not entities, and sends nothing when that is all', async () => {
      await store.batchPut([new Plain(1)]);
      expect(db.log.statements).toEqual([]);
      const foo = new Foo(id(), nextId, 'mixed');
      await store.batchPut([new Plain(2), foo]);
      expect(await store.get(Foo, { id: foo.id })).toBeDefined();
    });

    it('throws NotStockpyleClassError for an entity class that is not a stockpyle class', async () => {
      const note = db.orm.em.fork().create(Note, { text: 'x' }, { persist: false });
      await expect(store.put(note)).rejects.toBeInstanceOf(NotStockpyleClassError);
    });
  });

  describe('transactions', () => {
    it('writes in a transaction of its own, even when called inside the application\'s transaction', async () => {
      const foo = new Foo(id(), nextId, 'own-transaction');
      await expect(
        db.orm.em.fork().transactional(async () => {
          await store.put(foo);
          throw new Error('the application rolls back');
        }),
      ).rejects.toThrow('rolls back');
      expect(await store.get(Foo, { id: foo.id })).toMatchObject({ bar: 'own-transaction' });
    });
  });

  describe('batchDelete()', () => {
    it('deletes by primary key in one statement, for objects of the application\'s own EntityManager', async () => {
      const foos = [0, 1, 2].map((i) => new Foo(id(), nextId, `d${i}`));
      await store.batchPut(foos);
      const mine = db.orm.em.fork();
      const loaded = await mine.find(Foo, { id: { $in: foos.map((f) => f.id) } }, { orderBy: { id: 'asc' } });
      db.log.reset();
      await store.batchDelete(loaded);
      expect(db.log.queries).toEqual([expect.stringMatching(/^delete from .*"foo" where "id" in \(\$1, \$2, \$3\)/)]);
      expect(await store.batchGet(Foo, foos.map((f) => ({ id: f.id })))).toEqual([undefined, undefined, undefined]);
      // The application's EntityManager still believes in them and writes nothing on its next flush.
      db.log.reset();
      await mine.flush();
      expect(db.log.statements).toEqual([]);
    });

    it('deletes an object that came out of a cache tier', async () => {
      const foo = new Foo(id(), nextId, 'cached');
      await store.put(foo);
      const decoded = decodeRecord(encodeRecord({ kind: 'value', obj: foo, expiresAt: 0 }));
      expect(decoded.kind).toBe('value');
      await store.delete((decoded as { obj: Foo }).obj);
      expect(await store.get(Foo, { id: foo.id })).toBeUndefined();
    });

    it('ignores objects that are not entities, and objects never saved', async () => {
      await store.batchDelete([new Plain(1), db.orm.em.fork().create(Author, { name: 'x' }, { persist: false })]);
      expect(db.log.statements).toEqual([]);
    });
  });

  describe('adopt()', () => {
    it('attaches entities from a cache tier to a fork with no query, and a flush writes nothing', async () => {
      const author = db.orm.em.fork().create(Author, { name: 'adopted' }, { persist: false });
      await store.put(author);
      const a = article({ title: 'adopt me', publishedAt: new Date(1_000), dateline: { city: 'Oslo', country: null }, author, extra: { n: 1 } });
      await store.put(a);
      const memory = new ProcessMemoryStore();
      const chain = new ChainedStore([memory, store]);
      await memory.put(a);
      db.log.reset();
      const got = (await chain.get(Article, { slug: a.slug }))!;
      expect(db.log.statements).toEqual([]);
      expect(got).not.toBe(a);
      expect(got).toBeInstanceOf(Article);
      const em = helper(got).__em!;
      expect(em).not.toBe(db.orm.em);
      await em.flush();
      expect(db.log.statements).toEqual([]);
      // Lazy loading goes through that fork.
      expect(wrap(got.author!).isInitialized()).toBe(false);
      await wrap(got.author!).init();
      expect(got.author!.name).toBe('adopted');
    });
  });
});
