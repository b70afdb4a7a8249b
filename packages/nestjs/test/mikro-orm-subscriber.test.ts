import 'reflect-metadata';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Test } from '@nestjs/testing';
import { ChainedStore, ConfigurationError, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { StockpyleModule } from '@stockpyle/nestjs';

@Stockpyle()
@Entity({ tableName: 'nestjs_subscriber_widget' })
class Widget {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  name!: string;
}

/** The ORM as @mikro-orm/nestjs provides it; never connects (nothing runs in these tests). */
function ormModule(contextName?: string) {
  return MikroOrmModule.forRoot({
    driver: PostgreSqlDriver,
    dbName: 'never_connected',
    entities: [Widget],
    // MikroORM 6 connects in init() unless told not to; 7 connects at the first query and has no such option.
    ...({ connect: false } as object),
    ensureDatabase: false,
    registerRequestContext: false,
    contextName,
  });
}

function subscribersOf(orm: { em: EntityManager }): StockpyleSubscriber[] {
  return [...orm.em.getEventManager().getSubscribers()].filter((s): s is StockpyleSubscriber => s instanceof StockpyleSubscriber);
}

describe('StockpyleModule subscriber option', () => {
  it('registers one StockpyleSubscriber on the ORM provided by @mikro-orm/nestjs, with no manual wiring', async () => {
    const ref = await Test.createTestingModule({
      imports: [ormModule(), StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() }, subscriber: { store: 'default' } })],
    }).compile();
    ref.useLogger(false);
    const orm = ref.get(MikroORM);
    expect(subscribersOf(orm)).toHaveLength(0);
    await ref.init();
    expect(subscribersOf(orm)).toHaveLength(1);
    await ref.close();
  });

  it('gives the subscriber a chain a forRootAsync factory built from the ORM, and the chain to providers', async () => {
    const ref = await Test.createTestingModule({
      imports: [
        ormModule(),
        StockpyleModule.forRootAsync({
          inject: [MikroORM],
          useFactory: (orm: MikroORM) => ({ stores: { default: new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm })]) } }),
          subscriber: {},
        }),
      ],
    }).compile();
    ref.useLogger(false);
    await ref.init();
    expect(subscribersOf(ref.get(MikroORM))).toHaveLength(1);
    await ref.close();
  });

  it('registers on the ORM named by contextName when the app has several', async () => {
    const ref = await Test.createTestingModule({
      imports: [
        ormModule('catalog'),
        StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() }, subscriber: { contextName: 'catalog' } }),
      ],
    }).compile();
    ref.useLogger(false);
    await ref.init();
    expect(subscribersOf(ref.get<MikroORM>('catalog_MikroORM'))).toHaveLength(1);
    await ref.close();
  });

  it('fails at startup, saying what to import, when there is no ORM in the application', async () => {
    const ref = await Test.createTestingModule({
      imports: [StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() }, subscriber: {} })],
    }).compile();
    ref.useLogger(false);
    await expect(ref.init()).rejects.toThrow(/no MikroORM to register the subscriber on; import MikroOrmModule\.forRoot/);
    // Nest cannot close a context whose init failed (close() rethrows); nothing was opened.
  });

  it('fails at startup when the named store is not a cache and holds none (the subscriber only invalidates caches)', async () => {
    const ref = await Test.createTestingModule({
      imports: [
        ormModule(),
        StockpyleModule.forRootAsync({
          names: ['database'],
          inject: [MikroORM],
          useFactory: (orm: MikroORM) => ({ stores: { database: new MikroOrmStore({ orm }) } }),
          subscriber: { store: 'database' },
        }),
      ],
    }).compile();
    ref.useLogger(false);
    await expect(ref.init()).rejects.toThrow(ConfigurationError);
    await expect(ref.init()).rejects.toThrow(/MikroOrmStore is not a cache/);
    // Nest cannot close a context whose init failed (close() rethrows): close the ORM it made.
    await ref.get(MikroORM).close(true);
  });

  it('throws a ConfigurationError at once when subscriber.store is not a declared store', () => {
    expect(() => StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() }, subscriber: { store: 'cache' } })).toThrow(
      /subscriber\.store is 'cache', which is not one of the stores \('default'\)/,
    );
    expect(() => StockpyleModule.forRootAsync({ names: ['a'], useFactory: () => ({ stores: {} }), subscriber: {} })).toThrow(/'default'/);
  });
});
