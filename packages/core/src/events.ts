import type { BusState } from './bus';

/** What stores report; listen with `store.on(type, listener)`. */
export type StoreEvent =
  /** Objects found; `count` of them, for one call. */
  | { readonly type: 'hit'; readonly store: string; readonly className: string; readonly count: number }
  /** Objects not found; `count` of them, for one call. */
  | { readonly type: 'miss'; readonly store: string; readonly className: string; readonly count: number }
  /** A chain wrote objects found lower down back into this tier. */
  | { readonly type: 'fill'; readonly store: string; readonly className: string; readonly count: number }
  /** An object was not stored: too large, lifetime already past, or not encodable. */
  | { readonly type: 'skip'; readonly store: string; readonly className: string; readonly reason: string }
  /** A stored payload could not be decoded; it was treated as a miss and removed. */
  | { readonly type: 'corrupt'; readonly store: string; readonly key: string; readonly reason: string }
  /** A tier failed; inside a chain the call went on without it. */
  | { readonly type: 'error'; readonly store: string; readonly operation: string; readonly error: unknown }
  /**
   * Stale-if-error (a chain's `grace`): the database failed, and `count` objects were answered
   * with the last version the chain had seen, the oldest seen `ageMs` ago; `error` is the database's.
   */
  | { readonly type: 'stale'; readonly store: string; readonly className: string; readonly count: number; readonly ageMs: number; readonly error: unknown }
  /**
   * A chain's call to one of its stores ended (`ok`: it did not fail), `ms` after it began: the
   * cache tier calls (replays included) and the database's reads and writes. Only timed while a
   * listener is registered; a first-tier hit makes no call.
   */
  | { readonly type: 'call'; readonly store: string; readonly operation: string; readonly ms: number; readonly ok: boolean }
  /** A chain stopped (open) or resumed (closed) calling a failing tier. */
  | { readonly type: 'circuit'; readonly store: string; readonly state: 'open' | 'closed' }
  /**
   * A chain's bus went down (its in-process tiers now serve only young entries) or came up (they
   * were cleared: messages may have been missed). `store` is the chain, `bus` the bus's name.
   */
  | { readonly type: 'bus'; readonly store: string; readonly bus: string; readonly state: BusState };

export type StoreEventType = StoreEvent['type'];
export type StoreEventOf<K extends StoreEventType> = Extract<StoreEvent, { type: K }>;
export type StoreEventListener<K extends StoreEventType = StoreEventType> = (event: StoreEventOf<K>) => void;

/**
 * A minimal typed emitter. Unlike Node's EventEmitter an `error` event without listeners does not
 * throw, and a listener that throws cannot break a store call (it becomes a process warning).
 */
export class StoreEvents {
  #listeners: Map<StoreEventType, StoreEventListener[]> | undefined;

  on<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): void {
    this.#listeners ??= new Map();
    const list = this.#listeners.get(type) ?? [];
    list.push(listener as unknown as StoreEventListener);
    this.#listeners.set(type, list);
  }

  off<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): void {
    const list = this.#listeners?.get(type);
    if (list === undefined) return;
    const i = list.indexOf(listener as unknown as StoreEventListener);
    if (i >= 0) list.splice(i, 1);
  }

  /** Cheap check so hot paths build event objects only when someone listens. */
  has(type: StoreEventType): boolean {
    const list = this.#listeners?.get(type);
    return list !== undefined && list.length > 0;
  }

  emit(event: StoreEvent): void {
    const list = this.#listeners?.get(event.type);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(event as never);
      } catch (error) {
        process.emitWarning(`A stockpyle '${event.type}' listener threw: ${String(error)}`, 'StockpyleWarning');
      }
    }
  }
}
