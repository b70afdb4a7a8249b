import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ConfigurationError, DictionaryStore, ProcessMemoryStore } from '@stockpyle/core';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { MemoryBusHub } from '@stockpyle/core/testing';
import { ENTITIES } from './support/entities';
import { NEVER_CONNECTED } from './support/orm';

describe('constructor options', () => {
  let orm: MikroORM;
  beforeAll(async () => {
    orm = await MikroORM.init({ ...NEVER_CONNECTED, entities: ENTITIES, allowGlobalContext: false });
  });
  afterAll(async () => {
    await orm.close(true);
  });

  it('MikroOrmStore throws ConfigurationError unless given exactly one of orm and em', () => {
    expect(() => new MikroOrmStore({ orm, em: orm.em })).toThrow(ConfigurationError);
    expect(() => new MikroOrmStore({})).toThrow(/exactly one of/);
    expect(() => new MikroOrmStore({ em: {} as never })).toThrow(/not an EntityManager/);
    expect(() => new MikroOrmStore({ orm: {} as never })).toThrow(/not a MikroORM instance/);
    expect(() => new MikroOrmStore({ orm, maxKeysPerQuery: 1.5 })).toThrow(/maxKeysPerQuery/);
  });

  it('StockpyleSubscriber takes a bus for a single cache tier, not beside a chain (which has its own)', async () => {
    const bus = new MemoryBusHub().bus();
    const database = new MikroOrmStore({ orm });
    expect(() => new StockpyleSubscriber({ store: new ChainedStore([new ProcessMemoryStore(), database]), bus })).toThrow(/give the bus to the ChainedStore/);
    expect(new StockpyleSubscriber({ store: new DictionaryStore(new Map()), bus })).toBeInstanceOf(StockpyleSubscriber);
    // Its chain has no in-process tier: it only publishes, so it opens no subscription.
    expect(bus.hearing).toBe(false);
    await bus.release();
  });

  it('StockpyleSubscriber takes a cache tier or a chain with cache tiers, nothing else', () => {
    const database = new MikroOrmStore({ orm });
    expect(() => new StockpyleSubscriber({ store: database })).toThrow(/MikroOrmStore is not a cache/);
    expect(() => new StockpyleSubscriber({ store: new ChainedStore([database]) })).toThrow(/no cache tier/);
    expect(() => new StockpyleSubscriber({} as never)).toThrow(ConfigurationError);
    expect(() => new StockpyleSubscriber({ store: new ProcessMemoryStore(), onError: 1 as never })).toThrow(/onError/);
    expect(new StockpyleSubscriber({ store: new DictionaryStore(new Map()) })).toBeInstanceOf(StockpyleSubscriber);
    expect(new StockpyleSubscriber({ store: new ChainedStore([new ProcessMemoryStore(), database]) })).toBeInstanceOf(StockpyleSubscriber);
  });
});
