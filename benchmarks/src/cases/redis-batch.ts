import KeyvRedis from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { Redis as Redis5 } from 'ioredis5';
import { Keyv } from 'keyv';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import type { BenchCase } from '../case';
import { KEY_COUNT, Item, blocks, makeItem, plainItem, shuffledIds } from '../fixtures';
import { atMost, context, med, measureRows, sequentialMicros } from '../harness';
import { MapDatabase } from '../map-database';

const BATCH = 100;

/** Case 3: `batchGet` of 100 keys served by Redis against a raw `MGET` of 100, and the peers. */
export const redisBatch: BenchCase = {
  id: 3,
  title: `batchGet of ${BATCH} keys served by Redis`,
  needs: ['redis'],
  async run(ctx) {
    const url = ctx.urls.redis!;
    const groups = blocks(shuffledIds(KEY_COUNT), BATCH).slice(0, ctx.quick ? 30 : 100);
    const raw = new Redis(url);
    const store = new RedisStore({ url });
    const cacheManager = createCache({ stores: [new Keyv({ store: new KeyvRedis(url), namespace: 'cm' })] });
    // bentocache's types name ioredis, which this tsconfig maps to ioredis 6; at run time it loads
    // ioredis 5 (see scripts/link-bentocache-ioredis.mjs), the client given here.
    const bento = new BentoCache({
      default: 'redis',
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: new Redis5(url) as never })) },
    });
    try {
      const ids = groups.flat();
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await raw.mset(Object.fromEntries(chunk.map((id) => [`raw:item:${id}`, JSON.stringify(plainItem(id))])));
        await store.batchPut(chunk.map(makeItem));
        await cacheManager.mset(chunk.map((id) => ({ key: `item:${id}`, value: plainItem(id) })));
        await Promise.all(chunk.map((id) => bento.set({ key: `item:${id}`, value: plainItem(id) })));
      }
      const rawKeys = groups.map((g) => g.map((id) => `raw:item:${id}`));
      const peerKeys = groups.map((g) => g.map((id) => `item:${id}`));
      const queries = groups.map((g) => g.map((id) => ({ id })));
      const database = new MapDatabase();
      const n = groups.length;
      const rows = await measureRows(
        [
          {
            id: 'mget',
            label: `ioredis 6 \`mget\` of ${BATCH} (bytes only)`,
            unit: 'µs/op',
            run: () => sequentialMicros(n, (i) => raw.mget(rawKeys[i]!)),
          },
          {
            id: 'mget-parse',
            label: `ioredis 6 \`mget\` of ${BATCH} + \`JSON.parse\` each`,
            unit: 'µs/op',
            run: () => sequentialMicros(n, async (i) => (await raw.mget(rawKeys[i]!)).map((v) => JSON.parse(v!) as unknown)),
          },
          {
            id: 'chain',
            label: `stockpyle \`chain.batchGet(Item, ${BATCH} queries)\`, [memory (empty), redis, db]`,
            unit: 'µs/op',
            run: () => {
              const chain = new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 }), store, database]);
              return sequentialMicros(n, (i) => chain.batchGet(Item, queries[i]!));
            },
          },
          {
            id: 'store',
            label: `stockpyle \`RedisStore.batchGet(Item, ${BATCH} queries)\`, no chain`,
            unit: 'µs/op',
            run: () => sequentialMicros(n, (i) => store.batchGet(Item, queries[i]!)),
          },
          {
            id: 'cache-manager',
            label: `cache-manager 7 + @keyv/redis \`mget\` of ${BATCH}`,
            unit: 'µs/op',
            run: () => sequentialMicros(n, (i) => cacheManager.mget(peerKeys[i]!)),
          },
          {
            id: 'bentocache',
            label: `bentocache 1.6 L2 (redis) ${BATCH} concurrent \`get\`s (no batch API)`,
            unit: 'µs/op',
            run: () => sequentialMicros(n, (i) => Promise.all(peerKeys[i]!.map((key) => bento.get({ key })))),
          },
        ],
        ctx.runs,
      );
      if (database.reads > 0) throw new Error(`redis missed ${database.reads} times: the case measured the database`);
      return {
        rows,
        checks: [
          atMost(`chain.batchGet(${BATCH}) / ioredis mget(${BATCH})`, med(rows, 'chain') / med(rows, 'mget'), 1.3),
          context(`chain.batchGet(${BATCH}) / ioredis mget(${BATCH}) + JSON.parse`, med(rows, 'chain') / med(rows, 'mget-parse')),
          context(`cache-manager mget(${BATCH}) / chain.batchGet(${BATCH})`, med(rows, 'cache-manager') / med(rows, 'chain')),
          context(`bentocache ${BATCH} gets / chain.batchGet(${BATCH})`, med(rows, 'bentocache') / med(rows, 'chain')),
        ],
        notes: [`${n} batches per run, one after another, each of ${BATCH} distinct keys; one redis-server, loopback`],
      };
    } finally {
      raw.disconnect();
      await Promise.allSettled([store.release(), cacheManager.disconnect(), bento.disconnectAll()]);
    }
  },
};
