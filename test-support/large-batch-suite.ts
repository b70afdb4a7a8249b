/**
 * Batches far larger than one round trip, run the same way against every out-of-process tier:
 * 100,000 objects put and got with the store's default deadlines, directly and through a chain,
 * while another client of the same server keeps reading (its latencies go into `figures`).
 */
import 'reflect-metadata';
import { BaseStore, ChainedStore, Stockpyle, type Class, type KeyQuery, type Store, type StoreEvent } from '@stockpyle/core';
import { describeFigures, startConcurrentReader, type ReaderTarget } from './concurrent-reader';

/** About 250 bytes encoded, found by either of two keys, as in the report. */
@Stockpyle({ keys: ['id', 'slug'], name: 'large-batch.Record' })
export class LargeRecord {
  constructor(
    public id: number,
    public slug: string,
    public score: number,
    public body: string,
  ) {}
}

const BODY = 'A body long enough that one encoded record is about a quarter of a kilobyte, as a small row is. '.repeat(2);

/** A source of truth by id, for chains over 100,000 objects; counts the objects it was asked for. */
class MapDatabase extends BaseStore {
  readonly #rows = new Map<number, LargeRecord>();
  asked = 0;

  constructor() {
    super({ name: 'MapDatabase' });
  }

  batchGet<T extends object>(_cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    this.asked += queries.length;
    return Promise.resolve(queries.map((q) => this.#rows.get((q as unknown as { id: number }).id) as T | undefined));
  }

  batchPut(objs: readonly object[]): Promise<void> {
    for (const obj of objs as LargeRecord[]) this.#rows.set(obj.id, obj);
    return Promise.resolve();
  }

  batchDelete(objs: readonly object[]): Promise<void> {
    for (const obj of objs as LargeRecord[]) this.#rows.delete(obj.id);
    return Promise.resolve();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }
}

export interface LargeBatchSuiteOptions {
  /** The tier in test titles: `Redis standalone`, `memcached`. */
  readonly label: string;
  /** A store of this tier with its default deadline (the tests release it). */
  readonly open: () => Store;
  /** Where the other client reads. */
  readonly reader: () => ReaderTarget;
  /** A fresh id per object. */
  readonly nextId: () => number;
  /** @default 100_000 */
  readonly count?: number;
  /** Where the suite's figures go, for the file's summary line. */
  readonly figures: string[];
}

/** What jest waits for one test: a guard against a hang, not a speed limit (the figures are printed). */
const TEST_TIMEOUT_MS = 180_000;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export function describeLargeBatches(options: LargeBatchSuiteOptions): void {
  const { label, open, reader, nextId, figures } = options;
  const count = options.count ?? 100_000;
  const records = (): LargeRecord[] =>
    Array.from({ length: count }, () => {
      const id = nextId();
      return new LargeRecord(id, `record-${id}`, id / 7, BODY);
    });
  const shown = count.toLocaleString('en-US');

  describe(`${label}: batches of ${shown} objects`, () => {
    it(`batchPut() and batchGet() of ${shown} objects succeed within the store's deadline per round trip while another client keeps reading`, async () => {
      const store = open();
      const objs = records();
      const other = startConcurrentReader(reader(), 'stockpyle-test:concurrent-reader');
      let stopped: Promise<unknown> | undefined;
      try {
        await other.ready;
        await store.get(LargeRecord, { id: -1 }); // connected before the clock starts
        let started = performance.now();
        await store.batchPut(objs);
        const putMs = performance.now() - started;
        started = performance.now();
        const byId = await store.batchGet(LargeRecord, objs.map((o) => ({ id: o.id })));
        const getMs = performance.now() - started;
        // A tenth by the alternate key: a pointer each, then the anchors they lead to.
        const some = objs.filter((_o, i) => i % 10 === 0);
        const bySlug = await store.batchGet(LargeRecord, some.map((o) => ({ slug: o.slug })));
        const stopping = other.stop();
        stopped = stopping;
        const seen = await stopping;
        figures.push(`${label}: batchPut ${seconds(putMs)}, batchGet ${seconds(getMs)}; ${describeFigures('meanwhile', seen)}`);
        expect(byId.filter((o, i) => o?.id === objs[i]!.id && o.body === BODY)).toHaveLength(count);
        expect(bySlug.filter((o, i) => o?.slug === some[i]!.slug)).toHaveLength(some.length);
        expect(seen.failures).toBe(0);
        await store.batchDelete(objs);
        expect((await store.batchGet(LargeRecord, objs.slice(0, 1000).map((o) => ({ id: o.id })))).filter((o) => o !== undefined)).toEqual([]);
      } finally {
        await (stopped ?? other.stop()).catch(() => undefined);
        await store.release();
      }
    }, TEST_TIMEOUT_MS);

    it(`a chain's batchPut() and batchGet() of ${shown} objects through ${label} report no error and trip no breaker`, async () => {
      const store = open();
      const database = new MapDatabase();
      // The deadline per slice is what a batch's size must not trip; 1 s (the default) is tight
      // when the shared box is busy (a slice of 1,000 commits once took longer in CI), 5 s is not.
      const chain = new ChainedStore([store, database], { tierTimeout: 5_000 });
      const events: StoreEvent[] = [];
      chain.on('error', (e) => events.push(e));
      chain.on('circuit', (e) => events.push(e));
      const objs = records();
      try {
        let started = performance.now();
        await chain.batchPut(objs);
        const putMs = performance.now() - started;
        started = performance.now();
        const got = await chain.batchGet(LargeRecord, objs.map((o) => ({ id: o.id })));
        const getMs = performance.now() - started;
        figures.push(`${label} in a chain: batchPut ${seconds(putMs)}, batchGet ${seconds(getMs)}`);
        expect(events).toEqual([]);
        expect(got.filter((o, i) => o?.id === objs[i]!.id)).toHaveLength(count);
        expect(database.asked).toBe(0); // every object came from the cache tier
        await chain.batchDelete(objs);
        expect(events).toEqual([]);
      } finally {
        await chain.release();
      }
    }, TEST_TIMEOUT_MS);
  });
}
