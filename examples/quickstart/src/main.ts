/**
 * The seed's quickstart, in TypeScript: basics on a ProcessMemoryStore, alternate keys, batches,
 * lifetimes, polymorphic storage, then a write-through ChainedStore that prints which tier served
 * each read. Runs with nothing installed; STOCKPYLE_* variables add real tiers (see README).
 */
import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { extraTiers } from './tiers';

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

async function chained(): Promise<void> {
  const memory = CountingStore.wrap(new ProcessMemoryStore({ lifetime: () => 60 }));
  const { tiers, close } = await extraTiers();
  const counted = tiers.map((t) => CountingStore.wrap(t.store));
  const all: { name: string; store: Store & { calls(...m: string[]): number; resetCounts(): void } }[] = [
    { name: 'process memory', store: memory },
    ...tiers.map((t, i) => ({ name: t.name, store: counted[i]! })),
  ];
  log(`== chained store: ${all.map((t) => t.name).join(' -> ')}`);
  const chain = new ChainedStore(all.map((t) => t.store));
  const served = async (what: string, read: () => Promise<unknown>): Promise<void> => {
    all.forEach((t) => t.store.resetCounts());
    const value = await read();
    const touched = all.filter((t) => t.store.calls('get', 'batchGet', 'peek') > 0).map((t) => t.name);
    log(`${what.padEnd(34)} -> ${JSON.stringify(value)} (asked: ${touched.join(', ')})`);
  };
  try {
    const obj = new Foo('chained-1', 7, 'seven');
    await chain.put(obj);
    await served('get after put (write-through)', () => chain.get(Foo, { key: 'chained-1' }));
    memory.clear();
    await served('get after the memory tier forgot', () => chain.get(Foo, { zap: 7, bar: 'seven' }));
    await served('get again (pulled through)', () => chain.get(Foo, { key: 'chained-1' }));
    await chain.delete(obj);
    await served('get after delete', () => chain.get(Foo, { key: 'chained-1' }));
  } finally {
    await chain.release();
    await close();
  }
}

basics()
  .then(chained)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
