import { BaseCacheStore, TierUnavailableError, TimeoutError, type CacheStoreOptions, type RawSwap, type RawWrite } from '@stockpyle/core';
import type { Crashable, FakeClock, Gates } from './gates';

interface Entry {
  readonly raw: string;
  /** Epoch ms by the fake clock, 0 for none. */
  readonly expiresAt: number;
  /** memcached's CAS unique: changes on every write. */
  readonly cas: number;
}

/** What a client knows of the server when it sends a request. */
export interface Sent {
  readonly epoch: number;
  readonly crashed: boolean;
}

/**
 * The server side of a memcached or Redis shared by every process of a schedule: a map with the
 * semantics the stores rely on (add only where absent, expiry by the fake clock, compare-and-swap).
 * It can crash (losing everything, as memcached and a Redis without persistence do: requests in
 * flight or sent meanwhile fail) or be cut off (a partition, a stopped process: data kept, requests
 * time out for the client yet are applied when it comes back, in the order they were sent).
 */
export class FakeCacheServer implements Crashable {
  readonly #entries = new Map<string, Entry>();
  #cas = 0;
  #state: 'up' | 'crashed' | 'cut-off' = 'up';
  #epoch = 0;
  #deferred: (() => void)[] = [];
  /** The clients' connections, told when the server crashes (a real client sees its socket close). */
  readonly #connections = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly clock: FakeClock,
  ) {}

  /** Calls `onClose` whenever the server crashes, as a client's socket 'close' event would. */
  connect(onClose: () => void): void {
    this.#connections.add(onClose);
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  /** Called as a request is sent. */
  send(): Sent {
    return { epoch: this.#epoch, crashed: this.#state === 'crashed' };
  }

  /** Applies a request as it arrives, or fails it as the client would see it. */
  deliver<T>(sent: Sent, effect: () => T): T {
    if (sent.crashed || sent.epoch !== this.#epoch || this.#state === 'crashed') {
      throw new TierUnavailableError(`${this.name}: connection reset`);
    }
    if (this.#state === 'cut-off') {
      this.#deferred.push(effect);
      throw new TimeoutError(`${this.name} did not answer (it will apply the request when it is back)`);
    }
    return effect();
  }

  /** The live entry under `key`; an expired one is dropped, as the server would. */
  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt !== 0 && entry.expiresAt <= this.clock.now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, raw: string, expiresAt: number): void {
    if (expiresAt !== 0 && expiresAt <= this.clock.now) this.#entries.delete(key);
    else this.#entries.set(key, { raw, expiresAt, cas: ++this.#cas });
  }

  add(key: string, raw: string, expiresAt: number): boolean {
    if (this.get(key) !== undefined) return false;
    this.set(key, raw, expiresAt);
    return true;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  crash(): void {
    this.#state = 'crashed';
    this.#epoch++;
    this.#entries.clear();
    this.#deferred = [];
    for (const onClose of this.#connections) onClose();
  }

  cutOff(): void {
    if (this.#state === 'up') this.#state = 'cut-off';
  }

  restart(): void {
    const deferred = this.#state === 'cut-off' ? this.#deferred : [];
    this.#deferred = [];
    this.#state = 'up';
    for (const effect of deferred) effect();
  }
}

/** The client side: a cache tier whose every raw operation is released by the world's scheduler. */
abstract class ScheduledFakeStore extends BaseCacheStore<string> {
  constructor(
    readonly server: FakeCacheServer,
    protected readonly gates: Gates,
    options: CacheStoreOptions = {},
  ) {
    super(options);
    // As the real stores do on their client's connection events (RedisStore, MemcacheStore).
    server.connect(() => this.noteTrouble());
  }

  protected readRaw(keys: readonly string[], versions: unknown[]): Promise<readonly (string | undefined)[]> {
    return this.op('get', () =>
      keys.map((k, i) => {
        const entry = this.server.get(k);
        if (entry !== undefined && this.versioned) versions[i] = entry.cas;
        return entry?.raw;
      }),
    );
  }

  /** Whether reads return CAS uniques, as memcached's do. */
  protected get versioned(): boolean {
    return false;
  }

  protected writeRaw(writes: readonly RawWrite<string>[], mode: 'set' | 'add'): Promise<void> {
    return this.op(mode, () => {
      for (const w of writes) {
        if (mode === 'add') this.server.add(w.key, w.raw, w.expiresAt);
        else this.server.set(w.key, w.raw, w.expiresAt);
      }
    });
  }

  protected removeRaw(keys: readonly string[]): Promise<void> {
    return this.op('delete', () => keys.forEach((k) => this.server.delete(k)));
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  protected op<T>(what: string, effect: () => T): Promise<T> {
    const sent = this.server.send();
    return this.gates.step(`${this.name}.${what}`, () => this.server.deliver(sent, effect), this.server);
  }
}

/**
 * memcached: a swap is a `cas` with the unique the fill's read returned, or two round trips (`gets`,
 * then `cas`) for a commit replacing its own reservation.
 */
export class FakeMemcachedStore extends ScheduledFakeStore {
  protected override get versioned(): boolean {
    return true;
  }

  protected async swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]> {
    const unread = swaps.filter((w) => typeof w.version !== 'number');
    const seen = unread.length === 0 ? [] : await this.op('gets', () => unread.map((w) => this.server.get(w.key)));
    const uniques = new Map<RawSwap<string>, number>();
    unread.forEach((w, i) => {
      const before = seen[i];
      if (before !== undefined && before.raw === w.expected) uniques.set(w, before.cas);
    });
    return this.op('cas', () =>
      swaps.map((w) => {
        const cas = typeof w.version === 'number' ? w.version : uniques.get(w);
        if (cas === undefined || this.server.get(w.key)?.cas !== cas) return false;
        this.server.set(w.key, w.raw, w.expiresAt);
        return true;
      }),
    );
  }
}

/** Redis: a swap is one compare-and-set script per key, atomic on the server. */
export class FakeRedisStore extends ScheduledFakeStore {
  protected swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]> {
    return this.op('cas', () =>
      swaps.map((w) => {
        if (this.server.get(w.key)?.raw !== w.expected) return false;
        this.server.set(w.key, w.raw, w.expiresAt);
        return true;
      }),
    );
  }
}
