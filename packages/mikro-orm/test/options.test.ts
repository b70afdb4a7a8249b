import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { ChainedStore, ConfigurationError, DictionaryStore, ProcessMemoryStore } from '@stockpyle/core';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
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
