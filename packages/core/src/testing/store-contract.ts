import { NotStockpyleClassError, UnknownKeyError } from '../errors';
import type { Store } from '../store';
import type { LifetimeFn } from '../types';
import { defaultFixtures, type ContractFixtures } from './fixtures';

/** The options the suite asks a store factory for; map them onto the store's own options. */
export interface ContractStoreOptions {
  polymorphic?: boolean;
  lifetime?: LifetimeFn;
}

/** How to run the store contract suite against one store. */
export interface StoreContractOptions {
  /** Creates a fresh, empty store for one test; the suite releases it afterwards. */
  create(options: ContractStoreOptions): Store | Promise<Store>;
  /** Classes to store; the plain decorated defaults unless the store needs its own (ORM entities). */
  fixtures?: ContractFixtures;
  /** Whether the store honours `lifetime` (caches do; the database does not). @default true */
  lifetimes?: boolean;
  /** Whether the store honours `polymorphic`. @default true */
  polymorphic?: boolean;
  /** Whether `get` returns the very instance stored (in-process stores) rather than a copy. @default false */
  sameInstance?: boolean;
  /** Runs code inside whatever context the store needs (e.g. `AsyncLocalStore.run`). */
  within?<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Registers the store contract: every behaviour of stockpyle's store API, held the same for every
 * store. Call it inside a test file: `describeStoreContract('MemcacheStore', { create: ... })`.
 */
export function describeStoreContract(name: string, options: StoreContractOptions): void {
  // Loaded here, not at import: the wrappers in this subpath are also used outside jest.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { afterEach, describe, expect, it, jest } = require('@jest/globals') as typeof import('@jest/globals');
  const fx = options.fixtures ?? defaultFixtures;
  const { Foo, Automobile, Car, Truck } = fx;
  const within = options.within ?? (<T>(fn: () => Promise<T>) => fn());
  const opened: Store[] = [];
  let seq = Math.floor(Math.random() * 1_000_000) * 1000;
  // Unique ids per test, so stores that share a server across tests never see each other's objects.
  const ids = (): [number, number, string] => {
    seq += 1;
    return [seq, seq + 500_000_000, `bar-${seq}`];
  };
  const foo = (): ReturnType<ContractFixtures['makeFoo']> => fx.makeFoo(...ids());
  const plate = (): string => `P-${(seq += 1)}-${Math.random().toString(36).slice(2, 8)}`;

  async function open(storeOptions: ContractStoreOptions = {}): Promise<Store> {
    const store = await options.create(storeOptions);
    opened.push(store);
    return store;
  }

  const test = (title: string, fn: () => Promise<void>, timeout?: number): void => it(title, () => within(fn), timeout);
  const expectSame = (actual: unknown, expected: object): void => {
    if (options.sameInstance) expect(actual).toBe(expected);
    else {
      expect(actual).toBeInstanceOf(expected.constructor);
      expect({ ...(actual as object) }).toMatchObject({ ...expected });
    }
  };

  describe(`${name} (store contract)`, () => {
    afterEach(async () => {
      jest.restoreAllMocks();
      await Promise.all(opened.splice(0).map((s) => s.release()));
    });

    describe('put() and get()', () => {
      test('get(cls, key) returns what put stored, by its first key', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        expectSame(await store.get(Foo, { id: f.id }), f);
      });

      test('get(cls, key) finds an object by a composite key in any attribute order', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        expectSame(await store.get(Foo, { zap: f.zap, bar: f.bar }), f);
        expectSame(await store.get(Foo, { bar: f.bar, zap: f.zap }), f);
      });

      test('get(cls, key) returns undefined for a key never stored', async () => {
        const store = await open();
        const [id] = ids();
        expect(await store.get(Foo, { id })).toBeUndefined();
      });

      test('put(obj) again replaces the stored version', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        const [, zap] = ids();
        const changed = fx.makeFoo(f.id, zap, f.bar);
        await store.put(changed);
        expectSame(await store.get(Foo, { id: f.id }), changed);
        expectSame(await store.get(Foo, { zap, bar: f.bar }), changed);
      });

      test('put(obj) after a key attribute changed drops the old key', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        const [, zap] = ids();
        await store.put(fx.makeFoo(f.id, zap, f.bar));
        expect(await store.get(Foo, { zap: f.zap, bar: f.bar })).toBeUndefined();
      });

      test('get(cls, key) with a number does not find a string key, nor the reverse', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        expect(await store.get(Foo, { id: String(f.id) as unknown as number })).toBeUndefined();
      });
    });

    describe('batchGet()', () => {
      test('batchGet returns one result per query, in order, undefined where missing', async () => {
        const store = await open();
        const [a, b, c] = [foo(), foo(), foo()];
        await store.batchPut([a, c]);
        const got = await store.batchGet(Foo, [{ id: a.id }, { id: b.id }, { zap: c.zap, bar: c.bar }]);
        expect(got).toHaveLength(3);
        expectSame(got[0], a);
        expect(got[1]).toBeUndefined();
        expectSame(got[2], c);
      });

      test('batchGet of an empty list returns an empty list', async () => {
        const store = await open();
        expect(await store.batchGet(Foo, [])).toEqual([]);
      });

      test('batchGet answers a repeated query twice', async () => {
        const store = await open();
        const a = foo();
        await store.put(a);
        const got = await store.batchGet(Foo, [{ id: a.id }, { id: a.id }]);
        expectSame(got[0], a);
        expectSame(got[1], a);
      });
    });

    describe('delete() and batchDelete()', () => {
      test('delete(obj) removes the object from under every key', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        await store.delete(f);
        expect(await store.get(Foo, { id: f.id })).toBeUndefined();
        expect(await store.get(Foo, { zap: f.zap, bar: f.bar })).toBeUndefined();
      });

      test('delete(obj) works with the object get returned', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        const got = await store.get(Foo, { id: f.id });
        await store.delete(got!);
        expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      });

      test('batchDelete(objs) removes each object and leaves the others', async () => {
        const store = await open();
        const [a, b, c] = [foo(), foo(), foo()];
        await store.batchPut([a, b, c]);
        await store.batchDelete([a, c]);
        const got = await store.batchGet(Foo, [{ id: a.id }, { id: b.id }, { id: c.id }]);
        expect(got[0]).toBeUndefined();
        expectSame(got[1], b);
        expect(got[2]).toBeUndefined();
      });

      test('delete(obj) of an object never stored does not throw', async () => {
        const store = await open();
        await expect(store.delete(foo())).resolves.toBeUndefined();
      });

      test('put(obj) after delete(obj) stores it again', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        await store.delete(f);
        await store.put(f);
        expectSame(await store.get(Foo, { id: f.id }), f);
      });
    });

    describe('release()', () => {
      test('release() then any call reopens lazily', async () => {
        const store = await open();
        const f = foo();
        await store.put(f);
        await store.release();
        const g = foo();
        await store.put(g);
        expectSame(await store.get(Foo, { id: g.id }), g);
        await store.release();
        await store.release();
      });
    });

    if (options.lifetimes !== false) {
      describe('lifetimes', () => {
        const later = (ms: number): void => {
          const now = Date.now();
          jest.spyOn(Date, 'now').mockReturnValue(now + ms);
        };

        test('an object with a lifetime in seconds is a miss once it has passed', async () => {
          const store = await open({ lifetime: () => 60 });
          const f = foo();
          await store.put(f);
          expectSame(await store.get(Foo, { id: f.id }), f);
          later(61_000);
          expect(await store.get(Foo, { id: f.id })).toBeUndefined();
          expect(await store.get(Foo, { zap: f.zap, bar: f.bar })).toBeUndefined();
        });

        test('an object with an absolute Date lifetime is a miss after that date', async () => {
          const store = await open({ lifetime: () => new Date(Date.now() + 120_000) });
          const f = foo();
          await store.put(f);
          expectSame(await store.get(Foo, { id: f.id }), f);
          later(121_000);
          expect(await store.get(Foo, { id: f.id })).toBeUndefined();
        });

        test('an object with a duration lifetime lives exactly that long', async () => {
          const store = await open({ lifetime: () => ({ minutes: 1, seconds: 30 }) });
          const f = foo();
          await store.put(f);
          later(89_000);
          expectSame(await store.get(Foo, { id: f.id }), f);
          later(91_000);
          expect(await store.get(Foo, { id: f.id })).toBeUndefined();
        });

        test('an object whose lifetime is already past is not stored', async () => {
          const store = await open({ lifetime: () => new Date(Date.now() - 1000) });
          const f = foo();
          await store.put(f);
          expect(await store.get(Foo, { id: f.id })).toBeUndefined();
        });

        test('the lifetime callback chooses per object; undefined means no expiry', async () => {
          const short = foo();
          const store = await open({ lifetime: (o) => ((o as { id: number }).id === short.id ? 10 : undefined) });
          const keep = foo();
          await store.batchPut([short, keep]);
          later(3_600_000);
          const got = await store.batchGet(Foo, [{ id: short.id }, { id: keep.id }]);
          expect(got[0]).toBeUndefined();
          expectSame(got[1], keep);
        });
      });
    }

    if (options.polymorphic !== false) {
      describe('polymorphic storage', () => {
        test('with polymorphic, a subclass instance is found through its base class', async () => {
          const store = await open({ polymorphic: true });
          const car = fx.makeCar(plate());
          await store.put(car);
          expectSame(await store.get(Car, { license_plate: car.license_plate }), car);
          const asBase = await store.get(Automobile, { license_plate: car.license_plate });
          expectSame(asBase, car);
          expect(asBase).toBeInstanceOf(Car);
        });

        test('without polymorphic, a subclass instance is not found through its base class', async () => {
          const store = await open();
          const car = fx.makeCar(plate());
          await store.put(car);
          expectSame(await store.get(Car, { license_plate: car.license_plate }), car);
          expect(await store.get(Automobile, { license_plate: car.license_plate })).toBeUndefined();
        });

        test('a sibling class never answers for another', async () => {
          const store = await open({ polymorphic: true });
          const car = fx.makeCar(plate());
          await store.put(car);
          expect(await store.get(Truck, { license_plate: car.license_plate })).toBeUndefined();
        });

        test('delete(obj) removes a polymorphic object from under its base keys too', async () => {
          const store = await open({ polymorphic: true });
          const truck = fx.makeTruck(plate());
          await store.put(truck);
          await store.delete(truck);
          expect(await store.get(Automobile, { license_plate: truck.license_plate })).toBeUndefined();
        });
      });
    }

    describe('bad input', () => {
      test('get with attributes that are not a declared key throws UnknownKeyError', async () => {
        const store = await open();
        await expect(store.get(Foo, { zap: 1 })).rejects.toBeInstanceOf(UnknownKeyError);
        await expect(store.get(Foo, { id: 1, zap: 1 })).rejects.toThrow(/declared keys/);
      });

      test('batchGet with one bad query throws UnknownKeyError', async () => {
        const store = await open();
        await expect(store.batchGet(Foo, [{ id: 1 }, { bar: 'x' }])).rejects.toBeInstanceOf(UnknownKeyError);
      });

      test('an undecorated class throws NotStockpyleClassError', async () => {
        const store = await open();
        class Plain {
          id = 1;
        }
        await expect(store.get(Plain, { id: 1 })).rejects.toBeInstanceOf(NotStockpyleClassError);
      });
    });
  });
}
