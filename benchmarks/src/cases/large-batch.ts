import 'reflect-metadata';
import memjs from 'memjs';
import { Redis } from 'ioredis';
import { Stockpyle, type Store } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { RedisStore } from '@stockpyle/redis';
import type { BenchCase } from '../case';
import { context, med, measureRows, type RowDef } from '../harness';

const COUNT = 50_000;
const TTL_SECONDS = 60;
const NOTE = 'A body long enough that one encoded object is about a quarter of a kilobyte, as a small row is; ';

/** About 250 bytes as JSON, found by either of two keys (as in the issue that asked for this case). */
@Stockpyle({ keys: ['id', 'slug'], name: 'bench.Entry' })
class Entry {
  constructor(
    public id: number,
    public slug: string,
    public score: number,
    public note: string,
  ) {}
}

const entries = (round: number): Entry[] =>
  Array.from({ length: COUNT }, (_v, i) => {
    const id = round * COUNT + i + 1;
    return new Entry(id, `entry-${id}`, id / 7, NOTE);
  });

const plain = (e: Entry): string => JSON.stringify({ ...e });

/** Objects per second of one call on `n` objects. */
async function perSecond(n: number, call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call();
  return n / ((performance.now() - started) / 1000);
}

/**
 * Case 9: one `batchPut` and one `batchGet` of 50,000 objects on each remote tier, with the
 * stores' default deadlines, against the raw clients doing the same work the simplest way.
 */
export const largeBatch: BenchCase = {
  id: 9,
  title: `batchPut and batchGet of ${COUNT.toLocaleString('en')} objects on each remote tier`,
  needs: ['redis', 'redis-cluster', 'memcached'],
  async run(ctx) {
    const raw = new Redis(ctx.urls.redis!);
    const mc = memjs.Client.create(ctx.urls.memcached!, { logger: { log: () => undefined }, retries: 0, timeout: 10 });
    // Entries live a minute, so that the runs' fresh objects do not pile up in the servers.
    const lifetime = (): number => TTL_SECONDS;
    const stores: [string, Store][] = [
      ['redis', new RedisStore({ url: ctx.urls.redis!, lifetime })],
      ['cluster', new RedisStore({ url: ctx.urls['redis-cluster']!.split(','), lifetime })],
      ['memcached', new MemcacheStore({ servers: [ctx.urls.memcached!], lifetime })],
    ];
    let round = 0;
    let objs = entries(round);
    // Each run writes fresh objects (a warm-up job), then reads them back.
    const fresh = (): void => void (objs = entries(++round));
    try {
      const rows: RowDef[] = [
        {
          id: 'raw-redis-put',
          label: `ioredis 6: one pipeline of ${COUNT * 2} \`SET\`s (value + alternate key), JSON.stringify each`,
          unit: 'ops/s',
          run: () => {
            fresh();
            const p = raw.pipeline();
            for (const e of objs) p.set(`raw:entry:${e.id}`, plain(e), 'EX', TTL_SECONDS).set(`raw:entry-slug:${e.slug}`, String(e.id), 'EX', TTL_SECONDS);
            return perSecond(COUNT, () => p.exec());
          },
        },
        {
          id: 'raw-redis-get',
          label: `ioredis 6: one \`MGET\` of ${COUNT} + \`JSON.parse\` each`,
          unit: 'ops/s',
          run: () => perSecond(COUNT, async () => (await raw.mget(objs.map((e) => `raw:entry:${e.id}`))).map((v) => JSON.parse(v!) as unknown)),
        },
        {
          id: 'raw-mc-put',
          label: `memjs: ${COUNT * 2} concurrent \`set\`s (value + alternate key)`,
          unit: 'ops/s',
          run: () => {
            fresh();
            return perSecond(COUNT, () => Promise.all(objs.flatMap((e) => [mc.set(`raw:entry:${e.id}`, plain(e), { expires: TTL_SECONDS }), mc.set(`raw:entry-slug:${e.slug}`, String(e.id), { expires: TTL_SECONDS })])));
          },
        },
        {
          id: 'raw-mc-get',
          label: `memjs: ${COUNT} concurrent \`get\`s + \`JSON.parse\` each`,
          unit: 'ops/s',
          run: () => perSecond(COUNT, () => Promise.all(objs.map(async (e) => JSON.parse(String((await mc.get(`raw:entry:${e.id}`)).value)) as unknown))),
        },
        ...stores.flatMap(([name, store]): RowDef[] => [
          {
            id: `${name}-put`,
            label: `stockpyle ${store.name}${name === 'cluster' ? ' (Cluster, 3 masters)' : ''} \`batchPut\` of ${COUNT}`,
            unit: 'ops/s',
            run: () => {
              fresh();
              return perSecond(COUNT, () => store.batchPut(objs));
            },
          },
          {
            id: `${name}-get`,
            label: `stockpyle ${store.name}${name === 'cluster' ? ' (Cluster, 3 masters)' : ''} \`batchGet\` of ${COUNT}`,
            unit: 'ops/s',
            run: async () => {
              const queries = objs.map((e) => ({ id: e.id }));
              let found = 0;
              const rate = await perSecond(COUNT, async () => (found = (await store.batchGet(Entry, queries)).filter((o) => o !== undefined).length));
              if (found !== COUNT) throw new Error(`${store.name} found ${found} of ${COUNT}`);
              return rate;
            },
          },
        ]),
      ];
      // Puts and gets alternate within a run: each get reads what the put before it wrote.
      const results = await measureRows(rows, ctx.runs);
      return {
        rows: results,
        checks: [
          context(`RedisStore batchPut / raw pipeline (throughput)`, med(results, 'redis-put') / med(results, 'raw-redis-put')),
          context(`RedisStore batchGet / raw MGET + JSON.parse (throughput)`, med(results, 'redis-get') / med(results, 'raw-redis-get')),
          context(`MemcacheStore batchPut / raw memjs sets (throughput)`, med(results, 'memcached-put') / med(results, 'raw-mc-put')),
          context(`MemcacheStore batchGet / raw memjs gets + JSON.parse (throughput)`, med(results, 'memcached-get') / med(results, 'raw-mc-get')),
        ],
        notes: [
          `one batch of ${COUNT.toLocaleString('en')} objects of ~250 bytes with two keys per row and run, fresh objects each run; ` +
            `stores with their default deadlines (500 ms per round trip); one redis-server, a 3-master Redis Cluster and one memcached, loopback; objects per second`,
        ],
      };
    } finally {
      raw.disconnect();
      mc.close();
      await Promise.allSettled(stores.map(([, s]) => s.release()));
    }
  },
};
