/**
 * The seed's quickstart, in TypeScript: basics on a ProcessMemoryStore, alternate keys, batches,
 * lifetimes, polymorphic storage, then a write-through ChainedStore over PostgreSQL (MikroORM) that
 * prints which tiers each read asked. Runs on embedded defaults; STOCKPYLE_* variables name real
 * services instead (see README).
 */
import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { Article, openDatabase } from './database';
import { cacheTiers } from './tiers';

@Stockpyle({ keys: ['key', ['zap', 'bar']] })
class Foo {
  constructor(
    public key: string,
    public zap = 0,
    public bar = '',
  ) {}
}

@Stockpyle({ keys: ['license_plate'] })
class Automobile {
  constructor(public license_plate: string) {}
}
class Car extends Automobile {}

const log = (...parts: unknown[]): void => console.log(...parts);

async function basics(): Promise<void> {
  log('== basics: ProcessMemoryStore');
  const store = new ProcessMemoryStore();
  const f = new Foo('my_unique_key_123');
  await store.put(f);
  log('get by key      ->', await store.get(Foo, { key: 'my_unique_key_123' }));
  await store.delete(f);
  log('after delete    ->', await store.get(Foo, { key: 'my_unique_key_123' }));

  const [f1, f2, f3] = [new Foo('my_key_1'), new Foo('my_key_2'), new Foo('my_key_3')];
  await store.batchPut([f1, f2, f3]);
  const got = await store.batchGet(Foo, [{ key: 'my_key_1' }, { key: 'nonexistent_key' }, { key: 'my_key_3' }]);
  log('batchGet        ->', got, '(a missing key is undefined, in place)');
  await store.batchDelete([f1, f2, f3]);

  log('== alternate keys');
  await store.put(new Foo('1', 2, '3'));
  log('by key          ->', await store.get(Foo, { key: '1' }));
  log('by (zap, bar)   ->', await store.get(Foo, { bar: '3', zap: 2 }));

  log('== lifetimes');
  const expiring = new ProcessMemoryStore({ lifetime: (obj) => (obj instanceof Foo ? 20 : 5 * 60) });
  await expiring.put(new Foo('short-lived'));
  log('stored with a 20 s lifetime ->', await expiring.get(Foo, { key: 'short-lived' }));

  log('== polymorphic storage');
  const poly = new ProcessMemoryStore({ polymorphic: true });
  await poly.put(new Car('1234 XYZ'));
  log('as Car          ->', await poly.get(Car, { license_plate: '1234 XYZ' }));
  log('as Automobile   ->', await poly.get(Automobile, { license_plate: '1234 XYZ' }));
}

type Counted = Store & { calls(...methods: string[]): number; resetCounts(): void };

async function chained(): Promise<void> {
  const database = await openDatabase();
  const memory = CountingStore.wrap(new ProcessMemoryStore({ lifetime: () => 60 }));
  const tiers: { name: string; store: Counted }[] = [
    { name: 'process memory', store: memory },
    ...cacheTiers().map((t) => ({ name: t.name, store: CountingStore.wrap(t.store) })),
    { name: database.name, store: CountingStore.wrap(database.store) },
  ];
  log(`== chained store: ${tiers.map((t) => t.name).join(' -> ')}`);
  const chain = new ChainedStore(tiers.map((t) => t.store));
  // Writes made through the application's own EntityManager reach the caches too.
  database.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
  const served = async (what: string, read: () => Promise<unknown>): Promise<void> => {
    tiers.forEach((t) => t.store.resetCounts());
    const value = await read();
    const asked = tiers.filter((t) => t.store.calls('get', 'batchGet', 'lookup', 'peek') > 0).map((t) => t.name);
    log(`${what.padEnd(40)} -> ${JSON.stringify(value)} (asked: ${asked.join(', ')})`);
  };
  try {
    const article = new Article(1, 'hello-world', 'Hello, world');
    await chain.put(article);
    await served('get after put (write-through)', () => chain.get(Article, { id: 1 }));
    memory.clear();
    await served('get after the memory tier forgot', () => chain.get(Article, { slug: 'hello-world' }));
    await served('get again (pulled through)', () => chain.get(Article, { id: 1 }));

    // The seed's SqlAlchemyStore example: change an object in your own EntityManager.
    const em = database.orm.em.fork();
    const mine = await em.findOneOrFail(Article, { id: 1 });
    mine.title = 'Hello again';
    await em.flush();
    await served('get after an update through the ORM', () => chain.get(Article, { slug: 'hello-world' }));
    const fromStore = await chain.get(Article, { id: 1 });
    const merged = em.fork().merge(fromStore!);
    log(`merged into another EntityManager       -> ${merged.title}`);

    await chain.batchPut([new Article(2, 'second', 'Second'), new Article(3, 'third', 'Third')]);
    memory.clear();
    await served('batchGet of 4 (one query for misses)', async () =>
      (await chain.batchGet(Article, [{ id: 1 }, { id: 2 }, { slug: 'third' }, { id: 404 }])).map((a) => a?.slug),
    );
    await chain.delete(article);
    await served('get after delete', () => chain.get(Article, { id: 1 }));
  } finally {
    await chain.release();
    await database.close();
  }
}

basics()
  .then(chained)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
