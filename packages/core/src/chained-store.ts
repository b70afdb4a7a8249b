import { randomUUID } from 'node:crypto';
import { BaseStore, type BaseStoreOptions, type StoreStats } from './base-store';
import type { Bus } from './bus';
import { ChainBus, checkMaxStale } from './chain-bus';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';
import { DEADLINE_SLICE, batchDeadline, inSlices } from './batches';
import { withDeadline } from './deadline';
import { ConfigurationError } from './errors';
import { graceMemoryOf, type GraceMemory } from './grace-memory';
import { KeyBuilder } from './keys';
import { getMetadata, metadataOf } from './metadata';
import { rootOf } from './keys';
import { isAdoptingStore, isCacheTier, isLocalTier, type CacheTier, type Observation, type Store, type TierLookup, type WriteTicket } from './store';
import type { Class, KeyQuery } from './types';

/** Options of `ChainedStore`. */
export interface ChainedStoreOptions extends BaseStoreOptions {
  /** When a failing cache tier is skipped and retried. */
  breaker?: CircuitBreakerOptions;
  /** Milliseconds a cache tier call may take before the chain goes on without it. @default 1000 */
  tierTimeout?: number;
  /** Serve `get`s issued in the same tick as one `batchGet` per tier, and share in-flight reads of one key. @default true */
  coalesce?: boolean;
  /** Objects remembered per cache tier for invalidation once a failed tier is back. @default 10_000 */
  maxPendingInvalidations?: number;
  /**
   * Milliseconds between background attempts to deliver invalidations a failed tier missed, so
   * that other processes stop reading what it still holds even when this chain gets no calls;
   * 0 leaves them to this chain's next call to the tier. @default the breaker's `resetAfter` (at least 50)
   */
  replayInterval?: number;
  /**
   * Keeps the in-process tiers coherent across processes (docs/ARCHITECTURE.md, "The bus"): the
   * keys of what this chain writes, deletes and invalidates are published; what other processes
   * publish is dropped here; on every (re)connection the in-process tiers are cleared.
   */
  bus?: Bus;
  /**
   * While the bus is down (and until it first connects), in-process tiers serve only entries
   * written less than this many ms ago; 0 serves none. Without `bus`, ignored. @default 1000
   */
  maxStaleWhileDisconnected?: number;
  /**
   * Stale-if-error, in seconds (0: off): when a store that is not a cache (the database) fails a
   * read, each object asked for may be answered with the last version this chain read of it below
   * its first tier, or wrote, if that was less than `grace` seconds ago. Such answers are reported
   * as `stale` events and never written to a tier; where one is missing the database's error is
   * thrown as without grace. Objects this chain deletes are forgotten at once; objects invalidated
   * or cleared (changed elsewhere) are not: serving them while the database is down is the point.
   * @default 0
   */
  grace?: number;
  /** Keys the grace memory keeps, each object under all of its keys (least recently seen out first). @default 10_000 */
  graceEntries?: number;
}

interface Tier {
  readonly store: Store;
  readonly cache: CacheTier | undefined;
  readonly breaker: CircuitBreaker;
  /** Objects whose invalidation failed on this tier: replayed in the background, and before it is used again. */
  pending: Set<object>;
  /**
   * Class hierarchies (by their root class) to clear on this tier before it is used again: a
   * `clear(Class)` it missed, or more missed invalidations of the class than `maxPendingInvalidations`.
   */
  pendingClears: Set<Class>;
  /** The next background replay of `pending`, when one is scheduled. */
  replayTimer: NodeJS.Timeout | undefined;
  /** The replay of what it missed in progress, which concurrent calls to it wait for. */
  replaying: Promise<void> | undefined;
}

/** Options of `ChainedStore.invalidate`. */
export interface InvalidateOptions {
  /** The objects are rows just inserted: only tiers that remember misses (`missLifetime`) need telling. @default false */
  created?: boolean;
}

/** One store of a chain, as `ChainedStore.stats()` reports it. */
export interface ChainTierStats {
  readonly store: string;
  /** Whether the chain calls it: `closed` yes, `open` no (it failed), `half-open` one trial call. Stores that are not caches: always `closed`. */
  readonly breaker: 'closed' | 'open' | 'half-open';
  /** Objects whose invalidation it missed, to be delivered before it is used again. */
  readonly pendingInvalidations: number;
  /** Classes to clear on it before it is used again. */
  readonly pendingClears: number;
  /** The store's own counts, when it keeps them. */
  readonly stats: StoreStats | undefined;
}

