import { BaseStore, getMetadata, metadataOf, type Class, type KeyQuery } from '@stockpyle/core';

/**
 * A source of truth below the caches in chain tests: not a cache tier, keeps copies as a database
 * would. The chain tests here are about the memcached tier; the real database is tested elsewhere.
 */
export class MemoryDatabase extends BaseStore {
  readonly #rows = new Map<string, object>();

  #id(obj: object): string {
    const meta = metadataOf(obj);
    return `${meta.name}:${String((obj as Record<string, unknown>)[meta.keys[0]!.attrs[0]!])}`;
  }

  async batchPut(objs: readonly object[]): Promise<void> {
    for (const o of objs) this.#rows.set(this.#id(o), Object.assign(Object.create(Object.getPrototypeOf(o) as object) as object, o));
  }

  async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    return queries.map((q) => {
      const shape = meta.shapeFor(q);
      for (const row of this.#rows.values()) {
        const r = row as Record<string, unknown>;
        if (row instanceof cls && shape.attrs.every((a) => r[a] === (q as Record<string, unknown>)[a])) return { ...row } as T;
      }
      return undefined;
    });
  }

  async batchDelete(objs: readonly object[]): Promise<void> {
    for (const o of objs) this.#rows.delete(this.#id(o));
  }

  async release(): Promise<void> {}
}
