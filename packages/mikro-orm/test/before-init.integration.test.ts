import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { helper } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { ChainedStore, getMetadata, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { MikroOrmStore } from '@stockpyle/mikro-orm';
import { RedisStore } from '@stockpyle/redis';
import { serviceUrl } from '../../../test-support/test-environment';
import { ENTITIES } from './support/entities';
import { MIKRO_ORM_MAJOR, openOrm, type TestOrm } from './support/orm';

/** Keyed by its primary key (`@Stockpyle()` without keys), which only MikroORM's decorators know before init. */
@Entity({ tableName: 'gadget' })
@Stockpyle({ name: 'mo.Gadget' })
class Gadget {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'string' })
  name!: string;

  @Property({ type: 'Date' })
  madeAt!: Date;
}

const gadget = (id: number, name: string): Gadget => Object.assign(new Gadget(), { id, name, madeAt: new Date(Date.UTC(2026, 11, 2, 12, id)) });

describe(`an entity class in a cache tier before MikroORM.init (MikroORM ${MIKRO_ORM_MAJOR})`, () => {
  const prefix = `before-init-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const id = 1 + Math.floor(Math.random() * 1_000_000);
  let redis: RedisStore;
  let db: TestOrm | undefined;

  beforeAll(() => {
    redis = new RedisStore({ url: serviceUrl('redis'), prefix });
  });
  afterAll(async () => {
    await redis.release();
    await db?.close();
  });

  it('is keyed by the primary key its decorators declare, and goes through Redis and process memory', async () => {
    expect(getMetadata(Gadget).keys.map((k) => k.declared)).toEqual([['id']]);
    const memory = new ProcessMemoryStore();
    const early = gadget(id, 'early');
    await new ChainedStore([memory, redis]).put(early);
    const fromRedis = await redis.get(Gadget, { id });
    expect(fromRedis).toBeInstanceOf(Gadget);
    expect(fromRedis).toEqual(early);
    expect(fromRedis!.madeAt).toBeInstanceOf(Date);
    expect(await memory.get(Gadget, { id })).toEqual(early);
    expect((await redis.batchGet(Gadget, [{ id }, { id: id + 1 }])).map((g) => g?.name)).toEqual(['early', undefined]);
  });

  it('is read back after MikroORM.init as an entity, and written through to PostgreSQL', async () => {
    db = await openOrm('before_init', { extra: { entities: [...ENTITIES, Gadget] } });
    const chain = new ChainedStore([new ProcessMemoryStore(), redis, new MikroOrmStore({ orm: db.orm })]);

    // What Redis took before init is a hit now, adopted by the database store: managed by a fork, no query.
    db.log.reset();
    const hit = await chain.get(Gadget, { id });
    expect(db.log.statements).toEqual([]);
    expect(hit).toBeInstanceOf(Gadget);
    expect(hit).toMatchObject({ id, name: 'early', madeAt: gadget(id, 'early').madeAt });
    expect(helper(hit!).__em).toBeDefined();

    // Through the chain into the database, then every tier serves the new version.
    hit!.name = 'stored';
    await chain.put(hit!);
    const row = await db.orm.em.fork().findOneOrFail(Gadget, id);
    expect(row).toMatchObject({ name: 'stored', madeAt: gadget(id, 'early').madeAt });
    expect((await redis.get(Gadget, { id }))?.name).toBe('stored');
    await chain.delete(row);
    expect(await db.orm.em.fork().findOne(Gadget, id)).toBeNull();
    expect(await chain.get(Gadget, { id })).toBeUndefined();
  });
});
