import { metrics, type Attributes, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import { ChainedStore, type ChainStats } from '../chained-store';
import type { StoreStats } from '../base-store';
import type { StoreEventOf } from '../events';
import type { Store } from '../store';

/** Options of `instrumentOpenTelemetry`. */
export interface OpenTelemetryOptions {
  /** Where the instruments are created. @default the global provider of `@opentelemetry/api` (a no-op until the application registers an SDK) */
  meterProvider?: MeterProvider;
}

/** The counters, one per `StoreStats` count, and their descriptions (the table in the core README). */
const COUNTERS = [
  ['hits', 'stockpyle.store.hits', 'Objects a store found (for a chain: queries a cache tier answered)'],
  ['misses', 'stockpyle.store.misses', 'Objects a store did not find (for a chain: queries the database answered or failed)'],
  ['fills', 'stockpyle.store.fills', 'Objects a chain wrote back into a cache tier'],
  ['skips', 'stockpyle.store.skips', 'Objects not stored: too large, lifetime past, not encodable, a fill refused'],
  ['corrupt', 'stockpyle.store.corrupt', 'Undecodable payloads, read as misses and removed'],
  ['errors', 'stockpyle.store.errors', 'Failed calls (for a chain: its tiers and its bus)'],
  ['stale', 'stockpyle.store.stale', 'Objects a chain answered from its grace memory while the database failed'],
] as const satisfies readonly (readonly [keyof StoreStats, string, string])[];

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** One store to report: its stats, under the attributes that name it. */
interface Observed {
  readonly stats: () => StoreStats | undefined;
  readonly attributes: Attributes;
}

/**
 * Reports the counts of `store` (`stats()`) — for a `ChainedStore`, of the chain and of every store
 * in it — as OpenTelemetry metrics, and for each cache tier of a chain its circuit breaker and the
 * invalidations it still owes. Every instrument is asynchronous: it reads `stats()` when the
 * application's reader collects, so nothing runs on any read or write path, and with no SDK
 * registered nothing runs at all. Attributes: `stockpyle.store` (the store's name) and, for the
 * stores of a chain, `stockpyle.chain` — names only, never keys. Returns a function that stops the
 * reporting. Needs the optional peer `@opentelemetry/api`.
 */
export function instrumentOpenTelemetry(store: Store, options: OpenTelemetryOptions = {}): () => void {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('@stockpyle/core');
  const chain = store instanceof ChainedStore ? store : undefined;
  const observed: Observed[] = [{ stats: () => store.stats?.(), attributes: { 'stockpyle.store': store.name } }];
  if (chain !== undefined) {
    chain.stores.forEach((tier, i) => {
      observed.push({
        stats: () => chain.stats().tiers[i]?.stats,
        attributes: { 'stockpyle.store': tier.name, 'stockpyle.chain': chain.name },
      });
    });
  }
  const counters = COUNTERS.map(([field, name, description]) => {
    const counter = meter.createObservableCounter(name, { description, unit: '{object}' });
    const callback = (result: ObservableResult): void => {
      for (const { stats, attributes } of observed) {
        const counts = stats();
        if (counts !== undefined) result.observe(counts[field] as number, attributes);
      }
    };
    counter.addCallback(callback);
    return () => counter.removeCallback(callback);
  });
  const gauges: (() => void)[] = [];
  if (chain !== undefined) {
    const tiers = (): ChainStats['tiers'] => chain.stats().tiers;
    const attributes = (name: string): Attributes => ({ 'stockpyle.store': name, 'stockpyle.chain': chain.name });
    const breaker = meter.createObservableGauge('stockpyle.tier.breaker', { description: 'A cache tier\'s circuit breaker: 0 closed, 1 half-open, 2 open' });
    const onBreaker = (result: ObservableResult): void => {
      for (const tier of tiers()) result.observe(BREAKER_VALUE[tier.breaker], attributes(tier.store));
    };
    breaker.addCallback(onBreaker);
    const owed = meter.createObservableGauge('stockpyle.tier.pending_invalidations', { description: 'Invalidations a cache tier missed, delivered before it is used again', unit: '{object}' });
    const onOwed = (result: ObservableResult): void => {
      for (const tier of tiers()) result.observe(tier.pendingInvalidations, attributes(tier.store));
    };
    owed.addCallback(onOwed);
    gauges.push(() => breaker.removeCallback(onBreaker), () => owed.removeCallback(onOwed));
    // The one synchronous instrument: the chain times its calls only while this listens.
    const duration = meter.createHistogram('stockpyle.tier.duration', { description: 'A chain\'s call to one of its stores, from start to answer or failure', unit: 'ms' });
    const onCall = (e: StoreEventOf<'call'>): void => {
      duration.record(e.ms, { ...attributes(e.store), 'stockpyle.operation': e.operation, 'stockpyle.outcome': e.ok ? 'ok' : 'error' });
    };
    chain.on('call', onCall);
    gauges.push(() => chain.off('call', onCall));
  }
  return () => {
    for (const stop of [...counters, ...gauges]) stop();
  };
}
