import 'reflect-metadata';
import { BaseStore, StockpyleError, Stockpyle, TimeoutError, type Class, type KeyQuery } from '@stockpyle/core';
import { opContext, type Gates, type Receipt } from './gates';

/** The object every race scenario caches: found by `id` (its anchor) or by the unique pair (zap, bar). */
@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'races.Item' })
export class Item {
  constructor(
    public id: number,
    public zap: number,
    public bar: string,
    /** Unique per write: what the checks compare. */
    public version: string,
    /** Lifetime in seconds given to the caches (scenarios with lifetimes), none when undefined. */
    public ttl?: number,
  ) {}
}

export type ItemQuery = { id: number } | { zap: number; bar: string };

export interface Row {
  readonly id: number;
  readonly zap: number;
  readonly bar: string;
  readonly version: string;
  readonly ttl?: number;
}

/** The database refused a write (a constraint, a rollback): nothing changed. */
export class RefusedError extends StockpyleError {
  static override readonly code = 'E_TEST_REFUSED';
}

/**
 * The source of truth, as a store whose reads and writes are released by the scheduler like any
 * server effect. Keeps every state it has been in (`history[seq]`), so a check can ask what the
 * answer to a query was at any moment; (zap, bar) is unique, as a unique index would make it;
 * `refuse` holds versions whose write is rolled back, `loseReply` versions whose write commits
 * but answers with an error.
 */
export class ScheduledDatabase extends BaseStore {
  readonly history: ReadonlyMap<number, Row>[] = [new Map()];
  /** Per history index, the operation that produced it (none for seeded states). */
  readonly producedBy: (Receipt | undefined)[] = [undefined];
  readonly refuse = new Set<string>();
  /** Versions whose write (or delete) the database applies but whose reply is lost. */
  readonly loseReply = new Set<string>();

  constructor(readonly gates: Gates) {
    super({ name: 'db' });
  }

  /** Index of the current state in `history`. */
  get seq(): number {
    return this.history.length - 1;
  }

  get rows(): ReadonlyMap<number, Row> {
    return this.history[this.seq]!;
  }

  /** Writes directly, outside any schedule (initial state). */
  seed(items: readonly Item[]): void {
    const next = new Map(this.rows);
    for (const item of items) next.set(item.id, rowOf(item));
    this.history.push(next);
    this.producedBy.push(undefined);
  }

  /** The row answering `query` in state `seq`. */
  answerAt(seq: number, query: ItemQuery): Row | undefined {
    const rows = this.history[seq]!;
    if ('id' in query) return rows.get(query.id);
    for (const row of rows.values()) if (row.zap === query.zap && row.bar === query.bar) return row;
    return undefined;
  }

  async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    return this.gates.step('db.select', () =>
      queries.map((q) => {
        const row = this.answerAt(this.seq, q as unknown as ItemQuery);
        return row === undefined ? undefined : (Object.assign(Object.create(cls.prototype as object) as T, row) as T);
      }),
      undefined,
      false,
    );
  }

  async batchPut(objs: readonly object[]): Promise<void> {
    const receipt = opContext.getStore()?.receipt;
    await this.gates.step('db.upsert', () => {
      const items = objs as readonly Item[];
      const refused = items.find((item) => this.refuse.has(item.version));
      if (refused !== undefined) throw new RefusedError(`the database rolled back the write of ${refused.version}`);
      const next = new Map(this.rows);
      // A new row's id is assigned by the database, as a serial column's is.
      for (const item of items) if (item.id === undefined) item.id = serialOf(item);
      for (const item of items) next.set(item.id, rowOf(item));
      const pairs = new Set([...next.values()].map((r) => `${r.zap}:${r.bar}`));
      if (pairs.size !== next.size) throw new RefusedError(`unique (zap, bar) violated by ${items.map((i) => i.version).join(', ')}`);
      this.#commit(next, receipt);
      this.#maybeLoseReply(items);
    });
  }

  async batchDelete(objs: readonly object[]): Promise<void> {
    const receipt = opContext.getStore()?.receipt;
    await this.gates.step('db.delete', () => {
      const next = new Map(this.rows);
      for (const item of objs as readonly Item[]) next.delete(item.id);
      this.#commit(next, receipt);
      this.#maybeLoseReply(objs as readonly Item[]);
    });
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  #maybeLoseReply(items: readonly Item[]): void {
    const lost = items.find((item) => this.loseReply.has(item.version));
    if (lost !== undefined) throw new TimeoutError(`the database committed ${lost.version} but its reply was lost`);
  }

  #commit(next: ReadonlyMap<number, Row>, receipt: Receipt | undefined): void {
    this.history.push(next);
    this.producedBy.push(receipt);
    if (receipt !== undefined) receipt.seq = this.seq;
  }
}

const SERIAL = Symbol('serial id');

/** An item whose id the database assigns when it is first written (`id` is undefined until then). */
export function newItem(id: number, zap: number, version: string, ttl?: number): Item {
  const item = new Item(undefined as unknown as number, zap, 'b', version, ttl);
  Object.defineProperty(item, SERIAL, { value: id, enumerable: false });
  return item;
}

function serialOf(item: Item): number {
  const id = (item as unknown as Record<symbol, number | undefined>)[SERIAL];
  if (id === undefined) throw new Error(`${item.version} has no id and no serial id to assign`);
  return id;
}

function rowOf(item: Item): Row {
  return { id: item.id, zap: item.zap, bar: item.bar, version: item.version, ...(item.ttl === undefined ? {} : { ttl: item.ttl }) };
}
