import { BaseCacheStore, type CacheStoreOptions, type RawSwap, type RawWrite } from './base-cache-store';
import { isDecodeFailure } from './codec';
import { ConfigurationError } from './errors';
import { NEVER, isExpired } from './lifetime';
import { heldUntil } from './record';

/**
 * The base for a store over any dictionary-like backend: implement `getItem`, `setItem` and
 * `deleteItem` (sync or async) and everything else — keys, envelopes, lifetimes, tombstones — is done.
 * Conditional writes are a read then a write: atomic for a synchronous backend, best effort for an
 * asynchronous one shared between processes (use the memcached or Redis store there).
 */
export abstract class BaseDictionaryStore extends BaseCacheStore<string> {
  /** The stored envelope, or `undefined`/`null` when absent. */
  protected abstract getItem(key: string): unknown;
  /** Stores an envelope; `ttlMs` is a hint for backends that expire entries themselves. */
  protected abstract setItem(key: string, value: string, ttlMs: number | undefined): unknown;
  protected abstract deleteItem(key: string): unknown;

  protected async readRaw(keys: readonly string[], _versions: unknown[]): Promise<readonly (string | undefined)[]> {
    const values = await Promise.all(keys.map((k) => this.getItem(k)));
    return values.map((v) => (typeof v === 'string' ? v : undefined));
  }

  protected async writeRaw(writes: readonly RawWrite<string>[], mode: 'set' | 'add'): Promise<void> {
    await Promise.all(writes.map((w) => this.#writeIf(w, mode === 'add' ? (v) => this.#absent(v) : undefined)));
  }

  /**
   * Whether an `add` may write over `current`: nothing is there, or an entry past its expiry that a
   * backend without TTLs (a `Map`) still holds; an expired tombstone would otherwise block fills forever.
   */
  #absent(current: unknown): boolean {
    if (typeof current !== 'string') return true;
    const record = this.decode(current);
    return !isDecodeFailure(record) && isExpired(heldUntil(record), Date.now());
  }

  protected async swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]> {
    return Promise.all(swaps.map((w) => this.#writeIf(w, (v) => v === w.expected)));
  }

  protected async removeRaw(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => this.deleteItem(k)));
  }

  /**
   * Writes when `accept(current)` holds. With a synchronous backend nothing runs between the read
   * and the write (no await), so the conditional write is atomic; an async backend gets best effort.
   */
  #writeIf(w: RawWrite<string>, accept: ((current: unknown) => boolean) | undefined): boolean | Promise<boolean> {
    const write = (): boolean | Promise<boolean> => {
      const done = this.setItem(w.key, w.raw, ttlOf(w.expiresAt));
      return isPromise(done) ? done.then(() => true) : true;
    };
    if (accept === undefined) return write();
    const current = this.getItem(w.key);
    if (isPromise(current)) return current.then((v) => (accept(v) ? write() : false));
    return accept(current) ? write() : false;
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}

function ttlOf(expiresAt: number): number | undefined {
  return expiresAt === NEVER ? undefined : Math.max(1, expiresAt - Date.now());
}

/**
 * What `DictionaryStore` accepts: a `Map`, a `Keyv` instance (and so any of Keyv's backends), or
 * any object with `get`, `set`, `delete`, sync or async. `set` receives a TTL in ms as third argument.
 */
export interface DictionaryBackend {
  get(key: string): unknown;
  set(key: string, value: string, ttlMs?: number): unknown;
  delete(key: string): unknown;
}

/** Options of `DictionaryStore`. */
export type DictionaryStoreOptions = CacheStoreOptions;

/** A store over a dictionary given at run time: the role of stockpyle's ShoveStore. */
export class DictionaryStore extends BaseDictionaryStore {
  readonly #backend: DictionaryBackend;

  constructor(backend: DictionaryBackend, options: DictionaryStoreOptions = {}) {
    super(options);
    for (const method of ['get', 'set', 'delete'] as const) {
      if (backend === null || typeof backend !== 'object' || typeof backend[method] !== 'function') {
        throw new ConfigurationError(`DictionaryStore needs a backend with get, set and delete methods (a Map or a Keyv instance); ${method} is missing`);
      }
    }
    this.#backend = backend;
  }

  protected getItem(key: string): unknown {
    return this.#backend.get(key);
  }

  protected setItem(key: string, value: string, ttlMs: number | undefined): unknown {
    return ttlMs === undefined ? this.#backend.set(key, value) : this.#backend.set(key, value, ttlMs);
  }

  protected deleteItem(key: string): unknown {
    return this.#backend.delete(key);
  }

  /** The backend was given, not opened here, so it is left open. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
