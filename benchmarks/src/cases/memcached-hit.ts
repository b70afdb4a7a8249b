import memjs from 'memjs';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import type { BenchCase } from '../case';
import { KEY_COUNT, Item, makeItem, plainItem, shuffledIds } from '../fixtures';
import { atLeast, context, med, measureRows, throughput } from '../harness';
import { MapDatabase } from '../map-database';

const IN_FLIGHT = 64;
const silent = { log: (): void => undefined };

/** Case 2: a hit in memcached with the first tier missing, 64 requests in flight, against raw memjs. */
export const memcachedHit: BenchCase = {
  id: 2,
  title: `Hit in memcached, first tier missing, ${IN_FLIGHT} in flight`,
  needs: ['memcached'],
  async run(ctx) {
    const url = ctx.urls.memcached!;
    const ids = shuffledIds(KEY_COUNT);
    const ops = ctx.quick ? 2_000 : KEY_COUNT;
    const raw = memjs.Client.create(url, { logger: silent, retries: 0 });
    const store = new MemcacheStore({ servers: [url] });
    try {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await Promise.all(chunk.map((id) => raw.set(`raw:item:${id}`, JSON.stringify(plainItem(id)), {})));
        await store.batchPut(chunk.map(makeItem));
      }
      const database = new MapDatabase();
      const rows = await measureRows(
        [
          {
            id: 'memjs',
            label: 'memjs `get(key)` (bytes only)',
            unit: 'ops/s',
            run: () => throughput(ops, IN_FLIGHT, (i) => raw.get(`raw:item:${ids[i]!}`)),
          },
          {
            id: 'memjs-parse',
            label: 'memjs `get(key)` + `JSON.parse`',
            unit: 'ops/s',
            run: () =>
              throughput(ops, IN_FLIGHT, async (i) => {
                const { value } = await raw.get(`raw:item:${ids[i]!}`);
                return JSON.parse(value!.toString('utf8')) as unknown;
              }),
          },
          {
            id: 'chain',
            label: 'stockpyle `chain.get(Item, { id })`, [memory (empty), memcached, db]',
            unit: 'ops/s',
            run: () => {
              // A fresh first tier each run: every get misses it, is served by memcached and fills it.
              const chain = new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 }), store, database]);
              return throughput(ops, IN_FLIGHT, (i) => chain.get(Item, { id: ids[i]! }));
            },
          },
          {
            id: 'store',
            label: 'stockpyle `MemcacheStore.get(Item, { id })`, no chain',
            unit: 'ops/s',
            run: () => throughput(ops, IN_FLIGHT, (i) => store.get(Item, { id: ids[i]! })),
          },
        ],
        ctx.runs,
      );
      if (database.reads > 0) throw new Error(`memcached missed ${database.reads} times: the case measured the database`);
      return {
        rows,
        checks: [
          atLeast('chain.get throughput / memjs get throughput', med(rows, 'chain') / med(rows, 'memjs'), 0.8),
          context('chain.get throughput / memjs get + JSON.parse throughput', med(rows, 'chain') / med(rows, 'memjs-parse')),
        ],
        notes: [`${ops.toLocaleString('en')} gets per run, each key once, ${IN_FLIGHT} in flight; one memcached, loopback`],
      };
    } finally {
      raw.close();
      await store.release();
    }
  },
};