/** `ChainedStore.stats()`: the chain's own counts (its tiers' errors, stale answers) and each store's. */
export interface ChainStats extends StoreStats {
  readonly tiers: readonly ChainTierStats[];
}

/** A cache tier that missed some of a read's queries, and what its read saw there. */
interface Missed {
  readonly tier: Tier;
  readonly index: number;
  readonly observed: Observation;
}

/** Per query of a read: the answer, the tier that gave it (-1: none), and when that tier's read began. */
interface LoadState<T> {
  readonly results: (T | undefined)[];
  readonly servedBy: number[];
  readonly readAt: number[];
}

/** `LoadState.servedBy` of an answer from the grace memory (stale-if-error): no tier gave it. */
const GRACE = -2;

interface Waiter {
  readonly query: object;
  readonly id: string;
  resolve(value: object | undefined): void;
  reject(error: unknown): void;
}

/**
 * Stores stacked fastest-first as a write-through cache with pull-through reads. Cache tiers take
 * part in a tombstone protocol so that neither a late back-fill nor two racing writers can leave an
 * older version in any tier; a failing cache tier is skipped (circuit breaker) and reported, never
 * thrown; errors of the stores that are not caches (the database) reach the caller.
 */
export class ChainedStore extends BaseStore {
  readonly stores: readonly Store[];
  readonly #tiers: Tier[];
  /** The tiers that take part in the cache protocol, fastest first. */
  readonly #caches: Tier[];
  readonly #timeout: number;
  readonly #coalesce: boolean;
  readonly #maxPending: number;
  readonly #replayInterval: number;
  /** Set by `release()` until the next call: no background replay reopens released stores. */
  #released = false;
  /** Whether any store below the first takes part in adoption: if none, a first-tier hit allocates nothing. */
  readonly #adoptsBelowTop: boolean;
  /** The first tier, and its synchronous lookup when it has one: the hit path. */
  readonly #top: Tier;
  readonly #topPeek: CacheTier | undefined;
  readonly #ids = new KeyBuilder();
  readonly #queued = new Map<Class, Waiter[]>();
  readonly #inFlight = new Map<string, Promise<object | undefined>>();
  /** Writes of this chain in progress: while there are any, reads share nothing (see `#enqueue`). */
  #writing = 0;
  /**
   * Objects this chain is writing to its non-cache stores right now, by how many writes hold them.
   * An ORM subscriber reacting to that very flush calls `invalidate` with the same instances; the
   * chain's own protocol covers them. (A set, not AsyncLocalStorage: that would turn on promise
   * hooks for the whole process on Node 20 and slow every await.)
   */
  readonly #ownWrites = new Map<object, number>();
  #flushScheduled = false;
  /** The bus wiring, when the chain has a bus. */
  readonly #bus: ChainBus | undefined;
  /** Stale-if-error (option `grace`), when on. */
  readonly #grace: GraceMemory | undefined;
  /** First-tier hits of the synchronous path, counted apart so that it stays as cheap as it was (`stats()`). */
  #peekHits = 0;

