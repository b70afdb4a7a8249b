import { BaseStore } from '@stockpyle/core';
import type { Class, KeyQuery } from '@stockpyle/core';

/**
 * A source of truth in process memory for the cases that only need a bottom tier that is not a
 * cache (first-tier hits): objects by `id`, counting how often it is asked.
 */
export class MapDatabase extends BaseStore {
  readonly #rows = new Map<unknown, object>();
  /** `batchGet` calls so far: one per trip to this "database". */
  reads = 0;

  constructor(objs: readonly { id: unknown }[] = []) {
    super({ name: 'MapDatabase' });
    for (const obj of objs) this.#rows.set(obj.id, obj);
  }

  batchGet<T extends object>(_cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    this.reads++;
    return Promise.resolve(queries.map((q) => this.#rows.get((q as { id?: unknown }).id) as T | undefined));
  }

  batchPut(objs: readonly object[]): Promise<void> {
    for (const obj of objs) this.#rows.set((obj as { id: unknown }).id, obj);
    return Promise.resolve();
  }

  batchDelete(objs: readonly object[]): Promise<void> {
    for (const obj of objs) this.#rows.delete((obj as { id: unknown }).id);
    return Promise.resolve();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}
