import type { Store } from '../store';

const COUNTED = ['get', 'batchGet', 'lookup', 'fillAbsent', 'put', 'batchPut', 'delete', 'batchDelete', 'reserve', 'commit', 'fill', 'clear', 'peek', 'adopt', 'release'] as const;

/** What `CountingStore.wrap` adds to a store. */
export interface Counting {
  /** Calls per method since the last `resetCounts()`. */
  readonly counts: Record<string, number>;
  /** Sum of the counts of the given methods (all when none are named). */
  calls(...methods: string[]): number;
  resetCounts(): void;
}

/**
 * Wraps a store so every call is counted, for round-trip assertions ("a hit in the first tier
 * touches no other tier"). The wrapper is the same store in every other respect, chain hooks included.
 */
export class CountingStore {
  static wrap<S extends Store>(store: S): S & Counting {
    const counts: Record<string, number> = {};
    const extra: Counting = {
      counts,
      calls: (...methods) => (methods.length === 0 ? Object.keys(counts) : methods).reduce((n, m) => n + (counts[m] ?? 0), 0),
      resetCounts: () => {
        for (const k of Object.keys(counts)) delete counts[k];
      },
    };
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop in extra) return extra[prop as keyof Counting];
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || !(COUNTED as readonly (string | symbol)[]).includes(prop)) {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (...args: unknown[]) => {
          counts[prop as string] = (counts[prop as string] ?? 0) + 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as S & Counting;
  }
}
