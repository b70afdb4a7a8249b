import type { FactoryProvider, ModuleMetadata, Type } from '@nestjs/common';
import type { Store } from '@stockpyle/core';

/** Stores by name; each name becomes one provider, reached with `InjectStore(name)` / `getStoreToken(name)`. */
export type StockpyleStores = Readonly<Record<string, Store>>;

/** Registers a `StockpyleSubscriber` on MikroORM's event manager when the module starts. */
export interface StockpyleSubscriberOptions {
  /** The name of the store the subscriber keeps right when entities are written. @default 'default' */
  store?: string;
  /** The `contextName` given to `MikroOrmModule.forRoot`, when the app runs more than one ORM. @default the ORM provided as `MikroORM` */
  contextName?: string;
}

/** Options shared by `forRoot` and `forRootAsync`; known when the module is declared. */
export interface StockpyleModuleSharedOptions {
  /** Makes the stores injectable in every module without importing StockpyleModule there. @default false */
  global?: boolean;
  /**
   * Opens an `AsyncLocalStore` context around every HTTP request (all routes), so a chain may start
   * with a per-request tier. Leave it off to apply `StockpyleRequestContextMiddleware` yourself.
   * @default false
   */
  requestScope?: boolean;
  /** Wires a `StockpyleSubscriber` into MikroORM (needs `@stockpyle/mikro-orm` and `@mikro-orm/nestjs`). Off unless set. */
  subscriber?: StockpyleSubscriberOptions;
  /**
   * Reports every registered store to OpenTelemetry (`instrumentOpenTelemetry` of
   * `@stockpyle/core/opentelemetry`, on the global MeterProvider) from startup to shutdown, when
   * `@opentelemetry/api` is installed; without an SDK registered that costs nothing. @default true
   */
  openTelemetry?: boolean;
}

/** Options of `StockpyleModule.forRoot`: stores you built, so you own them — the module never releases them. */
export interface StockpyleModuleOptions extends StockpyleModuleSharedOptions {
  stores: StockpyleStores;
}

/** What a `forRootAsync` factory returns. Stores it returns are the module's: released on application shutdown. */
export interface StockpyleStoresConfig {
  stores: StockpyleStores;
  /** Names of returned stores the factory did not create (e.g. injected from another provider): never released. @default [] */
  shared?: readonly string[];
}

/** A class that builds the stores for `forRootAsync({ useClass | useExisting })`. */
export interface StockpyleOptionsFactory {
  /** Builds one store for each of `names` (the `names` given to `forRootAsync`). */
  createStockpyleStores(names: readonly string[]): StockpyleStoresConfig | Promise<StockpyleStoresConfig>;
}

/** Options of `StockpyleModule.forRootAsync`: give exactly one of `useFactory`, `useClass`, `useExisting`. */
export interface StockpyleModuleAsyncOptions extends StockpyleModuleSharedOptions, Pick<ModuleMetadata, 'imports'> {
  /** The store names the factory must return, each one a provider. @default ['default'] */
  names?: readonly string[];
  /** Builds the stores from the injected `inject` providers. */
  useFactory?: (...args: any[]) => StockpyleStoresConfig | Promise<StockpyleStoresConfig>;
  /** Providers handed to `useFactory`, in order. */
  inject?: FactoryProvider['inject'];
  /** A class the module instantiates to build the stores. */
  useClass?: Type<StockpyleOptionsFactory>;
  /** An existing provider (from `imports` or a global module) that builds the stores. */
  useExisting?: Type<StockpyleOptionsFactory>;
}
