import { Redis } from 'ioredis';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import type { BenchCase } from '../case';
import { Item, blocks, makeItem, shuffledIds } from '../fixtures';
import { context, exactly, med, measureRows, sequentialMicros } from '../harness';
import { MapDatabase } from '../map-database';
import { busConnected } from '../bus-connected';

const BATCH = 100;

/**
 * Case 11 (issue 12): what a RedisBus adds to a write through [memory, Redis, db]: `put` and
 * `batchPut(100)` with and without a bus on the chain, and the number of bus messages a batch
 * sends (one: keys are batched per turn of the event loop).
 */
export const busWrite: BenchCase = {
  id: 11,
  title: 'The bus on a write: chain put and batchPut with and without a RedisBus',
  needs: ['redis'],
  async run(ctx) {
    const url = ctx.urls.redis!;
    const puts = ctx.quick ? 300 : 1_000;
    const batches = blocks(shuffledIds(10_000), BATCH).slice(0, ctx.quick ? 10 : 20);
    const prefix = 'bench-bus-write';
    const plain = new ChainedStore([new ProcessMemoryStore(), new RedisStore({ url, prefix: `${prefix}-plain` }), new MapDatabase()]);
    const bus = new RedisBus({ url, prefix });
    const withBus = new ChainedStore([new ProcessMemoryStore(), new RedisStore({ url, prefix }), new MapDatabase()], { bus });
    // Another process's view of the channel, subscribed only for the count below (in this one
    // process its receiving would be charged to the timed writes).
    const listener = new Redis(url);
    let messages = 0;
    listener.on('message', () => messages++);
    try {
      await busConnected(bus);
      let version = 0;
      const item = (id: number): Item => Object.assign(makeItem(id), { score: ++version });
      const rows = await measureRows(
        [
          { id: 'put', label: 'stockpyle `await chain.put(item)`, [memory, redis, db], no bus', unit: 'µs/op', run: () => sequentialMicros(puts, (i) => plain.put(item(1 + (i % 1000)))) },
          { id: 'put-bus', label: 'the same with a RedisBus on the chain', unit: 'µs/op', run: () => sequentialMicros(puts, (i) => withBus.put(item(1 + (i % 1000)))) },
          {
            id: 'batch',
            label: `stockpyle \`await chain.batchPut(${BATCH} items)\`, no bus`,
            unit: 'µs/op',
            run: () => sequentialMicros(batches.length, (i) => plain.batchPut(batches[i]!.map(item))),
          },
          {
            id: 'batch-bus',
            label: `the same with a RedisBus on the chain`,
            unit: 'µs/op',
            run: () => sequentialMicros(batches.length, (i) => withBus.batchPut(batches[i]!.map(item))),
          },
        ],
        ctx.runs,
      );
      // Messages per batch, counted apart from the timed runs: each batch's message must have arrived first.
      const counted = Math.min(10, batches.length);
      await listener.subscribe(bus.channel);
      await settle(() => messages);
      const before = messages;
      for (let i = 0; i < counted; i++) await withBus.batchPut(batches[i]!.map(item));
      await settle(() => messages);
      const perBatch = (messages - before) / counted;
      return {
        rows,
        checks: [
          context('put with a bus / without', med(rows, 'put-bus') / med(rows, 'put')),
          context('batchPut(100) with a bus / without', med(rows, 'batch-bus') / med(rows, 'batch')),
          exactly(`bus messages per batchPut(${BATCH})`, perBatch, 1),
        ],
        notes: [
          `${puts} awaited puts per run over 1,000 ids, ${batches.length} batches of ${BATCH} per run; MapDatabase at the bottom (no SQL), one redis-server, loopback`,
          'a publish leaves the write once the shared tier has its commit and is sent on the next turn of the event loop; the put does not wait for it, but the bus\'s work (the PUBLISH, and its own subscriber reading the message back and ignoring it) shares the process with the next put',
        ],
      };
    } finally {
      await Promise.all([plain.release(), withBus.release()]);
      await Promise.all([bus.release(), listener.quit()]);
    }
  },
};

/** Waits until `count()` has not changed for 100 ms (the messages in flight have arrived). */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
