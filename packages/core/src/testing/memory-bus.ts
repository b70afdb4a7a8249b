import { BaseBus } from '../bus';
import { BusPublishError } from '../errors';

/** One message on its way from one `MemoryBus` to another; settles once (deliver or drop). */
export interface MemoryDelivery {
  readonly from: MemoryBus;
  readonly to: MemoryBus;
  readonly keys: readonly string[];
  /** Hands the keys to `to`'s subscribers now; false when it was settled already or `to` cannot hear it (disconnected, released). */
  deliver(): boolean;
  /** Loses the message, as a network would. */
  drop(): void;
  /** A second, pending copy of this message, as a transport that delivers twice would make. */
  duplicate(): MemoryDelivery;
}

/** Options of `MemoryBusHub`. */
export interface MemoryBusHubOptions {
  /**
   * When deliveries happen: `'microtask'` (default) soon after the publish; `'manual'` only when
   * the test calls `deliver()`/`drop()` on one of `hub.pending` (any order: reordering), or
   * `deliverAll()`; a function is given each new delivery to run when it likes, e.g. with
   * fast-check: `(d) => void s.schedule(Promise.resolve(), 'bus').then(() => d.deliver())`.
   */
  readonly deliveries?: 'microtask' | 'manual' | ((delivery: MemoryDelivery) => void);
}

/** Options of one `MemoryBus` endpoint. */
export interface MemoryBusOptions {
  /** Shown in error events. @default 'MemoryBus' */
  readonly name?: string;
}

/**
 * One process's end of a `MemoryBusHub`. Publishes go to every other endpoint that subscribes and
 * is connected, one delivery per publish and receiver, with no batching, so tests see exactly the
 * messages the code under test published.
 */
export class MemoryBus extends BaseBus {
  readonly #hub: MemoryBusHub;
  #linked = true;
  #listening = false;

  /** Made by `hub.bus()`. */
  constructor(hub: MemoryBusHub, options: MemoryBusOptions = {}) {
    super(options.name ?? 'MemoryBus');
    this.#hub = hub;
  }

  /** Whether the hub may reach this endpoint (false between `hub.disconnect(bus)` and `hub.reconnect(bus)`). */
  get linked(): boolean {
    return this.#linked;
  }

  /** Whether deliveries reach subscribers now. */
  get hearing(): boolean {
    return this.#linked && this.#listening;
  }

  publish(keys: readonly string[]): void {
    if (keys.length === 0) return;
    if (!this.#linked) {
      this.report('publish', new BusPublishError(`${this.name}: not connected to its hub; ${keys.length} key(s) not sent`), [...keys]);
      return;
    }
    this.#hub.send(this, Object.freeze([...keys]));
  }

  async release(): Promise<void> {
    this.#listening = false;
    this.#hub.dropPendingTo(this);
    this.dropSubscribers();
  }

  protected listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    // Like a real transport, the subscription comes up after subscribe() has returned.
    queueMicrotask(() => {
      if (this.hearing) this.setState('connected');
    });
  }

  /** Called by the hub: hands over keys, if this endpoint hears them. */
  receive(keys: readonly string[]): boolean {
    if (!this.hearing) return false;
    this.deliver(keys);
    return true;
  }

  /** Called by the hub: the link goes down or comes back up. */
  link(up: boolean): void {
    if (this.#linked === up) return;
    this.#linked = up;
    if (this.#listening) this.setState(up ? 'connected' : 'disconnected');
  }
}

/**
 * An in-process stand-in for Redis pub/sub, for tests of code that uses a `Bus`: several endpoints
 * (`hub.bus()`, one per simulated process) whose deliveries a test can hold, reorder, drop,
 * duplicate, and whose links it can cut and restore, all deterministically.
 */
export class MemoryBusHub {
  readonly #deliveries: NonNullable<MemoryBusHubOptions['deliveries']>;
  readonly #buses: MemoryBus[] = [];
  readonly #pending: MemoryDelivery[] = [];
  /** Messages published through the hub (one per publish), and deliveries that reached subscribers. */
  published = 0;
  delivered = 0;

  constructor(options: MemoryBusHubOptions = {}) {
    this.#deliveries = options.deliveries ?? 'microtask';
  }

  /** A new endpoint, linked to the hub. */
  bus(options?: MemoryBusOptions): MemoryBus {
    const bus = new MemoryBus(this, options);
    this.#buses.push(bus);
    return bus;
  }

  /** Every endpoint made so far. */
  get buses(): readonly MemoryBus[] {
    return this.#buses;
  }

  /** Deliveries neither delivered nor dropped, oldest first. */
  get pending(): readonly MemoryDelivery[] {
    return [...this.#pending];
  }

  /** Delivers every pending delivery in order (those it leads to stay pending); returns how many reached subscribers. */
  deliverAll(): number {
    return this.pending.filter((d) => d.deliver()).length;
  }

  /** Drops every pending delivery. */
  dropAll(): void {
    for (const d of this.pending) d.drop();
  }

  /** Cuts `bus` off: its subscribers get `disconnected`, messages to it are lost, its publishes fail. */
  disconnect(bus: MemoryBus): void {
    this.dropPendingTo(bus);
    bus.link(false);
  }

  /** Drops every pending delivery to `bus`: what was in flight when it went away never arrives. */
  dropPendingTo(bus: MemoryBus): void {
    for (const d of this.pending) if (d.to === bus) d.drop();
  }

  /** Links `bus` again: its subscribers get `connected` (and must resync: they missed messages). */
  reconnect(bus: MemoryBus): void {
    bus.link(true);
  }

  /** Called by an endpoint's publish: one delivery to every other endpoint that hears now. */
  send(from: MemoryBus, keys: readonly string[]): void {
    this.published += 1;
    for (const to of this.#buses) {
      if (to === from || !to.hearing) continue;
      const delivery = this.#delivery(from, to, keys);
      if (this.#deliveries === 'microtask') queueMicrotask(() => delivery.deliver());
      else if (this.#deliveries !== 'manual') this.#deliveries(delivery);
    }
  }

  #delivery(from: MemoryBus, to: MemoryBus, keys: readonly string[]): MemoryDelivery {
    const settle = (): boolean => {
      const i = this.#pending.indexOf(delivery);
      if (i < 0) return false;
      this.#pending.splice(i, 1);
      return true;
    };
    const delivery: MemoryDelivery = {
      from,
      to,
      keys,
      deliver: () => {
        if (!settle() || !to.receive(keys)) return false;
        this.delivered += 1;
        return true;
      },
      drop: () => void settle(),
      duplicate: () => this.#delivery(from, to, keys),
    };
    this.#pending.push(delivery);
    return delivery;
  }
}
