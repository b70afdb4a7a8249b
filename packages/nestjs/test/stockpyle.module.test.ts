import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ChainedStore, ConfigurationError, ProcessMemoryStore, type Store } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { getStoreToken, InjectStore, StockpyleModule, type StockpyleOptionsFactory, type StockpyleStoresConfig } from '@stockpyle/nestjs';

/** A config provider from another module, as a factory would inject it. */
@Injectable()
class CacheConfig {
  readonly max = 42;
}

@Module({ providers: [CacheConfig], exports: [CacheConfig] })
class ConfigModule {}

@Injectable()
class UsesStores {
  constructor(
    @InjectStore() readonly store: Store,
    @InjectStore('sessions') readonly sessions: Store,
  ) {}
}

@Injectable()
class UsesDefault {
  constructor(@InjectStore() readonly store: Store) {}
}

/** A feature module that does not import StockpyleModule itself. */
@Module({ providers: [UsesDefault] })
class FeatureModule {}

function counted(name: string) {
  return CountingStore.wrap(new ProcessMemoryStore({ name }));
}

describe('getStoreToken()', () => {
  it('is one stable token per name, "default" when none is given', () => {
    expect(getStoreToken()).toBe(getStoreToken('default'));
    expect(getStoreToken('sessions')).toBe(getStoreToken('sessions'));
    expect(getStoreToken('sessions')).not.toBe(getStoreToken());
  });
});

