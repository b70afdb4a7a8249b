import type { Bus, BusErrorEvent, BusState } from './bus';
import { ConfigurationError } from './errors';
import type { StoreEvent } from './events';
import type { KeyBuilder } from './keys';
import { classByName, getMetadata, metadataOf } from './metadata';
import type { Class } from './types';
import type { LocalTier } from './store';

/** What a chain hands to its `ChainBus`. */
export interface ChainBusOptions {
  readonly bus: Bus;
  /** The chain's in-process tiers. */
  readonly locals: readonly LocalTier[];
  /** Milliseconds an in-process entry may be served while the bus is down. */
  readonly maxStaleWhileDisconnected: number;
  /** The chain's name, for events. */
  readonly name: string;
  /** A prefix-free key builder (the chain's own). */
  readonly ids: KeyBuilder;
  readonly emit: (event: StoreEvent) => void;
  /** Called when another process changed objects or messages may have been missed: reads in flight must not be shared on. */
  readonly onRemoteChange: () => void;
}

/**
 * A bus key that clears a class hierarchy (`ChainedStore.clear`) rather than naming an object: no
 * object's key starts with `#` (class names are escaped in keys).
 */
const CLEAR_PREFIX = '#clear:';

/** Keys remembered for publishing again after the bus could not send them. */
const MAX_UNSENT = 10_000;

/** Milliseconds an in-process entry is served while the bus is down, unless the chain says otherwise. */
export const DEFAULT_MAX_STALE_WHILE_DISCONNECTED = 1000;

/** Checks `maxStaleWhileDisconnected` as a chain's constructor takes it. */
export function checkMaxStale(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_STALE_WHILE_DISCONNECTED;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new ConfigurationError('ChainedStore: maxStaleWhileDisconnected must be a number of ms (0: the in-process tiers serve nothing while the bus is down)');
  }
  return value;
}

/**
 * Keeps a chain's in-process tiers coherent with other processes' writes (docs/ARCHITECTURE.md,
 * "The bus"): publishes the keys of what the chain changed, settles what others changed, clears on
 * every `connected` (messages may have been missed) and bounds the age of what is served while
 * the bus is down.
 */
export class ChainBus {
  readonly #o: ChainBusOptions;
  #unsubscribe: (() => void) | undefined;
  /**
   * Keys the bus could not send: published again at the next `connected`. Other processes do not
   * know they missed them (their own link may never have broken), so only the sender can repair it.
   */
  readonly #unsent = new Set<string>();
  readonly #onError = (event: BusErrorEvent): void => {
    this.#o.emit({ type: 'error', store: this.#o.bus.name, operation: `bus.${event.operation}`, error: event.error });
    if (event.operation !== 'publish' || event.keys === undefined) return;
    for (const key of event.keys) {
      if (this.#unsent.size >= MAX_UNSENT) {
        const error = new ConfigurationError(`more than ${MAX_UNSENT} keys could not be published; other processes' in-process copies of the rest are bounded only by lifetimes`);
        this.#o.emit({ type: 'error', store: this.#o.bus.name, operation: 'bus.publish', error });
        return;
      }
      this.#unsent.add(key);
    }
  };

  constructor(options: ChainBusOptions) {
    this.#o = options;
  }

  /** Whether the chain listens now. */
  get started(): boolean {
    return this.#unsubscribe !== undefined;
  }

  /**
   * Subscribes. Until the first `connected` the in-process tiers are treated as disconnected: they
   * may hold what was written before this process heard anything. A bus already connected counts
   * as a `connected` now.
   */
  start(): void {
    if (this.#unsubscribe !== undefined) return;
    const { bus } = this.#o;
    bus.on('error', this.#onError);
    // A chain without in-process tiers (the subscriber's over one shared tier) only publishes.
    if (this.#o.locals.length === 0) {
      this.#unsubscribe = () => undefined;
      return;
    }
    this.#limit();
    this.#unsubscribe = bus.subscribe({ keys: (keys) => this.#received(keys), state: (state) => this.#state(state) });
    if (bus.connected) this.#state('connected');
  }

  /** Unsubscribes; the in-process tiers go back to serving only young entries until the next `start()`. */
  stop(): void {
    if (this.#unsubscribe === undefined) return;
    this.#unsubscribe();
    this.#unsubscribe = undefined;
    this.#o.bus.off('error', this.#onError);
    this.#limit();
  }

  /** Tells other processes that `objs` changed; call only once the shared tiers (and the database) have the change. */
  publish(objs: readonly object[]): void {
    const keys: string[] = [];
    for (const obj of objs) {
      const relative = this.#o.ids.relativeKeysOf(metadataOf(obj), obj);
      if (relative.length > 0) keys.push(relative.join(' '));
    }
    if (keys.length > 0) this.#o.bus.publish(keys);
  }

  /** Tells other processes that every object of `root`'s class hierarchy changed (`ChainedStore.clear`). */
  publishClear(root: Class): void {
    this.#o.bus.publish([`${CLEAR_PREFIX}${getMetadata(root).name}`]);
  }

  #received(received: readonly string[]): void {
    this.#o.onRemoteChange();
    let keys = received;
    if (received.some((k) => k.startsWith(CLEAR_PREFIX))) {
      keys = received.filter((k) => !k.startsWith(CLEAR_PREFIX));
      for (const key of received) if (key.startsWith(CLEAR_PREFIX)) this.#clear(key.slice(CLEAR_PREFIX.length));
    }
    if (keys.length === 0) return;
    for (const tier of this.#o.locals) {
      try {
        tier.settleKeys(keys);
      } catch (error) {
        // A key this process cannot place (another format): nothing it holds can be under it.
        this.#o.emit({ type: 'error', store: tier.name, operation: 'bus.receive', error });
      }
    }
  }

  /** A class this process does not know has nothing cached here. */
  #clear(name: string): void {
    const cls = classByName(name);
    if (cls === undefined) return;
    for (const tier of this.#o.locals) void tier.clear(cls);
  }

  #state(state: BusState): void {
    if (state === 'connected') {
      if (this.#unsent.size > 0) {
        const keys = [...this.#unsent];
        this.#unsent.clear();
        this.#o.bus.publish(keys);
      }
      this.#o.onRemoteChange();
      for (const tier of this.#o.locals) {
        tier.clear();
        tier.limitAge(undefined);
      }
    } else {
      this.#limit();
    }
    this.#o.emit({ type: 'bus', store: this.#o.name, bus: this.#o.bus.name, state });
  }

  #limit(): void {
    for (const tier of this.#o.locals) tier.limitAge(this.#o.maxStaleWhileDisconnected);
  }
}
