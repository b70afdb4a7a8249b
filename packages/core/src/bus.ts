import { randomBytes } from 'node:crypto';

/** Whether a bus's subscription is live: `connected` means every message published from now on arrives. */
export type BusState = 'connected' | 'disconnected';

/** What a bus hands to its subscribers. */
export interface BusListener {
  /** Keys another process (another `Bus` instance) invalidated or wrote: drop them from in-process tiers. */
  keys(keys: readonly string[]): void;
  /**
   * `disconnected`: the subscription went down; messages are being missed from now on.
   * `connected`: the subscription is live again (also delivered when the bus knows it lost a
   * message it received): messages may have been missed before this point, so resync.
   */
  state(state: BusState): void;
}

/** A failure a bus reports instead of throwing into its caller. */
export interface BusErrorEvent {
  readonly type: 'error';
  /** The bus's `name`. */
  readonly bus: string;
  /**
   * `publish`: keys could not be sent after every retry (they are in `keys`); `subscribe`: the
   * subscription could not be (re)opened; `receive`: a message could not be read; `connection`:
   * the client reported an error; `listener`: a subscriber's callback threw.
   */
  readonly operation: 'publish' | 'subscribe' | 'receive' | 'connection' | 'listener';
  readonly error: unknown;
  /** For `publish`: the keys other processes will not hear of. */
  readonly keys?: readonly string[];
}

/** Called with each failure a bus reports. */
export type BusErrorListener = (event: BusErrorEvent) => void;

/**
 * Carries invalidated keys (never values) between processes, so that each process can drop them
 * from its in-process tiers. Keys are opaque strings; a bus never delivers a message to the
 * instance that published it.
 */
export interface Bus {
  /** Random per instance; travels with every message so a bus can ignore its own. */
  readonly id: string;
  /** Shown in error events. */
  readonly name: string;
  /** Whether the subscription is live now (false before the first `subscribe()`). */
  readonly connected: boolean;
  /** Queues keys for the other processes; never throws and never waits. Failures go to `error` listeners. */
  publish(keys: readonly string[]): void;
  /**
   * Starts listening (the first call opens the subscription); returns the function that stops.
   * A listener added while the bus is connected is not told so: it reads `connected`.
   */
  subscribe(listener: BusListener): () => void;
  /** Reports failures that `publish` and the subscription cannot throw. */
  on(type: 'error', listener: BusErrorListener): void;
  /** Removes a listener added with `on`. */
  off(type: 'error', listener: BusErrorListener): void;
  /** Closes what the bus opened and drops its subscribers (telling them `disconnected`); later calls reopen. */
  release(): Promise<void>;
}

/** A fresh random bus id: 16 bytes, base64url. */
export function newBusId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * What every bus shares: its id, its subscribers and its error listeners. A transport calls
 * `deliver` with the keys of each message from another instance and `setState` when its
 * subscription goes down or comes up; a callback that throws is reported, never propagated.
 */
export abstract class BaseBus implements Bus {
  readonly id: string = newBusId();
  readonly name: string;
  readonly #listeners = new Set<BusListener>();
  readonly #errorListeners: BusErrorListener[] = [];
  #state: BusState = 'disconnected';

  constructor(name: string) {
    this.name = name;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  abstract publish(keys: readonly string[]): void;
  abstract release(): Promise<void>;

  /** Opens the transport's subscription; called by the first `subscribe()` (and again after `release()`). */
  protected abstract listen(): void;

  subscribe(listener: BusListener): () => void {
    // Each call gets its own entry, so subscribing one object twice needs two unsubscribes.
    const entry: BusListener = { keys: (keys) => listener.keys(keys), state: (state) => listener.state(state) };
    this.#listeners.add(entry);
    if (this.#listeners.size === 1) this.listen();
    return () => {
      this.#listeners.delete(entry);
    };
  }

  on(type: 'error', listener: BusErrorListener): void {
    if (type === 'error') this.#errorListeners.push(listener);
  }

  off(type: 'error', listener: BusErrorListener): void {
    const i = this.#errorListeners.indexOf(listener);
    if (type === 'error' && i >= 0) this.#errorListeners.splice(i, 1);
  }

  /** Whether anyone subscribes: a transport with none need not hold a subscription open. */
  protected get subscribed(): boolean {
    return this.#listeners.size > 0;
  }

  /** Hands keys from another instance to every subscriber. */
  protected deliver(keys: readonly string[]): void {
    if (keys.length === 0) return;
    for (const listener of [...this.#listeners]) this.#call(() => listener.keys(keys));
  }

  /**
   * Records the subscription's state and tells subscribers. `connected` is passed on even when
   * already connected: it is how a transport says "you may have missed messages, resync".
   */
  protected setState(state: BusState): void {
    if (state === 'disconnected' && this.#state === 'disconnected') return;
    this.#state = state;
    for (const listener of [...this.#listeners]) this.#call(() => listener.state(state));
  }

  /** Tells subscribers `disconnected` (if they were connected) and forgets them; for `release()`. */
  protected dropSubscribers(): void {
    this.setState('disconnected');
    this.#listeners.clear();
  }

  /** Reports a failure to the `error` listeners; one that throws becomes a process warning. */
  protected report(operation: BusErrorEvent['operation'], error: unknown, keys?: readonly string[]): void {
    const event: BusErrorEvent = keys === undefined ? { type: 'error', bus: this.name, operation, error } : { type: 'error', bus: this.name, operation, error, keys };
    for (const listener of [...this.#errorListeners]) {
      try {
        listener(event);
      } catch (thrown) {
        process.emitWarning(`A stockpyle bus 'error' listener threw: ${String(thrown)}`, 'StockpyleWarning');
      }
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.report('listener', error);
    }
  }
}
