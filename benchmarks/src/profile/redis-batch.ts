// Profiles case 3's chain row alone: `node --cpu-prof --import tsx src/profile/redis-batch.ts [chain|store|mget]`
// (from benchmarks/). Starts its own redis-server, runs the row for a few seconds, stops it.
import 'reflect-metadata';
import { Redis } from 'ioredis';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import { startRedis } from '../../../test-support/services';
import { KEY_COUNT, Item, blocks, makeItem, plainItem, shuffledIds } from '../fixtures';
import { MapDatabase } from '../map-database';

async function main(): Promise<void> {
  const what = process.argv[2] ?? 'chain';
  const redis = await startRedis();
  const raw = new Redis(redis.url);
  const store = new RedisStore({ url: redis.url });
  try {
    const groups = blocks(shuffledIds(KEY_COUNT), 100);
    for (const g of groups) {
      await store.batchPut(g.map(makeItem));
      await raw.mset(Object.fromEntries(g.map((id) => [`raw:item:${id}`, JSON.stringify(plainItem(id))])));
    }
    const queries = groups.map((g) => g.map((id) => ({ id })));
    const rawKeys = groups.map((g) => g.map((id) => `raw:item:${id}`));
    const database = new MapDatabase();
    const started = Date.now();
    let batches = 0;
    while (Date.now() - started < 6_000) {
      const chain = new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 }), store, database]);
      for (let i = 0; i < groups.length; i++) {
        if (what === 'chain') await chain.batchGet(Item, queries[i]!);
        else if (what === 'store') await store.batchGet(Item, queries[i]!);
        else (await raw.mget(rawKeys[i]!)).map((v) => JSON.parse(v!) as unknown);
        batches++;
      }
    }
    process.stderr.write(`${what}: ${(((Date.now() - started) * 1000) / batches).toFixed(0)} µs per batch of 100\n`);
  } finally {
    raw.disconnect();
    await store.release();
    await redis.stop();
  }
}

void main();