describe('StockpyleModule', () => {
  describe('forRoot()', () => {
    it('provides each named store under getStoreToken(name) and InjectStore(name)', async () => {
      const store = new ProcessMemoryStore();
      const sessions = new ProcessMemoryStore();
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRoot({ stores: { default: store, sessions } })],
        providers: [UsesStores],
      }).compile();
      expect(ref.get(getStoreToken())).toBe(store);
      expect(ref.get(getStoreToken('sessions'))).toBe(sessions);
      expect(ref.get(UsesStores).store).toBe(store);
      expect(ref.get(UsesStores).sessions).toBe(sessions);
      await ref.close();
    });

    it('is not global unless asked: a module that does not import it cannot inject the store', async () => {
      await expect(
        Test.createTestingModule({
          imports: [StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() } }), FeatureModule],
        }).compile(),
      ).rejects.toThrow(/can't resolve dependencies of the UsesDefault/);
    });

    it('with global: true makes the stores injectable in every module', async () => {
      const store = new ProcessMemoryStore();
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRoot({ stores: { default: store }, global: true }), FeatureModule],
      }).compile();
      expect(ref.get(UsesDefault).store).toBe(store);
      await ref.close();
    });

    it('never releases the stores it was given: the caller owns them', async () => {
      const store = counted('default');
      const ref = await Test.createTestingModule({ imports: [StockpyleModule.forRoot({ stores: { default: store } })] }).compile();
      await ref.init();
      await ref.close();
      expect(store.counts.release).toBeUndefined();
    });

    it('throws a ConfigurationError for no stores, or for a value that is not a store', () => {
      expect(() => StockpyleModule.forRoot({ stores: {} })).toThrow(ConfigurationError);
      expect(() => StockpyleModule.forRoot({ stores: { default: {} as Store } })).toThrow(/stores\.default is not a store/);
      expect(() => StockpyleModule.forRoot({} as never)).toThrow(/stores must be an object/);
    });
  });

  describe('forRootAsync()', () => {
    it('builds the stores with useFactory from injected providers of imported modules', async () => {
      const factory = jest.fn((config: CacheConfig) => ({
        stores: { default: new ProcessMemoryStore({ max: config.max }), sessions: new ProcessMemoryStore() },
      }));
      const ref = await Test.createTestingModule({
        imports: [
          StockpyleModule.forRootAsync({ names: ['default', 'sessions'], imports: [ConfigModule], inject: [CacheConfig], useFactory: factory }),
        ],
        providers: [UsesStores],
      }).compile();
      expect(factory).toHaveBeenCalledWith(expect.any(CacheConfig));
      expect(ref.get(UsesStores).store).toBeInstanceOf(ProcessMemoryStore);
      expect(ref.get(UsesStores).sessions).toBe(ref.get(getStoreToken('sessions')));
      expect(ref.get(UsesStores).store).not.toBe(ref.get(UsesStores).sessions);
      await ref.close();
    });

    it('declares the name "default" when names is omitted', async () => {
      const store = new ProcessMemoryStore();
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ useFactory: async () => ({ stores: { default: store } }) })],
      }).compile();
      expect(ref.get(getStoreToken())).toBe(store);
      await ref.close();
    });

    it('builds the stores with a useClass options factory, which gets the declared names', async () => {
      @Injectable()
      class StoresFactory implements StockpyleOptionsFactory {
        constructor(@Inject(CacheConfig) private readonly config: CacheConfig) {}
        createStockpyleStores(names: readonly string[]): StockpyleStoresConfig {
          return { stores: Object.fromEntries(names.map((n) => [n, new ProcessMemoryStore({ name: n, max: this.config.max })])) };
        }
      }
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ names: ['default', 'sessions'], imports: [ConfigModule], useClass: StoresFactory })],
      }).compile();
      expect(ref.get<Store>(getStoreToken('sessions')).name).toBe('sessions');
      expect(ref.get<Store>(getStoreToken()).name).toBe('default');
      await ref.close();
    });

    it('builds the stores with an existing options factory provider (useExisting)', async () => {
      const store = new ProcessMemoryStore();
      @Injectable()
      class SharedFactory implements StockpyleOptionsFactory {
        createStockpyleStores(): StockpyleStoresConfig {
          return { stores: { default: store } };
        }
      }
      @Module({ providers: [SharedFactory], exports: [SharedFactory] })
      class FactoryModule {}
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ imports: [FactoryModule], useExisting: SharedFactory })],
      }).compile();
      expect(ref.get(getStoreToken())).toBe(store);
      await ref.close();
    });

    it('with global: true makes the stores injectable in every module', async () => {
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ global: true, useFactory: () => ({ stores: { default: new ProcessMemoryStore() } }) }), FeatureModule],
      }).compile();
      expect(ref.get(UsesDefault).store).toBeInstanceOf(ProcessMemoryStore);
      await ref.close();
    });

    it('fails at startup, naming the store, when the factory returns none for a declared name', async () => {
      const store = counted('default');
      const start = Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ names: ['default', 'sessions'], useFactory: () => ({ stores: { default: store } }) })],
      }).compile();
      await expect(start).rejects.toThrow(ConfigurationError);
      await expect(start).rejects.toThrow(/no store for 'sessions'/);
      // What the factory did build is not leaked by the failed start.
      expect(store.counts.release).toBe(1);
    });

    it('fails at startup when the factory returns a name that names does not declare', async () => {
      await expect(
        Test.createTestingModule({
          imports: [StockpyleModule.forRootAsync({ useFactory: () => ({ stores: { default: new ProcessMemoryStore(), sesions: new ProcessMemoryStore() } }) })],
        }).compile(),
      ).rejects.toThrow(/returned a store named 'sesions', which names does not declare \('default'\)/);
    });

    it('fails at startup when the factory returns no { stores } or a value that is not a store', async () => {
      const compile = (useFactory: () => unknown) =>
        Test.createTestingModule({ imports: [StockpyleModule.forRootAsync({ useFactory: useFactory as never })] }).compile();
      await expect(compile(() => undefined)).rejects.toThrow(/must return \{ stores: \{ default: <store> \} \}/);
      await expect(compile(() => ({ default: new ProcessMemoryStore() }))).rejects.toThrow(/has no stores object/);
      await expect(compile(() => ({ stores: { default: 'redis://' } }))).rejects.toThrow(/stores\.default is not a store/);
      await expect(compile(() => ({ stores: { default: new ProcessMemoryStore() }, shared: ['other'] }))).rejects.toThrow(/shared lists 'other'/);
    });

    it('fails at startup when a useClass factory does not implement createStockpyleStores', async () => {
      @Injectable()
      class NotAFactory {}
      await expect(
        Test.createTestingModule({ imports: [StockpyleModule.forRootAsync({ useClass: NotAFactory as never })] }).compile(),
      ).rejects.toThrow(/NotAFactory must implement StockpyleOptionsFactory/);
    });

    it('throws a ConfigurationError at once for bad names or not exactly one of useFactory, useClass, useExisting', () => {
      const useFactory = () => ({ stores: {} });
      expect(() => StockpyleModule.forRootAsync({})).toThrow(/exactly one of useFactory, useClass or useExisting; got 0/);
      expect(() => StockpyleModule.forRootAsync({ useFactory, useClass: CacheConfig as never })).toThrow(/got 2/);
      expect(() => StockpyleModule.forRootAsync({ names: [], useFactory })).toThrow(/names must be a non-empty array/);
      expect(() => StockpyleModule.forRootAsync({ names: ['a', 'a'], useFactory })).toThrow(/'a' is declared twice/);
      expect(() => StockpyleModule.forRootAsync({ names: [''], useFactory })).toThrow(/non-empty string/);
      expect(() => StockpyleModule.forRootAsync({ useClass: CacheConfig as never, inject: [CacheConfig] })).toThrow(/inject goes with useFactory/);
    });
  });

  describe('onApplicationShutdown()', () => {
    it('releases each store a forRootAsync factory built, once, when the application closes', async () => {
      const store = counted('default');
      const sessions = counted('sessions');
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ names: ['default', 'sessions', 'alias'], useFactory: () => ({ stores: { default: store, sessions, alias: store } }) })],
      }).compile();
      await ref.init();
      expect(store.counts.release).toBeUndefined();
      await ref.close();
      expect(store.counts.release).toBe(1);
      expect(sessions.counts.release).toBe(1);
    });

    it('leaves the tiers of a chain to the chain: a tier also registered by name is released once', async () => {
      const memory = counted('memory');
      const backing = counted('backing');
      const ref = await Test.createTestingModule({
        imports: [
          StockpyleModule.forRootAsync({
            names: ['default', 'memory'],
            useFactory: () => ({ stores: { default: new ChainedStore([memory, backing]), memory } }),
          }),
        ],
      }).compile();
      await ref.init();
      await ref.close();
      expect(memory.counts.release).toBe(1);
      expect(backing.counts.release).toBe(1);
    });

    it('leaves alone the stores the factory marked shared, under any of their names', async () => {
      const owned = counted('owned');
      const external = counted('external');
      const ref = await Test.createTestingModule({
        imports: [
          StockpyleModule.forRootAsync({
            names: ['default', 'external', 'alias'],
            useFactory: () => ({ stores: { default: owned, external, alias: external }, shared: ['external'] }),
          }),
        ],
      }).compile();
      await ref.init();
      await ref.close();
      expect(owned.counts.release).toBe(1);
      expect(external.counts.release).toBeUndefined();
    });

    it('keeps releasing the other stores, and closes the application, when one release fails', async () => {
      const failing = new ProcessMemoryStore({ name: 'failing' });
      jest.spyOn(failing, 'release').mockRejectedValue(new Error('connection reset'));
      const other = counted('other');
      const ref = await Test.createTestingModule({
        imports: [StockpyleModule.forRootAsync({ names: ['default', 'other'], useFactory: () => ({ stores: { default: failing, other } }) })],
      }).compile();
      ref.useLogger(false);
      await ref.init();
      await expect(ref.close()).resolves.toBeUndefined();
      expect(failing.release).toHaveBeenCalledTimes(1);
      expect(other.counts.release).toBe(1);
    });
  });
});
