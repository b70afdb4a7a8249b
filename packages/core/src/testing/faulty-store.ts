import { TierUnavailableError } from '../errors';
import type { Store } from '../store';

/** How a `FaultyStore` misbehaves: not at all, by throwing, or by answering late (or never). */
export type FaultMode = { kind: 'ok' } | { kind: 'throw'; error?: Error } | { kind: 'delay'; ms: number } | { kind: 'hang' };

const ASYNC = new Set(['get', 'batchGet', 'lookup', 'fillAbsent', 'put', 'batchPut', 'delete', 'batchDelete', 'reserve', 'commit', 'fill', 'clear']);

/** What `FaultyStore.wrap` adds to a store. */
export interface Faulty {
  /** Sets how every later async call behaves; `only` limits it to the named methods. */
  fault(mode: FaultMode, only?: readonly string[]): void;
  /** Releases calls left hanging by `{ kind: 'hang' }`, letting them run. */
  heal(): void;
}

/**
 * Wraps a store so tests can make it throw, answer late or hang on demand, to check that a chain
 * skips a failing cache tier and that the database's own errors reach the caller.
 */
export class FaultyStore {
  static wrap<S extends Store>(store: S): S & Faulty {
    let mode: FaultMode = { kind: 'ok' };
    let scope: readonly string[] | undefined;
    let hanging: (() => void)[] = [];
    const extra: Faulty = {
      fault(next, only) {
        mode = next;
        scope = only;
      },
      heal() {
        mode = { kind: 'ok' };
        const waiting = hanging;
        hanging = [];
        waiting.forEach((go) => go());
      },
    };
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop in extra) return extra[prop as keyof Faulty];
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (typeof prop !== 'string' || !ASYNC.has(prop)) return value.bind(target);
        return async (...args: unknown[]) => {
          const active = scope === undefined || scope.includes(prop) ? mode : ({ kind: 'ok' } as FaultMode);
          if (active.kind === 'throw') throw active.error ?? new TierUnavailableError(`${target.name}.${prop} failed (injected fault)`);
          if (active.kind === 'delay') await new Promise((r) => setTimeout(r, active.ms));
          if (active.kind === 'hang') await new Promise<void>((r) => hanging.push(r));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as S & Faulty;
  }
}
