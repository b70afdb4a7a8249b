import 'reflect-metadata';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ChainedStore, DictionaryStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { FaultyStore } from '@stockpyle/core/testing';
import { instrumentOpenTelemetry } from '@stockpyle/core/opentelemetry';
import { MemoryDatabase } from './support/memory-database';

@Stockpyle({ keys: ['id'], name: 'otel.Doc' })
class Doc {
  constructor(
    public id: number,
    public title: string,
  ) {}
}

/** Every data point collected, as `name{store,chain}` → value. */
async function collect(reader: PeriodicExportingMetricReader): Promise<Map<string, number>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return points(resourceMetrics);
}

function points(resourceMetrics: ResourceMetrics): Map<string, number> {
  const out = new Map<string, number>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name === 'stockpyle.tier.duration') continue; // see durations()
      for (const point of metric.dataPoints) {
        const { 'stockpyle.store': store, 'stockpyle.chain': chain } = point.attributes;
        out.set(`${metric.descriptor.name}{${String(store)}${chain === undefined ? '' : `,${String(chain)}`}}`, point.value as number);
      }
    }
  }
  return out;
}

/** The duration histogram's points, as `store operation outcome` → the number of calls recorded. */
function durations(resourceMetrics: ResourceMetrics): Map<string, number> {
  const out = new Map<string, number>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'stockpyle.tier.duration') continue;
      expect(metric.descriptor.unit).toBe('ms');
      for (const point of metric.dataPoints) {
        const a = point.attributes;
        const value = point.value as { count: number; min?: number };
        expect(value.min).toBeGreaterThanOrEqual(0);
        out.set(`${String(a['stockpyle.store'])} ${String(a['stockpyle.operation'])} ${String(a['stockpyle.outcome'])}`, value.count);
      }
    }
  }
  return out;
}

describe('instrumentOpenTelemetry', () => {
  it('reports every count of a scripted workload, per store of the chain, with breaker and owed invalidations', async () => {
    const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const memory = new ProcessMemoryStore({ name: 'memory' });
    const shared = FaultyStore.wrap(new DictionaryStore(new Map(), { name: 'shared' }));
    const db = new MemoryDatabase();
    const chain = new ChainedStore([memory, shared, db], { name: 'chain', breaker: { failureThreshold: 1, resetAfter: 60_000 }, replayInterval: 0 });
    const stop = instrumentOpenTelemetry(chain, { meterProvider: provider });
    try {
      await db.batchPut([1, 2, 3].map((id) => new Doc(id, 'a')));
      await chain.batchGet(Doc, [{ id: 1 }, { id: 2 }, { id: 3 }]); // 3 from the database, filled into both tiers
      for (let i = 0; i < 5; i++) await chain.get(Doc, { id: 1 }); // 5 first-tier hits
      await chain.get(Doc, { id: 9 }); // nowhere: a miss of every tier, the database's answer
      shared.fault({ kind: 'throw' });
      await chain.invalidate([new Doc(2, 'a')]); // the shared tier fails: its breaker opens, it owes one
      const collected = await reader.collect();
      // Every call the chain made to a store, by store, operation and outcome (first-tier hits make none).
      expect(Object.fromEntries(durations(collected.resourceMetrics))).toEqual({
        'memory batchGet ok': 2, // the batch, and the get of id 9
        'shared batchGet ok': 2,
        [`${db.name} batchGet ok`]: 2,
        'memory fill ok': 2, // the batch's fill, and id 9's remembered miss (dropped by the tier: no missLifetime)
        'shared fill ok': 2,
        'memory invalidate ok': 1,
        'shared invalidate error': 1,
      });
      const got = points(collected.resourceMetrics);
      expect(Object.fromEntries(got)).toEqual({
        'stockpyle.store.hits{chain}': 5,
        'stockpyle.store.misses{chain}': 4,
        'stockpyle.store.fills{chain}': 0,
        'stockpyle.store.skips{chain}': 0,
        'stockpyle.store.corrupt{chain}': 0,
        'stockpyle.store.errors{chain}': 1,
        'stockpyle.store.stale{chain}': 0,
        'stockpyle.store.hits{memory,chain}': 5,
        'stockpyle.store.misses{memory,chain}': 4,
        'stockpyle.store.fills{memory,chain}': 3,
        'stockpyle.store.skips{memory,chain}': 0,
        'stockpyle.store.corrupt{memory,chain}': 0,
        'stockpyle.store.errors{memory,chain}': 0,
        'stockpyle.store.stale{memory,chain}': 0,
        'stockpyle.store.hits{shared,chain}': 0,
        'stockpyle.store.misses{shared,chain}': 4,
        'stockpyle.store.fills{shared,chain}': 3,
        'stockpyle.store.skips{shared,chain}': 0,
        'stockpyle.store.corrupt{shared,chain}': 0,
        'stockpyle.store.errors{shared,chain}': 0,
        'stockpyle.store.stale{shared,chain}': 0,
        [`stockpyle.store.hits{${db.name},chain}`]: 0,
        [`stockpyle.store.misses{${db.name},chain}`]: 0,
        [`stockpyle.store.fills{${db.name},chain}`]: 0,
        [`stockpyle.store.skips{${db.name},chain}`]: 0,
        [`stockpyle.store.corrupt{${db.name},chain}`]: 0,
        [`stockpyle.store.errors{${db.name},chain}`]: 0,
        [`stockpyle.store.stale{${db.name},chain}`]: 0,
        'stockpyle.tier.breaker{memory,chain}': 0,
        'stockpyle.tier.breaker{shared,chain}': 2,
        [`stockpyle.tier.breaker{${db.name},chain}`]: 0,
        'stockpyle.tier.pending_invalidations{memory,chain}': 0,
        'stockpyle.tier.pending_invalidations{shared,chain}': 1,
        [`stockpyle.tier.pending_invalidations{${db.name},chain}`]: 0,
      });
      // Cumulative: a later collection reports the counts since the store was created.
      await chain.get(Doc, { id: 1 });
      expect((await collect(reader)).get('stockpyle.store.hits{chain}')).toBe(6);
      // Stopped: later counts are not read any more (the SDK goes on exporting the last values).
      stop();
      await chain.get(Doc, { id: 1 });
      expect((await collect(reader)).get('stockpyle.store.hits{chain}')).toBe(6);
      expect(chain.stats().hits).toBe(7);
    } finally {
      stop();
      await provider.shutdown();
      await chain.release();
    }
  });

  it('with no SDK registered it runs against the global no-op provider and changes nothing', async () => {
    const chain = new ChainedStore([new ProcessMemoryStore(), new MemoryDatabase()]);
    expect(metrics.getMeterProvider().getMeter('x').createObservableCounter('y')).toBeDefined();
    const stop = instrumentOpenTelemetry(chain);
    await chain.put(new Doc(1, 'a'));
    expect(await chain.get(Doc, { id: 1 })).toEqual(new Doc(1, 'a'));
    stop();
    await chain.release();
  });
});
