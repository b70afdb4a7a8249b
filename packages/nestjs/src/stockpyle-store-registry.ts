import { Logger } from '@nestjs/common';
import { ChainedStore, ConfigurationError, type Store } from '@stockpyle/core';
import type { StockpyleStores, StockpyleStoresConfig } from './stockpyle.options';

const STORE_METHODS = ['put', 'get', 'delete', 'batchPut', 'batchGet', 'batchDelete', 'release'] as const;

/** True when `value` offers the seven operations of `Store`: a check of the contract, not of a kind. */
function isStore(value: unknown): value is Store {
  if (value === null || typeof value !== 'object') return false;
  return STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function quote(names: Iterable<string>): string {
  return [...names].map((n) => `'${n}'`).join(', ');
}

/** Checks that `names` is a non-empty list of distinct non-empty strings; `where` starts the message. */
export function checkNames(names: unknown, where: string): readonly string[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new ConfigurationError(`${where}: names must be a non-empty array of store names, e.g. ['default', 'sessions']`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigurationError(`${where}: every store name must be a non-empty string, got ${String(name)}`);
    if (seen.has(name)) throw new ConfigurationError(`${where}: the store name '${name}' is declared twice`);
    seen.add(name);
  }
  return Object.freeze([...names]);
}

/**
 * The stores of one StockpyleModule instance by name, and the ones it must release at shutdown.
 * Stores given to `forRoot` are the user's; stores a `forRootAsync` factory returned are the
 * module's, except those it marked `shared`.
 */
export class StockpyleStoreRegistry {
  static readonly #logger = new Logger('StockpyleModule');
  readonly #stores: ReadonlyMap<string, Store>;
  readonly #owned: ReadonlySet<Store>;

  private constructor(stores: ReadonlyMap<string, Store>, owned: ReadonlySet<Store>) {
    this.#stores = stores;
    this.#owned = owned;
  }

  /** Stores the user built and keeps: the module never releases them. */
  static fromUserStores(stores: StockpyleStores | undefined): StockpyleStoreRegistry {
    const where = 'StockpyleModule.forRoot';
    if (stores === null || typeof stores !== 'object' || Array.isArray(stores)) {
      throw new ConfigurationError(`${where}: stores must be an object of stores by name, e.g. { stores: { default: store } }`);
    }
    const names = checkNames(Object.keys(stores), where);
    for (const name of names) {
      if (!isStore(stores[name])) throw new ConfigurationError(`${where}: stores.${name} is not a store (it must implement Store: put, get, delete, batch*, release)`);
    }
    return new StockpyleStoreRegistry(new Map(names.map((n) => [n, stores[n]!])), new Set());
  }

  /**
   * What a `forRootAsync` factory returned, checked against the declared `names`. On a mistake the
   * stores it returned are released (except shared ones) before the error is thrown, so a failed
   * start leaks no connection.
   */
  static async fromFactoryResult(names: readonly string[], result: StockpyleStoresConfig | undefined): Promise<StockpyleStoreRegistry> {
    const valid = result !== null && typeof result === 'object' && result.stores !== null && typeof result.stores === 'object';
    const stores: Record<string, unknown> = valid ? result.stores : {};
    const shared = new Set<string>(valid && Array.isArray(result.shared) ? result.shared : []);
    // A store reachable under a shared name is not the module's to close, whatever other names it has.
    const sharedStores = new Set([...shared].map((n) => stores[n]));
    const owned = new Set(Object.values(stores).filter(isStore).filter((s) => !sharedStores.has(s)));
    const problem = StockpyleStoreRegistry.#problemWith(names, result, stores, shared);
    if (problem !== undefined) {
      await StockpyleStoreRegistry.#releaseAll(owned);
      throw new ConfigurationError(`StockpyleModule.forRootAsync: ${problem}`);
    }
    return new StockpyleStoreRegistry(new Map(names.map((n) => [n, stores[n] as Store])), owned);
  }

  static #problemWith(names: readonly string[], result: unknown, stores: Record<string, unknown>, shared: ReadonlySet<string>): string | undefined {
    const expected = `{ stores: { ${names.map((n) => `${n}: <store>`).join(', ')} } }`;
    if (result === null || typeof result !== 'object') return `the factory must return ${expected}, got ${result === null ? 'null' : typeof result}`;
    const { stores: given, shared: givenShared } = result as Partial<StockpyleStoresConfig>;
    if (given === null || typeof given !== 'object') return `the factory must return ${expected}; its result has no stores object`;
    if (givenShared !== undefined && !Array.isArray(givenShared)) return 'shared must be an array of store names';
    const unknown = Object.keys(stores).filter((n) => !names.includes(n));
    if (unknown.length > 0) return `the factory returned a store named ${quote(unknown)}, which names does not declare (${quote(names)}); add it to names or drop it`;
    const missing = names.filter((n) => stores[n] === undefined || stores[n] === null);
    if (missing.length > 0) return `the factory returned no store for ${quote(missing)}, declared in names (${quote(names)}); it must return ${expected}`;
    const notStore = names.find((n) => !isStore(stores[n]));
    if (notStore !== undefined) return `stores.${notStore} is not a store (it must implement Store: put, get, delete, batch*, release)`;
    const unknownShared = [...shared].filter((n) => !names.includes(n));
    if (unknownShared.length > 0) return `shared lists ${quote(unknownShared)}, which names does not declare (${quote(names)})`;
    return undefined;
  }

  /** The declared names, in declaration order. */
  get names(): readonly string[] {
    return [...this.#stores.keys()];
  }

  /** The store under `name`; throws a ConfigurationError naming the declared ones when there is none. */
  get(name: string): Store {
    const store = this.#stores.get(name);
    if (store === undefined) throw new ConfigurationError(`StockpyleModule has no store named '${name}'; its stores are ${quote(this.#stores.keys())}`);
    return store;
  }

  /** Releases the stores the module owns; a failure is logged and does not stop the others. */
  release(): Promise<void> {
    return StockpyleStoreRegistry.#releaseAll(this.#owned);
  }

  /**
   * Releases each store once. A ChainedStore releases its own tiers, so a tier that is also
   * registered under a name of its own is left to its chain rather than released twice at once.
   */
  static async #releaseAll(stores: ReadonlySet<Store>): Promise<void> {
    const inChains = new Set<Store>();
    const visit = (store: Store): void => {
      if (!(store instanceof ChainedStore)) return;
      for (const tier of store.stores) {
        if (inChains.has(tier)) continue;
        inChains.add(tier);
        visit(tier);
      }
    };
    stores.forEach(visit);
    const list = [...stores].filter((s) => !inChains.has(s));
    const results = await Promise.allSettled(list.map((s) => s.release()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') StockpyleStoreRegistry.#logger.error(`Releasing store '${list[i]!.name}' failed: ${String(r.reason)}`, (r.reason as Error)?.stack);
    });
  }
}
