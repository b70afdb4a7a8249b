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
  // One context serves every AsyncLocalStore, so one middleware opens it for all of them.
  static readonly #als = new AsyncLocalStorage<Map<AsyncLocalStore, Map<string, CacheRecord>>>();

  /** Runs `fn` in a fresh, empty context for every AsyncLocalStore; entries go when it settles. */
  static run<T>(fn: () => T): T {
    return AsyncLocalStore.#als.run(new Map(), fn);
  }

  /** Same as `AsyncLocalStore.run`: the context is shared by all instances. */
  run<T>(fn: () => T): T {
    return AsyncLocalStore.run(fn);
  }

  /** True inside a `run()` context. */
  get active(): boolean {
    return AsyncLocalStore.#als.getStore() !== undefined;
  }

  #entries(create: boolean): Map<string, CacheRecord> | undefined {
    const context = AsyncLocalStore.#als.getStore();
    if (context === undefined) return undefined;
    let entries = context.get(this);
    if (entries === undefined && create) context.set(this, (entries = new Map()));
    return entries;
  }

  protected peekRecord(key: string): CacheRecord | undefined {
    return this.#entries(false)?.get(key);
  }

  protected readRecord(key: string): CacheRecord | undefined {
    return this.#entries(false)?.get(key);
  }

  protected writeRecord(key: string, record: CacheRecord): void {
    this.#entries(true)?.set(key, record);
  }

  /** Only the current context's entries: other contexts are out of reach, and end with their request. */
  protected clearRecords(): void {
    this.#entries(false)?.clear();
  }

  protected removeRecord(key: string): void {
    this.#entries(false)?.delete(key);
  }

  /** Nothing to close: each context's entries go with it. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
