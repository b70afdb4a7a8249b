import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ChainedStore, DictionaryStore, type StoreEvent } from '@stockpyle/core';
import { FaultyStore } from '@stockpyle/core/testing';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { eventually } from '../../../test-support/eventually';
import { Foo } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';

describe('StockpyleSubscriber when a cache tier fails', () => {
  let db: TestOrm | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  async function update(id: number, bar: string): Promise<void> {
    const em = db!.orm.em.fork();
    (await em.findOneOrFail(Foo, id)).bar = bar;
    await em.flush();
  }

  it('given the chain: the flush succeeds, the chain reports the error and invalidates the tier before reading it again', async () => {
    db = await openOrm('failure_chain');
    const tier = FaultyStore.wrap(new DictionaryStore(new Map()));
    const chain = new ChainedStore([tier, new MikroOrmStore({ orm: db.orm })]);
    const errors: StoreEvent[] = [];
    chain.on('error', (e) => errors.push(e));
    db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
    await chain.put(new Foo(1, 1, 'one'));
    tier.fault({ kind: 'throw' });
    await expect(update(1, 'two')).resolves.toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ type: 'error', operation: 'invalidate' })]);
    tier.heal();
    expect(await chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'two' });
    expect(await tier.get(Foo, { id: 1 })).toBeUndefined();
  });

  it('given one tier (registered in the ORM config): the flush succeeds within the deadline and onError is told', async () => {
    const tier = FaultyStore.wrap(new DictionaryStore(new Map()));
    const errors: StoreEvent[] = [];
    db = await openOrm('failure_tier', { subscribers: [new StockpyleSubscriber({ store: tier, onError: (e) => errors.push(e) })] });
    await new MikroOrmStore({ orm: db.orm }).put(new Foo(2, 2, 'one'));
    await tier.put(new Foo(2, 2, 'one'));
    tier.fault({ kind: 'hang' });
    try {
      await expect(update(2, 'two')).resolves.toBeUndefined();
      expect(errors).toEqual([expect.objectContaining({ type: 'error', operation: 'invalidate' })]);
      // The tier answers again (the call that hung stays stuck): the invalidation it missed is
      // delivered in the background, with no further flush (the subscriber's chain retries every
      // breaker resetAfter, 1 s).
      tier.fault({ kind: 'ok' });
      expect(await tier.get(Foo, { id: 2 })).toMatchObject({ bar: 'one' });
      await eventually(async () => expect(await tier.get(Foo, { id: 2 })).toBeUndefined(), 10_000, 50);
    } finally {
      tier.heal();
    }
  });
});
