import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChainedStore } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { serviceUrl } from '../../../test-support/test-environment';
import { Foo } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';

/**
 * The seed README's "SQLAlchemy Integration" section, in MikroORM: a session is an EntityManager,
 * `session.merge(obj)` is `em.merge(obj)`, a StockpyleSessionExtension is a StockpyleSubscriber.
 */
describe('the seed\'s SQLAlchemy examples, with MikroORM', () => {
  let db: TestOrm;
  let mc: MemcacheStore;
  let sa: MikroOrmStore;
  let seq = Math.floor(Math.random() * 1_000_000) * 100;
  const next = (): number => (seq += 1);
  const prefix = `seed-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    mc = new MemcacheStore({ servers: serviceUrl('memcached').split(','), prefix });
    // "simply add a StockpyleSessionExtension to your session object"
    db = await openOrm('seed', { subscribers: [new StockpyleSubscriber({ store: mc })] });
    sa = new MikroOrmStore({ orm: db.orm });
  });
  afterAll(async () => {
    await mc.release();
    await db.close();
  });
  beforeEach(() => db.log.reset());

  it('store.put(obj), then store.get(cls, { foobar: 123 })', async () => {
    const obj = new Foo(next(), 123, `foobar-${seq}`);
    await sa.put(obj);
    const retrieved = await sa.get(Foo, { zap: 123, bar: obj.bar });
    expect(retrieved).toBeInstanceOf(Foo);
    expect(retrieved).toMatchObject({ id: obj.id, zap: 123, bar: obj.bar });
  });

  it('in a ChainedStore([mc, sa]) put writes through memcached, and get is then served by it', async () => {
    const store = new ChainedStore([mc, sa]);
    const obj = new Foo(next(), next(), 'write-through');
    await store.put(obj);
    expect(await mc.get(Foo, { id: obj.id })).toMatchObject({ bar: 'write-through' });
    db.log.reset();
    expect(await store.get(Foo, { id: obj.id })).toMatchObject({ bar: 'write-through' });
    expect(db.log.statements).toEqual([]);
  });

  it('an object from the store is merged into my own EntityManager, changed and flushed', async () => {
    await sa.put(new Foo(next(), next(), 'before'));
    const obj = (await sa.get(Foo, { id: seq - 1 }))!;
    const session = db.orm.em.fork();
    // MikroORM's merge takes the object's state as the database's: merge first, then change it.
    const mine = session.merge(obj);
    mine.bar = 'bleh';
    await session.flush();
    expect(db.log.queries.filter((q) => q.startsWith('update'))).toHaveLength(1);
    expect(await sa.get(Foo, { id: obj.id })).toMatchObject({ bar: 'bleh' });
  });

  it('a change made before em.merge is taken as already stored, and is not written (the trap to avoid)', async () => {
    await sa.put(new Foo(next(), next(), 'before'));
    const obj = (await sa.get(Foo, { id: seq - 1 }))!;
    obj.bar = 'lost';
    const session = db.orm.em.fork();
    session.merge(obj);
    await session.flush();
    expect(await sa.get(Foo, { id: obj.id })).toMatchObject({ bar: 'before' });
    // store.put is the way to write an object changed outside any EntityManager.
    await sa.put(obj);
    expect(await sa.get(Foo, { id: obj.id })).toMatchObject({ bar: 'lost' });
  });

  it('objects retrieved from my own EntityManager are deleted and batch-deleted through the store, then put back', async () => {
    const ids = [next(), next(), next()];
    await sa.batchPut(ids.map((id) => new Foo(id, id, `del-${id}`)));
    const session = db.orm.em.fork();
    const [first, ...rest] = await session.find(Foo, { id: { $in: ids } }, { orderBy: { id: 'asc' } });
    await sa.delete(first!);
    expect(await sa.get(Foo, { id: ids[0]! })).toBeUndefined();
    await sa.batchDelete(rest);
    expect(await sa.batchGet(Foo, ids.map((id) => ({ id })))).toEqual([undefined, undefined, undefined]);
    // The session still holds them, unchanged, and its next flush writes nothing.
    db.log.reset();
    await session.flush();
    expect(db.log.statements).toEqual([]);
    await sa.batchPut([first!, ...rest]);
    expect((await sa.batchGet(Foo, ids.map((id) => ({ id })))).map((f) => f?.bar)).toEqual(ids.map((id) => `del-${id}`));
  });

  it('with the subscriber, inserts, updates and deletes in my own EntityManager keep memcached right', async () => {
    const store = new ChainedStore([mc, sa]);
    const obj = new Foo(next(), next(), 'cached');
    await store.put(obj);
    const session = db.orm.em.fork();
    const mine = await session.findOneOrFail(Foo, { id: obj.id });
    mine.bar = 'updated';
    await session.flush();
    expect(await mc.get(Foo, { id: obj.id })).toBeUndefined();
    expect(await store.get(Foo, { id: obj.id })).toMatchObject({ bar: 'updated' });
    session.remove(mine);
    await session.flush();
    expect(await mc.get(Foo, { id: obj.id })).toBeUndefined();
    expect(await store.get(Foo, { id: obj.id })).toBeUndefined();
  });
});
