import 'reflect-metadata';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Test } from '@nestjs/testing';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { StockpyleModule } from '@stockpyle/nestjs';

@Stockpyle({ keys: ['id'], name: 'nest.otel.Doc' })
class Doc {
  constructor(public id: number) {}
}

/** `stockpyle.store.hits` per store, as the application's reader collects them. */
async function hits(reader: PeriodicExportingMetricReader): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'stockpyle.store.hits') continue;
      for (const point of metric.dataPoints) if (point.attributes['stockpyle.chain'] === undefined) out[String(point.attributes['stockpyle.store'])] = point.value as number;
    }
  }
  return out;
}

describe('StockpyleModule and OpenTelemetry', () => {
  let reader: PeriodicExportingMetricReader;
  let provider: MeterProvider;
  beforeEach(() => {
    reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
  });
  afterEach(async () => {
    metrics.disable();
    await provider.shutdown();
  });

  it('reports every registered store with no code of the application, from startup to shutdown', async () => {
    const chain = new ChainedStore([new ProcessMemoryStore(), new ProcessMemoryStore({ name: 'second' })], { name: 'app-chain' });
    const sessions = new ProcessMemoryStore({ name: 'sessions' });
    const ref = await Test.createTestingModule({ imports: [StockpyleModule.forRoot({ stores: { default: chain, sessions } })] }).compile();
    await ref.init();
    await chain.put(new Doc(1));
    for (let i = 0; i < 3; i++) await chain.get(Doc, { id: 1 });
    await sessions.put(new Doc(2));
    await sessions.get(Doc, { id: 2 });
    expect(await hits(reader)).toEqual({ 'app-chain': 3, sessions: 1 });
    await ref.close();
    await chain.get(Doc, { id: 1 }); // after shutdown: no longer read
    expect((await hits(reader))['app-chain']).toBe(3);
  });

  it('with openTelemetry: false reports nothing', async () => {
    const store = new ProcessMemoryStore({ name: 'quiet' });
    const ref = await Test.createTestingModule({ imports: [StockpyleModule.forRoot({ stores: { default: store }, openTelemetry: false })] }).compile();
    await ref.init();
    await store.put(new Doc(1));
    await store.get(Doc, { id: 1 });
    expect(await hits(reader)).toEqual({});
    await ref.close();
  });
});
