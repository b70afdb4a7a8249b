/** The store name used when none is given, in `getStoreToken()`, `InjectStore()` and `forRootAsync({ names })`. */
export const DEFAULT_STORE_NAME = 'default';

/**
 * The injection token of the store registered under `name`. A `Symbol.for` key: it cannot collide
 * with a user's string token, and two copies of this package still agree on it.
 */
export function getStoreToken(name: string = DEFAULT_STORE_NAME): symbol {
  return Symbol.for(`stockpyle:store:${name}`);
}

/** Internal: whether one StockpyleModule instance reports its stores to OpenTelemetry. */
export const STOCKPYLE_TELEMETRY = Symbol('stockpyle:telemetry');

/** Internal: the registry of one StockpyleModule instance (its stores and which of them it owns). */
export const STOCKPYLE_REGISTRY = Symbol('stockpyle:registry');
