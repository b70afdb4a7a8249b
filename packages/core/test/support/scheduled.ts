import type fc from 'fast-check';
import type { Store } from '@stockpyle/core';

const ASYNC = new Set(['get', 'batchGet', 'lookup', 'fillAbsent', 'put', 'batchPut', 'delete', 'batchDelete', 'reserve', 'commit', 'fill']);

/**
 * Wraps a store so each async call waits for the scheduler twice: before its effect happens and
 * before its answer is delivered. Every interleaving of effects and answers becomes reachable.
 */
export function scheduled<S extends Store>(s: fc.Scheduler, label: string, store: S): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !ASYNC.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(), `${label}.${prop}:effect`);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await s.schedule(Promise.resolve(), `${label}.${prop}:answer`);
        return result;
      };
    },
  });
}
