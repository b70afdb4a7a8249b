import { Injectable } from '@nestjs/common';
import type { Store, StoreEvent } from '@stockpyle/core';
import { InjectStore } from '@stockpyle/nestjs';

/** The cache tiers; the database tier's work shows in the query counts instead. */
type TierName = 'request' | 'memory' | 'redis';
type Counts = { hit: number; miss: number; fill: number; error: number };

/** Hits, misses, fills and errors per cache tier, from the stores' events: shows where reads were served. */
@Injectable()
export class TierStats {
  readonly #counts = {} as Record<TierName, Counts>;

  constructor(
    @InjectStore('request') request: Store,
    @InjectStore('memory') memory: Store,
    @InjectStore('redis') redis: Store,
  ) {
    for (const [name, store] of Object.entries({ request, memory, redis }) as [TierName, Store][]) {
      const counts = (this.#counts[name] = { hit: 0, miss: 0, fill: 0, error: 0 });
      const count = (event: StoreEvent) => {
        counts[event.type as keyof Counts] += 'count' in event ? event.count : 1;
      };
      store.on('hit', count).on('miss', count).on('fill', count).on('error', count);
    }
  }

  snapshot(): Record<TierName, Counts> {
    return structuredClone(this.#counts);
  }

  reset(): void {
    for (const counts of Object.values(this.#counts)) Object.assign(counts, { hit: 0, miss: 0, fill: 0, error: 0 });
  }
}
