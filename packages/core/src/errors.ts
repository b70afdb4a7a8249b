/** Base of every error stockpyle throws; `code` is stable across versions, match on it. */
export class StockpyleError extends Error {
  static readonly code: string = 'E_STOCKPYLE';
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof StockpyleError).code;
  }
}

/** A class was used with a store but was never decorated with `@Stockpyle`. */
export class NotStockpyleClassError extends StockpyleError {
  static override readonly code = 'E_NOT_STOCKPYLE_CLASS';

  static forClass(cls: unknown): NotStockpyleClassError {
    const name = typeof cls === 'function' ? cls.name || '<anonymous class>' : typeof cls;
    return new NotStockpyleClassError(
      `${name} is not a stockpyle class: decorate it with @Stockpyle({ keys: [...] }) before storing it`,
    );
  }
}

/** A query names a set of attributes that is not one of the class's declared keys. */
export class UnknownKeyError extends StockpyleError {
  static override readonly code = 'E_UNKNOWN_KEY';

  static forQuery(className: string, attrs: readonly string[], declared: readonly (readonly string[])[]): UnknownKeyError {
    const shown = declared.map((k) => (k.length === 1 ? `'${k[0]}'` : `[${k.map((a) => `'${a}'`).join(', ')}]`));
    return new UnknownKeyError(
      `{ ${attrs.join(', ')} } is not a key of ${className}; its declared keys are ${shown.join(', ')}`,
    );
  }

  static forValue(className: string, attr: string, value: unknown): UnknownKeyError {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return new UnknownKeyError(
      `${className}.${attr} is a ${kind}; key attributes must be strings, numbers, bigints, booleans or Dates`,
    );
  }
}

/** The database holds more than one row for a key that should identify one object. */
export class NonUniqueKeyError extends StockpyleError {
  static override readonly code = 'E_NON_UNIQUE_KEY';

  static forQuery(className: string, query: Record<string, unknown>, count: number): NonUniqueKeyError {
    return new NonUniqueKeyError(
      `${count} rows of ${className} match ${JSON.stringify(query, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}; ` +
        'a stockpyle key must identify one row: add a unique constraint or declare another key',
    );
  }
}

/** Options given to a constructor or decorator are wrong; thrown eagerly, never at first use. */
export class ConfigurationError extends StockpyleError {
  static override readonly code = 'E_CONFIGURATION';
}

/** Two different classes were registered under one stockpyle name. */
export class DuplicateNameError extends StockpyleError {
  static override readonly code = 'E_DUPLICATE_NAME';

  static forName(name: string): DuplicateNameError {
    return new DuplicateNameError(
      `Two different classes are registered as '${name}'; give one of them another name with @Stockpyle({ name })`,
    );
  }
}

/** A remote call did not answer within the store's deadline. */
export class TimeoutError extends StockpyleError {
  static override readonly code = 'E_TIMEOUT';

  static after(what: string, ms: number): TimeoutError {
    return new TimeoutError(`${what} did not answer within ${ms} ms`);
  }
}

/** A cache tier failed (unreachable, refused, timed out); the original client error is the `cause`. */
export class TierUnavailableError extends StockpyleError {
  static override readonly code = 'E_TIER_UNAVAILABLE';
}

/** A bus message could not be read: garbage, or another format version. */
export class BusMessageError extends StockpyleError {
  static override readonly code = 'E_BUS_MESSAGE';
}

/** A bus could not send keys within its retries; the other processes will not hear of them. */
export class BusPublishError extends StockpyleError {
  static override readonly code = 'E_BUS_PUBLISH';
}
