import { AsyncLocalStorage } from 'node:async_hooks';
import type { CacheStoreOptions } from './base-cache-store';
import { InProcessStore } from './in-process-store';
import type { CacheRecord } from './record';

/** Options of `AsyncLocalStore`. */
export type AsyncLocalStoreOptions = CacheStoreOptions;

/**
 * Objects that live only inside one async context — one HTTP request, one job — and are gone when
 * it ends: Node's counterpart of a thread-local cache. Outside any `run()` it holds nothing.
 */
export class AsyncLocalStore extends InProcessStore {
  readonly #als = new AsyncLocalStorage<Map<string, CacheRecord>>();

  /** Runs `fn` in a fresh, empty context; everything stored inside is dropped when it settles. */
  run<T>(fn: () => T): T {
    return this.#als.run(new Map(), fn);
  }

  /** True inside a `run()` context. */
  get active(): boolean {
    return this.#als.getStore() !== undefined;
  }

  protected peekRecord(key: string): CacheRecord | undefined {
    return this.#als.getStore()?.get(key);
  }

  protected readRecord(key: string): CacheRecord | undefined {
    return this.#als.getStore()?.get(key);
  }

  protected writeRecord(key: string, record: CacheRecord): void {
    this.#als.getStore()?.set(key, record);
  }

  protected removeRecord(key: string): void {
    this.#als.getStore()?.delete(key);
  }

  /** Nothing to close: each context's entries go with it. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
