import { BaseStore, getMetadata, metadataOf, type Class, type KeyQuery } from '@stockpyle/core';

/**
 * The source of truth below the caches in chain tests: keeps copies, is not a cache tier, and
 * counts what it was asked. (The real database is the ORM package's business.)
 */
export class MemoryDatabase extends BaseStore {
  readonly rows = new Map<string, object>();
  reads = 0;

  #id(obj: object): string {
    const meta = metadataOf(obj);
    return `${meta.name}:${String((obj as Record<string, unknown>)[meta.keys[0]!.attrs[0]!])}`;
  }

  async batchPut(objs: readonly object[]): Promise<void> {
    for (const o of objs) this.rows.set(this.#id(o), { ...o });
  }

  async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    this.reads++;
    return queries.map((q) => {
      const shape = meta.shapeFor(q);
      for (const row of this.rows.values()) {
        if (shape.attrs.every((a) => (row as Record<string, unknown>)[a] === (q as Record<string, unknown>)[a])) {
          return Object.assign(Object.create(cls.prototype as object) as T, row);
        }
      }
      return undefined;
    });
  }

  async batchDelete(objs: readonly object[]): Promise<void> {
    for (const o of objs) this.rows.delete(this.#id(o));
  }

  async release(): Promise<void> {}
}
