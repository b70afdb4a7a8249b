import { ConfigurationError } from './errors';
import { StoreEvents, type StoreEvent, type StoreEventListener, type StoreEventType } from './events';
import type { Store } from './store';
import type { Class, KeyQuery } from './types';

/** Counts since a store was created (`stats()`), for those without OpenTelemetry. */
export interface StoreStats {
  readonly store: string;
  /** Objects found (a cache tier's hits; for other stores, what they answered). */
  readonly hits: number;
  readonly misses: number;
  /** `hits / (hits + misses)`; `undefined` before any read. */
  readonly hitRatio: number | undefined;
  /** Objects a chain wrote back into this tier. */
  readonly fills: number;
  /** `skip` events: objects not stored (too large, lifetime past, not encodable, a fill refused). */
  readonly skips: number;
  /** Undecodable payloads, treated as misses and removed. */
  readonly corrupt: number;
  /** `error` events: failed calls (for a chain, its tiers' and its bus's). */
  readonly errors: number;
  /** Objects a chain answered from its grace memory while the database failed. */
  readonly stale: number;
}

/** Which `StoreStats` field each event type adds to (the others are not counted). */
const COUNTED: Partial<Record<StoreEvent['type'], 'hits' | 'misses' | 'fills' | 'skips' | 'corrupt' | 'errors' | 'stale'>> = {
  hit: 'hits',
  miss: 'misses',
  fill: 'fills',
  skip: 'skips',
  corrupt: 'corrupt',
  error: 'errors',
  stale: 'stale',
};

/** Options every store takes. */
export interface BaseStoreOptions {
  /** Shown in events and errors. @default the class name, e.g. 'ProcessMemoryStore' */
  name?: string;
}

/**
 * The base for a store written from scratch: implement the three batch operations and `release`;
 * the single-object operations delegate to them (override them where a backend does better).
 */
export abstract class BaseStore implements Store {
  readonly name: string;
  protected readonly events = new StoreEvents();
  readonly #counts = { hits: 0, misses: 0, fills: 0, skips: 0, corrupt: 0, errors: 0, stale: 0 };

  constructor(options: BaseStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(`${new.target.name} options must be an object`);
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
      throw new ConfigurationError(`${new.target.name}: name must be a non-empty string`);
    }
    this.name = options.name ?? new.target.name;
  }

  abstract batchPut(objs: readonly object[]): Promise<void>;
  abstract batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]>;
  abstract batchDelete(objs: readonly object[]): Promise<void>;
  abstract release(): Promise<void>;

  put(obj: object): Promise<void> {
    return this.batchPut([obj]);
  }

  async get<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<T | undefined> {
    return (await this.batchGet(cls, [query]))[0];
  }

  delete(obj: object): Promise<void> {
    return this.batchDelete([obj]);
  }

  on<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this {
    this.events.on(type, listener);
    return this;
  }

  off<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this {
    this.events.off(type, listener);
    return this;
  }

  /** What this store has counted since it was created; see `StoreStats`. */
  stats(): StoreStats {
    const { hits, misses } = this.#counts;
    return { store: this.name, ...this.#counts, hitRatio: hits + misses === 0 ? undefined : hits / (hits + misses) };
  }

  /** Reports an event to this store's listeners, and counts it for `stats()`. */
  protected emit(event: StoreEvent): void {
    this.#count(event.type, 'count' in event ? event.count : 1);
    this.events.emit(event);
  }

  /**
   * Counts `n` events of `type` for `stats()` without building one; whether anyone listens (then
   * build it and `notify` it). For the hot paths, where an event nobody hears must cost nothing.
   */
  protected counted(type: 'hit' | 'miss' | 'fill' | 'skip', n: number): boolean {
    this.#count(type, n);
    return this.events.has(type);
  }

  /** Reports an event already counted with `counted`. */
  protected notify(event: StoreEvent): void {
    this.events.emit(event);
  }

  #count(type: StoreEvent['type'], n: number): void {
    const field = COUNTED[type];
    if (field !== undefined) this.#counts[field] += n;
  }
}