  constructor(stores: readonly Store[], options: ChainedStoreOptions = {}) {
    super(options);
    if (!Array.isArray(stores) || stores.length === 0) {
      throw new ConfigurationError('ChainedStore needs at least one store, fastest first: new ChainedStore([memory, database])');
    }
    stores.forEach((s, i) => {
      if (s === null || typeof s !== 'object' || typeof s.batchGet !== 'function' || typeof s.batchPut !== 'function') {
        throw new ConfigurationError(`ChainedStore: stores[${i}] is not a store`);
      }
    });
    const { tierTimeout = 1000, coalesce = true, maxPendingInvalidations = 10_000 } = options;
    if (typeof tierTimeout !== 'number' || !(tierTimeout > 0)) throw new ConfigurationError('ChainedStore: tierTimeout must be a positive number of ms');
    const replayInterval = options.replayInterval ?? Math.max(50, options.breaker?.resetAfter ?? 1000);
    if (typeof replayInterval !== 'number' || !(replayInterval >= 0) || !Number.isFinite(replayInterval)) {
      throw new ConfigurationError('ChainedStore: replayInterval must be a number of ms, 0 to turn background replay off');
    }
    this.stores = Object.freeze([...stores]);
    this.#tiers = stores.map((store) => ({
      store,
      cache: isCacheTier(store) ? store : undefined,
      breaker: new CircuitBreaker(options.breaker),
      pending: new Set(),
      pendingClears: new Set(),
      replayTimer: undefined,
      replaying: undefined,
    }));
    this.#caches = this.#tiers.filter((t) => t.cache !== undefined);
    this.#timeout = tierTimeout;
    this.#coalesce = coalesce;
    this.#maxPending = maxPendingInvalidations;
    this.#replayInterval = replayInterval;
    this.#adoptsBelowTop = stores.slice(1).some(isAdoptingStore);
    this.#top = this.#tiers[0]!;
    this.#topPeek = this.#top.cache?.peek === undefined ? undefined : this.#top.cache;
    const maxStale = checkMaxStale(options.maxStaleWhileDisconnected);
    this.#grace = graceMemoryOf(options.grace, options.graceEntries);
    if (options.bus !== undefined) {
      const bus = options.bus;
      if (bus === null || typeof bus !== 'object' || typeof bus.publish !== 'function' || typeof bus.subscribe !== 'function') {
        throw new ConfigurationError('ChainedStore: bus must be a Bus (e.g. RedisBus from @stockpyle/redis)');
      }
      this.#bus = new ChainBus({
        bus,
        locals: stores.filter(isLocalTier),
        maxStaleWhileDisconnected: maxStale,
        name: this.name,
        ids: this.#ids,
        emit: (event) => this.emit(event),
        onRemoteChange: () => this.#inFlight.clear(),
      });
      this.#bus.start();
    }
  }

  override get<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<T | undefined> {
    try {
      const peeking = this.#topPeek;
      if (peeking !== undefined && this.#top.pending.size === 0 && this.#top.pendingClears.size === 0) {
        const hit = peeking.peek!(cls, query);
        if (hit !== undefined) {
          this.#peekHits++;
          return Promise.resolve(this.#adoptsBelowTop ? (this.#adopt([hit], 1)[0] as T) : hit);
        }
      }
      if (!this.#coalesce) return this.#load(cls, [query]).then((r) => r[0]);
      return this.#enqueue(cls, query) as Promise<T | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  override batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    // A large batch goes as slices, each read and filled well within a tombstone's lifetime.
    if (queries.length > DEADLINE_SLICE) return inSlices(queries, DEADLINE_SLICE, (slice) => this.#load(cls, slice));
    return this.#load(cls, queries);
  }

  /** Writes the most persistent store first, then each cache upward; see the class comment. */
  override async batchPut(objs: readonly object[]): Promise<void> {
    if (objs.length === 0) return;
    // A large batch goes as slices: each slice's reservations must outlive its database write and commit.
    if (objs.length > DEADLINE_SLICE) return void (await inSlices(objs, DEADLINE_SLICE, (slice) => this.batchPut(slice)));
    objs.forEach((o) => metadataOf(o));
    this.#startWrite();
    try {
      const token = randomUUID();
      const tickets = new Map<Tier, WriteTicket>();
      await Promise.all(
        this.#caches.map(async (tier) => {
          const ticket = { token, expiresAt: Date.now() + tier.cache!.tombstoneMs };
          if (await this.#guard(tier, 'reserve', objs, () => tier.cache!.reserve(objs, ticket))) tickets.set(tier, ticket);
        }),
      );
      // A tier above one that missed this write must not leave settled tombstones when it loses:
      // a fill may replace those with what the tier below still holds (docs/ARCHITECTURE.md).
      let failedBelow = false;
      for (let i = this.#tiers.length - 1; i >= 0; i--) {
        const tier = this.#tiers[i]!;
        if (tier.cache === undefined) {
          try {
            await this.#asOwnWrite(objs, () => this.#timed(tier, 'batchPut', () => tier.store.batchPut(objs)));
            this.#grace?.remember(objs);
          } catch (error) {
            this.#grace?.forget(objs);
            // The store may have written before failing (a lost reply), after a concurrent writer
            // replaced this write's reservations with its own, now older, value: tombstone again.
            await this.#tombstone(objs, 'delete');
            throw error;
          }
          continue;
        }
        const ticket = tickets.get(tier);
        if (ticket === undefined) {
          // Its reservation failed: the invalidation remembered then may have been replayed
          // before the database write, and another write of this chain may since have reserved
          // and be about to commit an older version there. Invalidated again from now on.
          this.#remember(tier, objs);
          failedBelow = true;
          continue;
        }
        const below = failedBelow;
        const committed = await this.#guard(tier, 'commit', objs, () => tier.cache!.commit(objs, ticket, below));
        if (!committed) failedBelow = true;
      }
    } finally {
      this.#writing--;
      // Also after a failed database call, which may have written: the shared tiers hold tombstones then.
      this.#bus?.publish(objs);
    }
  }

  /**
   * Removes from the stores that are not caches first, then leaves tombstones in every cache, also
   * when a store below failed: a database may fail after deleting (a lost reply), and caches that
   * still held the object, or a fill racing the delete, would then serve it on.
   */
  override async batchDelete(objs: readonly object[]): Promise<void> {
    if (objs.length === 0) return;
    if (objs.length > DEADLINE_SLICE) return void (await inSlices(objs, DEADLINE_SLICE, (slice) => this.batchDelete(slice)));
    objs.forEach((o) => metadataOf(o));
    this.#startWrite();
    this.#grace?.forget(objs);
    try {
      for (let i = this.#tiers.length - 1; i >= 0; i--) {
        const tier = this.#tiers[i]!;
        if (tier.cache === undefined) await this.#asOwnWrite(objs, () => this.#timed(tier, 'batchDelete', () => tier.store.batchDelete(objs)));
      }
    } finally {
      await this.#tombstone(objs, 'delete');
      this.#writing--;
      this.#bus?.publish(objs);
    }
  }

  /**
   * Leaves settled tombstones in every cache tier and touches no other store: how writes made
   * elsewhere (an ORM subscriber after a commit) reach the caches. Objects this chain is writing to
   * its other stores at that moment are skipped (the subscriber reacting to the chain's own flush),
   * as its own protocol covers them. With `{ created: true }` the objects are rows just inserted,
   * which no cache can hold: only tiers that remember misses are touched. A failing tier never
   * makes it throw: the failure is reported and the tier is invalidated again before it is trusted.
   */
  async invalidate(objs: readonly object[], options: InvalidateOptions = {}): Promise<void> {
    const todo = this.#ownWrites.size === 0 ? objs : objs.filter((o) => !this.#ownWrites.has(o));
    if (todo.length === 0) return;
    todo.forEach((o) => metadataOf(o));
    const tiers = options.created === true ? this.#caches.filter((t) => t.cache!.remembersMisses) : this.#caches;
    if (tiers.length === 0) {
      // No tier here remembers misses, but other processes' in-process tiers may.
      if (options.created === true) this.#bus?.publish(todo);
      return;
    }
    this.#startWrite();
    try {
      await this.#tombstone(todo, 'invalidate', tiers);
    } finally {
      this.#writing--;
      this.#bus?.publish(todo);
    }
  }

  /**
   * Makes every cached object of `cls`'s class hierarchy unreachable in every cache tier of this
   * chain, and (with a bus) in every other process's in-process tiers, without scanning keys: the
   * tool after writes the ORM does not see (`nativeUpdate`, query builders, raw SQL). Tiers are
   * cleared the lowest first, so no tier is filled from one below that still serves the old
   * generation; a failing tier is reported and cleared before it is trusted again, never thrown
   * (docs/ARCHITECTURE.md, "Clearing a class").
   */
  async clear(cls: Class): Promise<void> {
    const root = rootOf(getMetadata(cls)).cls;
    this.#startWrite();
    try {
      for (let i = this.#caches.length - 1; i >= 0; i--) {
        const tier = this.#caches[i]!;
        if (!(await this.#guard(tier, 'clear', [], () => tier.cache!.clear(root)))) {
          tier.pendingClears.add(root);
          this.#scheduleReplay(tier);
        }
      }
    } finally {
      this.#writing--;
      this.#bus?.publishClear(root);
    }
  }

  /**
   * Settled tombstones in every cache tier, the lowest first. A fill may replace a settled
   * tombstone with what it then read lower down, so a tier is settled only once every tier below
   * it has been; until then each tier above holds a reservation, written at once beside the lowest
   * tier's tombstone, so that no tier goes on serving the old version meanwhile. Above a tier whose
   * call failed (it may still hold the old version), the reservations stay (docs/ARCHITECTURE.md).
   */
  async #tombstone(objs: readonly object[], operation: string, tiers: readonly Tier[] = this.#caches): Promise<void> {
    if (tiers.length === 0) return;
    const lowest = tiers.length - 1;
    const first = await Promise.all(
      tiers.map((tier, i) => this.#guard(tier, operation, objs, () => (i === lowest ? tier.cache!.batchDelete(objs) : this.#block(tier, objs)))),
    );
    let failedBelow = !first[lowest];
    for (let i = lowest - 1; i >= 0; i--) {
      if (failedBelow || !first[i]) {
        failedBelow = true;
        continue;
      }
      const tier = tiers[i]!;
      if (!(await this.#guard(tier, operation, objs, () => tier.cache!.batchDelete(objs)))) failedBelow = true;
    }
  }

  /**
   * The chain's counts — `hits`: queries a cache tier answered (found, or remembered as absent);
   * `misses`: the others (the database's answers, grace answers, failures); counted, not emitted as
   * events — and, per store fastest first, its breaker, what it still owes and its own counts.
   */
  override stats(): ChainStats {
    const own = super.stats();
    const hits = own.hits + this.#peekHits;
    return {
      ...own,
      hits,
      hitRatio: hits + own.misses === 0 ? undefined : hits / (hits + own.misses),
      tiers: this.#tiers.map((tier) => ({
        store: tier.store.name,
        breaker: tier.cache === undefined ? 'closed' : tier.breaker.state,
        pendingInvalidations: tier.pending.size,
        pendingClears: tier.pendingClears.size,
        stats: tier.store.stats?.(),
      })),
    };
  }

  /**
   * Releases every store in the chain and stops background replays (invalidations still missed stay
   * remembered and are delivered at the next call to their tier).
   */
  async release(): Promise<void> {
    this.#released = true;
    this.#bus?.stop();
    for (const tier of this.#tiers) {
      clearTimeout(tier.replayTimer);
      tier.replayTimer = undefined;
    }
    await Promise.all(this.stores.map((s) => s.release()));
  }

  /** Asks each tier in turn for what is still missing, then fills the tiers above and adopts. */
  async #load<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], failures?: unknown[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    queries.forEach((q) => meta.shapeFor(q));
    const read: LoadState<T> = {
      results: new Array(queries.length).fill(undefined),
      servedBy: new Array(queries.length).fill(-1),
      readAt: new Array(queries.length).fill(0),
    };
    const missedIn: Missed[] = [];
    let missing = queries.map((_q, i) => i);
    const bottom = this.#tiers.length - 1;
    for (let t = 0; t <= bottom && missing.length > 0; t++) {
      const tier = this.#tiers[t]!;
      const asked = missing.map((i) => queries[i]!);
      const startedAt = Date.now();
      let lookup: TierLookup<T>;
      if (tier.cache === undefined) {
        try {
          lookup = { found: await this.#timed(tier, 'batchGet', () => tier.store.batchGet(cls, asked)), absent: undefined, observed: undefined as never };
        } catch (error) {
          if (this.#grace === undefined) throw error;
          this.#answerFromGrace(cls, queries, missing, read, error, failures);
          missing = [];
          break;
        }
      } else {
        const got = await this.#guarded(tier, 'batchGet', () => tier.cache!.lookup(cls, asked), asked.length);
        if (got === undefined) continue;
        lookup = got;
      }
      const still: number[] = [];
      missing.forEach((i, j) => {
        const obj = lookup.found[j];
        // A miss of the source of truth at the bottom, or one a cache tier remembers, is an answer too.
        const answered = obj !== undefined || lookup.absent?.[j] === true || (t === bottom && tier.cache === undefined);
        if (!answered) {
          still.push(i);
          return;
        }
        read.results[i] = obj;
        read.servedBy[i] = t;
        read.readAt[i] = startedAt;
      });
      if (tier.cache !== undefined && still.length > 0) missedIn.push({ tier, index: t, observed: lookup.observed });
      missing = still;
    }
    this.#countAnswers(read.servedBy);
    await this.#fill(cls, queries, missedIn, read);
    if (this.#grace !== undefined) this.#grace.remember(read.results.filter((_obj, i) => read.servedBy[i]! >= 0));
    return this.#adoptResults(read.results, read.servedBy);
  }

  #countAnswers(servedBy: readonly number[]): void {
    let hits = 0;
    for (const t of servedBy) if (t >= 0 && this.#tiers[t]!.cache !== undefined) hits++;
    // Counted only: the tiers report their own hit and miss events.
    if (hits > 0) this.counted('hit', hits);
    if (servedBy.length > hits) this.counted('miss', servedBy.length - hits);
  }

  /**
   * Stale-if-error: answers the queries the database failed from the grace memory. Without an
   * answer for each, the database's error stands: thrown, or with `failures` (coalesced gets)
   * recorded per query so that the others are still answered.
   */
  #answerFromGrace<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], missing: readonly number[], read: LoadState<T>, error: unknown, failures: unknown[] | undefined): void {
    const recalled = this.#grace!.recall(cls, missing.map((i) => queries[i]!));
    if (failures === undefined && recalled.some((r) => r === undefined)) throw error;
    let count = 0;
    let oldest = 0;
    missing.forEach((i, j) => {
      const answer = recalled[j];
      if (answer === undefined) {
        failures![i] = error;
        return;
      }
      read.results[i] = answer.obj as T;
      read.servedBy[i] = GRACE;
      count++;
      oldest = Math.max(oldest, answer.ageMs);
    });
    if (count > 0) this.emit({ type: 'stale', store: this.name, className: getMetadata(cls).name, count, ageMs: oldest, error });
  }

  /**
   * Writes what was found lower down into the cache tiers above that missed it, and what the tiers
   * below answered as absent as remembered misses; each conditional on what that tier's read saw.
   */
  async #fill<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], missedIn: readonly Missed[], read: LoadState<T>): Promise<void> {
    if (missedIn.length === 0) return;
    const { results, servedBy, readAt } = read;
    await Promise.all(
      missedIn.map(({ tier, index, observed }) => {
        const objs: object[] = [];
        const absent: KeyQuery<T>[] = [];
        let oldest = Infinity;
        let oldestAbsent = Infinity;
        results.forEach((obj, i) => {
          if (servedBy[i]! <= index) return;
          if (obj !== undefined) {
            objs.push(obj);
            oldest = Math.min(oldest, readAt[i]!);
          } else {
            absent.push(queries[i]!);
            oldestAbsent = Math.min(oldestAbsent, readAt[i]!);
          }
        });
        const cache = tier.cache!;
        return Promise.all([
          objs.length === 0 ? undefined : this.#sendFill(tier, objs, () => cache.fill(objs, oldest, observed)),
          absent.length === 0 ? undefined : this.#sendFill(tier, absent.map((q) => standIn(cls, q)), () => cache.fillAbsent(cls, absent, oldestAbsent, observed)),
        ]);
      }),
    );
  }

  /** A fill under the deadline and breaker; one that failed once sent is compensated (see `#compensate`). */
  async #sendFill(tier: Tier, objs: readonly object[], fill: () => Promise<void>): Promise<void> {
    let sent = false;
    const ok = await this.#guard(tier, 'fill', [], () => ((sent = true), fill()), objs.length);
    if (!ok && sent) this.#compensate(tier, objs);
  }

  #adoptResults<T extends object>(results: (T | undefined)[], servedBy: readonly number[]): (T | undefined)[] {
    const byTier = new Map<number, number[]>();
    results.forEach((obj, i) => {
      if (obj === undefined) return;
      // A grace answer goes through every adopting store (-1: as if from above the first tier).
      const t = servedBy[i] === GRACE ? -1 : servedBy[i]!;
      if (t >= 0 && this.#tiers[t]!.cache === undefined) return;
      const list = byTier.get(t) ?? [];
      list.push(i);
      byTier.set(t, list);
    });
    for (const [t, indexes] of byTier) {
      const adopted = this.#adopt(indexes.map((i) => results[i]!), t + 1);
      indexes.forEach((i, j) => (results[i] = adopted[j] as T));
    }
    return results;
  }

  /** Hands objects that came out of a cache tier to the adopt hooks of the stores below it. */
  #adopt(objs: object[], from: number): object[] {
    let out = objs;
    for (let t = from; t < this.#tiers.length; t++) {
      const store = this.#tiers[t]!.store;
      if (isAdoptingStore(store)) out = store.adopt(out);
    }
    return out;
  }

  #enqueue(cls: Class, query: object): Promise<object | undefined> {
    const meta = getMetadata(cls);
    const shape = meta.shapeFor(query);
    const id = this.#ids.build(meta, shape, query);
    if (id === undefined) return Promise.resolve(undefined);
    const shared = this.#writing === 0;
    const flying = shared ? this.#inFlight.get(id) : undefined;
    if (flying !== undefined) return flying;
    const promise = new Promise<object | undefined>((resolve, reject) => {
      const list = this.#queued.get(cls) ?? [];
      list.push({ query, id, resolve, reject });
      this.#queued.set(cls, list);
    });
    if (shared) {
      this.#inFlight.set(id, promise);
      const clear = (): void => {
        if (this.#inFlight.get(id) === promise) this.#inFlight.delete(id);
      };
      promise.then(clear, clear);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(() => this.#flush());
    }
    return promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const groups = [...this.#queued];
    this.#queued.clear();
    for (const [cls, waiters] of groups) {
      // With grace, each get fails or succeeds alone: one object without a grace answer fails only its own get.
      const failures: unknown[] | undefined = this.#grace === undefined ? undefined : new Array(waiters.length);
      this.#load(cls, waiters.map((w) => w.query), failures).then(
        (found) => waiters.forEach((w, i) => (failures !== undefined && i in failures ? w.reject(failures[i]) : w.resolve(found[i]))),
        (error: unknown) => waiters.forEach((w) => w.reject(error)),
      );
    }
  }

  /**
   * A read that began before a write's database commit may return the old version, which a read
   * that begins after that commit must not (another process may already have read the new one).
   * The commit's moment is unknown here, so no read joins another across the start of a write or
   * while one is in progress; and under any key, as a write can change key attributes whose old
   * values are unknown here.
   */
  async #asOwnWrite(objs: readonly object[], write: () => Promise<void>): Promise<void> {
    for (const o of objs) this.#ownWrites.set(o, (this.#ownWrites.get(o) ?? 0) + 1);
    try {
      await write();
    } finally {
      for (const o of objs) {
        const n = this.#ownWrites.get(o)! - 1;
        if (n === 0) this.#ownWrites.delete(o);
        else this.#ownWrites.set(o, n);
      }
    }
  }

  #startWrite(): void {
    this.#inFlight.clear();
    this.#writing++;
  }

  /** Runs a cache tier call under the deadline and breaker; false when it failed or was skipped. */
  async #guard(tier: Tier, operation: string, objs: readonly object[], call: () => Promise<void>, count = objs.length): Promise<boolean> {
    const ok = (await this.#guarded(tier, operation, async () => (await call(), true), count)) === true;
    if (!ok && operation !== 'fill') this.#remember(tier, objs);
    return ok;
  }

  /** `count`: the objects the call is about; a large batch gets a longer deadline (see batchDeadline). */
  async #guarded<R>(tier: Tier, operation: string, call: () => Promise<R>, count = 1): Promise<R | undefined> {
    if (this.#released) {
      this.#released = false;
      this.#bus?.start();
    }
    if (!tier.breaker.allow()) return undefined;
    // Timed only while someone listens (instrumentOpenTelemetry's histogram): a first-tier hit never gets here.
    const started = this.events.has('call') ? performance.now() : undefined;
    try {
      if (tier.pending.size > 0 || tier.pendingClears.size > 0) await this.#replay(tier);
      const result = await withDeadline(call(), batchDeadline(this.#timeout, count), `${tier.store.name}.${operation}`);
      if (started !== undefined) this.#called(tier, operation, started, true);
      if (tier.breaker.succeed()) this.emit({ type: 'circuit', store: tier.store.name, state: 'closed' });
      return result;
    } catch (error) {
      if (started !== undefined) this.#called(tier, operation, started, false);
      this.emit({ type: 'error', store: tier.store.name, operation, error });
      if (tier.breaker.fail()) this.emit({ type: 'circuit', store: tier.store.name, state: 'open' });
      return undefined;
    }
  }

  #called(tier: Tier, operation: string, started: number, ok: boolean): void {
    this.notify({ type: 'call', store: tier.store.name, operation, ms: performance.now() - started, ok });
  }

  /** A call to a store that is not a cache (the database), timed while someone listens to `call`. */
  async #timed<R>(tier: Tier, operation: string, call: () => Promise<R>): Promise<R> {
    if (!this.events.has('call')) return call();
    const started = performance.now();
    try {
      const result = await call();
      this.#called(tier, operation, started, true);
      return result;
    } catch (error) {
      this.#called(tier, operation, started, false);
      throw error;
    }
  }

  /**
   * Delivers a failed tier's missed invalidations in the background, once the breaker lets a call
   * through, and again after each failure while any remain: until then other processes may read
   * what the tier still holds. A timer that never keeps the process alive.
   */
  #scheduleReplay(tier: Tier): void {
    if (this.#replayInterval === 0 || tier.replayTimer !== undefined || this.#released) return;
    tier.replayTimer = setTimeout(() => {
      tier.replayTimer = undefined;
      if ((tier.pending.size === 0 && tier.pendingClears.size === 0) || this.#released) return;
      // #guarded replays what is pending before its call; a failure remembers it and reschedules.
      void this.#guarded(tier, 'invalidate', () => Promise.resolve(true)).then((ok) => {
        if (ok === undefined && (tier.pending.size > 0 || tier.pendingClears.size > 0)) this.#scheduleReplay(tier);
      });
    }, this.#replayInterval);
    tier.replayTimer.unref?.();
  }

  /** A tier that missed writes may hold old versions: invalidate them before trusting it again. */
  /**
   * One replay at a time per tier: calls that find one in progress wait for it, then replay what
   * is still owed themselves. Concurrent replays would clear a class twice (two generations: the
   * fills made under the first become unreachable) and reserve the same objects twice.
   */
  async #replay(tier: Tier): Promise<void> {
    while (tier.replaying !== undefined) await tier.replaying.catch(() => undefined);
    if (tier.pending.size === 0 && tier.pendingClears.size === 0) return;
    const run = this.#replayOwed(tier);
    tier.replaying = run;
    try {
      await run;
    } finally {
      if (tier.replaying === run) tier.replaying = undefined;
    }
  }

  async #replayOwed(tier: Tier): Promise<void> {
    // Only what was owed before the clears went out: an object remembered meanwhile (a write's
    // database call ended during the clear) may postdate the new generation and keeps its own.
    const owedBefore = [...tier.pending];
    const cleared = new Set<Class>();
    for (const cls of [...tier.pendingClears]) {
      await withDeadline(tier.cache!.clear(cls), this.#timeout, `${tier.store.name}.clear`);
      tier.pendingClears.delete(cls);
      cleared.add(cls);
    }
    // What a clear covered needs no invalidation of its own (a reservation would only block its refill).
    if (cleared.size > 0) for (const o of owedBefore) if (cleared.has(rootOf(metadataOf(o)).cls)) tier.pending.delete(o);
    const objs = [...tier.pending];
    if (objs.length === 0) return;
    await withDeadline(this.#block(tier, objs), batchDeadline(this.#timeout, objs.length), `${tier.store.name}.reserve`);
    for (const o of objs) tier.pending.delete(o);
  }

  /**
   * A fill that failed once sent may still be applied: a frozen server runs what it had buffered
   * when it resumes, maybe after the tombstones that should have stopped it expired. So its objects
   * are invalidated at once, past the breaker (nobody waits for it; on a frozen server the two
   * requests are buffered together), and again before the tier is trusted.
   */
  #compensate(tier: Tier, objs: readonly object[]): void {
    this.#remember(tier, objs);
    withDeadline(this.#block(tier, objs), batchDeadline(this.#timeout, objs.length), `${tier.store.name}.reserve`).catch(() => undefined);
  }

  /**
   * Reservations that nobody commits: they block every fill until they expire. What a failed call
   * may have left is dropped this way rather than with settled tombstones, which a fill may replace
   * while a write of this chain is still in flight on the same keys.
   */
  #block(tier: Tier, objs: readonly object[]): Promise<void> {
    const cache = tier.cache!;
    return cache.reserve(objs, { token: randomUUID(), expiresAt: Date.now() + cache.tombstoneMs });
  }

  /**
   * Remembers objects whose invalidation a tier missed; past `maxPendingInvalidations`, their class
   * is cleared on that tier instead, before it is trusted again.
   */
  #remember(tier: Tier, objs: readonly object[]): void {
    this.#scheduleReplay(tier);
    for (const o of objs) {
      if (tier.pending.has(o)) continue;
      if (tier.pending.size < this.#maxPending) {
        tier.pending.add(o);
        continue;
      }
      const root = rootOf(metadataOf(o)).cls;
      if (tier.pendingClears.has(root)) continue;
      tier.pendingClears.add(root);
      this.emit({
        type: 'error',
        store: tier.store.name,
        operation: 'invalidate',
        error: new ConfigurationError(`more than ${this.#maxPending} invalidations missed while ${tier.store.name} failed; ${root.name} will be cleared there before it is used again`),
      });
    }
  }
}

/**
 * An instance of `cls` holding only the attributes of `query`, defined without running setters:
 * it stands for the object a remembered miss was about, so that the miss can be invalidated.
 */
function standIn(cls: Class, query: object): object {
  const out = Object.create(cls.prototype as object) as object;
  for (const [attr, value] of Object.entries(query)) Object.defineProperty(out, attr, { value, enumerable: true, writable: true, configurable: true });
  return out;
}
