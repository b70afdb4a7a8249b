import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChainedStore, ProcessMemoryStore, type BusState } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import { eventually } from '../../../test-support/eventually';
import { serviceUrl } from '../../../test-support/test-environment';
import { Foo } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';

const prefix = `mo-bus-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Process A writes through its EntityManager; its subscriber invalidates the shared Redis tier and
 * publishes on A's bus. Process B reads through [memory, Redis, database] with its own bus.
 */
describe('StockpyleSubscriber({ store, bus }) and a chain with a bus in another process', () => {
  let db: TestOrm;
  let redis: RedisStore;
  let busA: RedisBus;
  let busB: RedisBus;
  let memoryB: ProcessMemoryStore;
  let chainB: ChainedStore;
  let sharedB: ReturnType<typeof CountingStore.wrap<RedisStore>>;

  beforeAll(async () => {
    redis = new RedisStore({ url: serviceUrl('redis'), prefix });
    busA = new RedisBus({ url: serviceUrl('redis'), prefix, name: 'bus-A' });
    busB = new RedisBus({ url: serviceUrl('redis'), prefix, name: 'bus-B' });
    db = await openOrm('bus', { subscribers: [new StockpyleSubscriber({ store: redis, bus: busA })] });
    memoryB = new ProcessMemoryStore();
    sharedB = CountingStore.wrap(redis);
    const states: BusState[] = [];
    chainB = new ChainedStore([memoryB, sharedB, new MikroOrmStore({ orm: db.orm })], { bus: busB });
    chainB.on('bus', (e) => states.push(e.state));
    await eventually(async () => expect(states).toContain('connected'));
  });

  afterAll(async () => {
    await chainB.release();
    await Promise.all([busA.release(), busB.release(), redis.release()]);
    await db.close();
  });

  it('a commit in A drops the entity from B\'s memory tier; B\'s next read returns the committed row', async () => {
    const em = db.orm.em.fork();
    em.persist(new Foo(1, 10, 'first'));
    await em.flush();
    // The insert's message (other processes' tiers may remember a miss) may arrive after B's first read.
    await eventually(async () => {
      expect((await chainB.get(Foo, { id: 1 }))?.bar).toBe('first');
      expect((await memoryB.get(Foo, { id: 1 }))?.bar).toBe('first');
    });

    const other = db.orm.em.fork();
    const foo = await other.findOneOrFail(Foo, { id: 1 });
    foo.bar = 'second';
    await other.flush();
    await eventually(async () => expect(await memoryB.get(Foo, { id: 1 })).toBeUndefined());
    sharedB.resetCounts();
    expect((await chainB.get(Foo, { id: 1 }))?.bar).toBe('second');
    expect((await chainB.get(Foo, { zap: 10, bar: 'second' }))?.id).toBe(1);
    expect(await chainB.get(Foo, { zap: 10, bar: 'first' })).toBeUndefined();
  });
});
