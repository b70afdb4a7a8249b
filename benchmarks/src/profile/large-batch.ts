// Profiles one large batchPut and batchGet: `node --cpu-prof --import tsx src/profile/large-batch.ts [redis|memcached] [count]`
// (from benchmarks/). Starts its own server, stops it after.
import 'reflect-metadata';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ChainedStore, Stockpyle, type Store } from '@stockpyle/core';
import { MapDatabase } from '../map-database';
import { MemcacheStore } from '@stockpyle/memcache';
import { RedisStore } from '@stockpyle/redis';
import { startMemcached, startRedis, startRedisCluster } from '../../../test-support/services';

@Stockpyle({ keys: ['id', 'slug'], name: 'profile.Record' })
class Record {
  constructor(public id: number, public slug: string, public score: number, public body: string) {}
}

async function main(): Promise<void> {
  const tier = process.argv[2] ?? 'redis';
  const count = Number(process.argv[3] ?? 100_000);
  if (tier === 'cluster') {
    const cluster = await startRedisCluster();
    const seeds = cluster.nodes.map((n) => n.url.replace('redis://', ''));
    return run(new RedisStore({ url: seeds }), count, () => cluster.stop());
  }
  const server = tier === 'redis' ? await startRedis() : await startMemcached({ extraArgs: ['-m', '512'] });
  return run(tier === 'redis' ? new RedisStore({ url: server.url }) : new MemcacheStore({ servers: [server.url] }), count, () => server.stop());
}

async function run(tierStore: Store, count: number, stop: () => Promise<void>): Promise<void> {
  const tier = tierStore.name;
  const chained = process.argv[4] === 'chain';
  const chain = new ChainedStore([tierStore, new MapDatabase()]);
  chain.on('error', (e) => process.stderr.write(`chain error: ${String(e.error)}\n`));
  const store: Store = chained ? chain : tierStore;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    const body = 'x'.repeat(180);
    const objs = Array.from({ length: count }, (_v, i) => new Record(i + 1, `record-${i + 1}`, i / 7, body));
    await store.get(Record, { id: 0 });
    let t = performance.now();
    await store.batchPut(objs);
    process.stderr.write(`${tier} batchPut ${count}: ${(performance.now() - t).toFixed(0)} ms\n`);
    t = performance.now();
    const got = await store.batchGet(Record, objs.map((o) => ({ id: o.id })));
    process.stderr.write(`${tier} batchGet ${count}: ${(performance.now() - t).toFixed(0)} ms, ${got.filter(Boolean).length} found\n`);
    process.stderr.write(`event loop delay: p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms\n`);
  } finally {
    await chain.release();
    await stop();
  }
}

void main();
