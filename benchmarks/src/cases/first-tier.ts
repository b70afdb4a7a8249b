import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { instrumentOpenTelemetry } from '@stockpyle/core/opentelemetry';
import { RedisBus } from '@stockpyle/redis';
import { busConnected } from '../bus-connected';
import type { BenchCase } from '../case';
import { KEY_COUNT, Item, makeItem, shuffledIds } from '../fixtures';
import { atLeast, atMost, context, exactly, med, measureRows, now, type RowDef } from '../harness';
import { MapDatabase } from '../map-database';

let sink: unknown;

/** Case 1: a hit in the first tier against a raw LRU and the peers' in-memory hits. */
export const firstTierHit: BenchCase = {
  id: 1,
  title: 'Hit in the first tier (ProcessMemoryStore)',
  // Redis for the bus row: the hit path with a live subscription beside it.
  needs: ['redis'],
  async run(ctx) {
    const ids = shuffledIds(KEY_COUNT);
    const items = ids.map(makeItem);
    const fastOps = ctx.quick ? 200_000 : 1_000_000;
    const peerOps = ctx.quick ? 20_000 : 50_000;

    const lru = new LRUCache<number, Item>({ max: KEY_COUNT * 2 });
    for (const item of items) lru.set(item.id, item);
    // The same with string keys, as a cache of several classes needs (`item:42`, `order:42`).
    const lruByName = new LRUCache<string, Item>({ max: KEY_COUNT * 2 });
    for (const item of items) lruByName.set(`item:${item.id}`, item);

    const memory = new ProcessMemoryStore({ max: KEY_COUNT * 2 });
    const database = new MapDatabase(items);
    const chain = new ChainedStore([memory, database]);
    await chain.batchPut(items);

    // The same chain with a bus (issue 12): filled once subscribed (a `connected` clears the tier).
    const bus = new RedisBus({ url: ctx.urls.redis!, prefix: 'bench-first-tier' });
    const busMemory = new ProcessMemoryStore({ max: KEY_COUNT * 2 });
    const busDatabase = new MapDatabase(items);
    const busChain = new ChainedStore([busMemory, busDatabase], { bus });
    await busConnected(bus);
    await busChain.batchPut(items);
    busDatabase.reads = 0;

    // The same chain reported to OpenTelemetry: through the global no-op provider (no SDK), and
    // through an SDK MeterProvider whose reader collects every 100 ms while the row runs.
    const otelChain = async (): Promise<ChainedStore> => {
      const c = new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 }), new MapDatabase(items)]);
      await c.batchPut(items);
      return c;
    };
    const noopChain = await otelChain();
    const stopNoop = instrumentOpenTelemetry(noopChain);
    const sdkChain = await otelChain();
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 100 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const stopSdk = instrumentOpenTelemetry(sdkChain, { meterProvider });

    const cacheManager = createCache();
    for (const item of items) await cacheManager.set(`item:${item.id}`, item);

    // serialize: false keeps live objects, as ProcessMemoryStore does; bentocache's default
    // (serialize: true) would parse JSON on every hit and be slower still.
    const bento = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: KEY_COUNT * 2, serialize: false })) },
    });
    for (const item of items) await bento.set({ key: `item:${item.id}`, value: item });

    const n = ids.length;
    /** A row of awaited first-tier hits through `c`. */
    const chainHit = (id: string, label: string, c: ChainedStore): RowDef => ({
      id,
      label,
      unit: 'ns/op',
      async run(): Promise<number> {
        const start = now();
        for (let i = 0; i < fastOps; i++) sink = await c.get(Item, { id: ids[i % n]! });
        return (now() - start) / fastOps;
      },
    });
    const rows = await measureRows(
      [
        {
          id: 'lru',
          label: 'lru-cache `get(id)`, synchronous',
          unit: 'ns/op',
          run() {
            const start = now();
            for (let i = 0; i < fastOps; i++) sink = lru.get(ids[i % n]!);
            return (now() - start) / fastOps;
          },
        },
        {
          id: 'lru-await',
          label: 'lru-cache `await get(id)`: the floor of any awaited lookup',
          unit: 'ns/op',
          async run() {
            const start = now();
            for (let i = 0; i < fastOps; i++) sink = await lru.get(ids[i % n]!);
            return (now() - start) / fastOps;
          },
        },
        {
          id: 'lru-string',
          label: 'lru-cache `get("item:" + id)`, string key built per call, synchronous',
          unit: 'ns/op',
          run() {
            const start = now();
            for (let i = 0; i < fastOps; i++) sink = lruByName.get(`item:${ids[i % n]!}`);
            return (now() - start) / fastOps;
          },
        },
        {
          id: 'peek',
          label: 'stockpyle `ProcessMemoryStore.peek(Item, { id })`, synchronous',
          unit: 'ns/op',
          run() {
            const start = now();
            for (let i = 0; i < fastOps; i++) sink = memory.peek(Item, { id: ids[i % n]! });
            return (now() - start) / fastOps;
          },
        },
        chainHit('chain', 'stockpyle `await chain.get(Item, { id })`, [memory, db]', chain),
        chainHit('chain-bus', 'the same chain with a RedisBus attached (subscribed)', busChain),
        chainHit('chain-otel-noop', 'the same chain reported to OpenTelemetry, no SDK (the global no-op)', noopChain),
        chainHit('chain-otel-sdk', 'the same chain reported to an SDK MeterProvider (collected every 100 ms)', sdkChain),
        {
          id: 'cache-manager',
          label: 'cache-manager 7 + keyv memory `await get(key)`',
          unit: 'ns/op',
          async run() {
            const start = now();
            for (let i = 0; i < peerOps; i++) sink = await cacheManager.get(`item:${ids[i % n]!}`);
            return (now() - start) / peerOps;
          },
        },
        {
          id: 'bentocache',
          label: 'bentocache 1.6 L1 (memory, serialize: false) `await get({ key })`',
          unit: 'ns/op',
          async run() {
            const start = now();
            for (let i = 0; i < peerOps; i++) sink = await bento.get({ key: `item:${ids[i % n]!}` });
            return (now() - start) / peerOps;
          },
        },
      ],
      ctx.runs,
    );
    if (!(sink === undefined || typeof sink === 'object')) throw new Error('unreachable');
    // Every get of the bus row was a hit: none reached the "database" below.
    const busMisses = busDatabase.reads;
    stopNoop();
    stopSdk();
    await meterProvider.shutdown();
    await Promise.all([chain.release(), busChain.release(), noopChain.release(), sdkChain.release(), cacheManager.disconnect(), bento.disconnectAll()]);
    await bus.release();
    const chainNs = med(rows, 'chain');
    return {
      rows,
      checks: [
        atMost('chain.get hit / lru-cache get', chainNs / med(rows, 'lru'), 6),
        context('chain.get hit / awaited lru-cache get (the await floor)', chainNs / med(rows, 'lru-await')),
        context('chain.get hit / lru-cache get with a string key', chainNs / med(rows, 'lru-string')),
        context('cache-manager hit / awaited lru-cache get: the most any awaited get could reach', med(rows, 'cache-manager') / med(rows, 'lru-await')),
        context('peek (synchronous part) / lru-cache get', med(rows, 'peek') / med(rows, 'lru')),
        atMost('chain.get hit with a bus / without (issue 12: the same within noise)', med(rows, 'chain-bus') / chainNs, 1.1),
        exactly('reads below the first tier during the bus row (all hits)', busMisses, 0),
        atMost('chain.get hit reported to OpenTelemetry, no SDK / not reported (issue 16: the same within noise)', med(rows, 'chain-otel-noop') / chainNs, 1.1),
        context('chain.get hit reported to an SDK MeterProvider / not reported', med(rows, 'chain-otel-sdk') / chainNs),
        atLeast('cache-manager hit / chain.get hit', med(rows, 'cache-manager') / chainNs, 10),
        atLeast('bentocache L1 hit / chain.get hit', med(rows, 'bentocache') / chainNs, 15),
      ],
      notes: [
        `${KEY_COUNT.toLocaleString('en')} keys, shuffled; every call awaited except the synchronous rows`,
        "the chain's write-through has run (as in any app that writes through it)",
        'an awaited call costs at least the "await floor" row (lru-cache get plus one await); every awaited row includes it',
      ],
    };
  },
};
