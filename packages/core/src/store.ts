import type { StoreStats } from './base-store';
import type { StoreEventListener, StoreEventType } from './events';
import type { Class, KeyQuery } from './types';

/** The seven operations every store offers. All are async; none mutates the objects given. */
export interface Store {
  /** A name for events and errors. */
  readonly name: string;
  /** Stores the object under each of its declared keys. */
  put(obj: object): Promise<void>;
  /** The object whose declared key matches `query`, or `undefined`. */
  get<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<T | undefined>;
  /** Removes the object from under each of its keys. */
  delete(obj: object): Promise<void>;
  batchPut(objs: readonly object[]): Promise<void>;
  /** One result per query, in the asked order, `undefined` where nothing matched. */
  batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]>;
  batchDelete(objs: readonly object[]): Promise<void>;
  /** Closes what the store opened; a later call reopens lazily. */
  release(): Promise<void>;
  /** Listens to what the store reports (hits, misses, fills, skips, errors). */
  on<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this;
  off<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this;
  /** Counts since the store was created (every `BaseStore` has them). */
  stats?(): StoreStats;
}

/** A write in progress through a chain: its tombstones carry `token` and expire at `expiresAt`. */
export interface WriteTicket {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * What a cache tier's read saw where it missed, kept for the fill that follows a read lower down:
 * the fill may replace exactly what was seen (docs/ARCHITECTURE.md, "The fill protocol"). Opaque;
 * only the tier that made it reads it.
 */
export interface Observation {
  readonly observedBy: CacheTier;
}

/** A cache tier's answer to a batch read, with what it saw for the fills. */
export interface TierLookup<T> {
  /** One per query, in the asked order: the object, or `undefined`. */
  readonly found: (T | undefined)[];
  /** Where `true`, the tier remembers that the database had nothing for that query (`missLifetime`). */
  readonly absent: readonly boolean[] | undefined;
  readonly observed: Observation;
}

/**
 * A store a `ChainedStore` may put above the source of truth. Besides the plain operations it takes
 * part in the chain's consistency protocol (docs/ARCHITECTURE.md, invariants 1–2):
 * - a write-through first `reserve`s every anchor with a reservation carrying the write's token,
 *   then, once the store below has the write, `commit`s: values replace only its own reservations,
 *   and an anchor that only the write made known (a serial id) is written where it holds nothing;
 * - `delete` leaves settled tombstones; a `fill` (pull-through write-back) replaces exactly what
 *   the read before it saw at the anchor — nothing, a settled tombstone, a remembered miss — and
 *   never a reservation or anything written since, so a late fill never resurrects an older version.
 */
export interface CacheTier extends Store {
  readonly isCache: true;
  /** How long tombstones live, in milliseconds; a fill whose read is older than half of this is dropped. */
  readonly tombstoneMs: number;
  /** Whether the tier may remember that the database had no object for a key (`missLifetime`). */
  readonly remembersMisses: boolean;
  reserve(objs: readonly object[], ticket: WriteTicket): Promise<void>;
  /**
   * Phase 2 of a write-through. `failedBelow`: a tier below missed this write, so where this one
   * lost to another write it leaves a reservation rather than a settled tombstone.
   */
  commit(objs: readonly object[], ticket: WriteTicket, failedBelow?: boolean): Promise<void>;
  /** `batchGet`, plus what the read saw, for `fill` and `fillAbsent`. */
  lookup<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<TierLookup<T>>;
  /**
   * Conditional write-back of objects read lower down, by a read that started at `readStartedAt`
   * (epoch ms) after this tier's `lookup` saw `observed`. Without `observed`, writes only where a
   * key holds nothing.
   */
  fill(objs: readonly object[], readStartedAt: number, observed?: Observation): Promise<void>;
  /** Remembers that the database had nothing for `queries` (a no-op without `missLifetime`); conditional as `fill`. */
  fillAbsent<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], readStartedAt: number, observed?: Observation): Promise<void>;
  /**
   * A synchronous lookup for in-process tiers, so a chain's first-tier hit costs no promise chain.
   * Returns `undefined` on a miss. Optional.
   */
  peek?<T extends object>(cls: Class<T>, query: KeyQuery<T>): T | undefined;
  /**
   * Makes every object of `cls`'s class hierarchy this tier holds unreachable at once (a new class
   * generation; docs/ARCHITECTURE.md, "Clearing a class"). A fill or commit of a read or write
   * that began before never becomes reachable.
   */
  clear(cls: Class): Promise<void>;
}

/**
 * A cache tier inside one process (process memory, an async context): other processes cannot
 * reach it, so a chain with a `Bus` drops there what other processes changed, and clears it when
 * it may have missed messages (docs/ARCHITECTURE.md, "The bus").
 */
export interface LocalTier extends CacheTier {
  readonly local: true;
  /**
   * Drops objects by keys from `KeyBuilder.relativeKeysOf` joined by spaces (anchor first): a
   * settled tombstone at the anchor, pointers to it at the other keys; a reservation where a write
   * of this process is in flight on the anchor.
   */
  settleKeys(busKeys: readonly string[]): void;
  /** With a class, as every tier; without one, drops every entry, and refuses fills of reads that began before. Takes effect at once. */
  clear(cls?: Class): Promise<void>;
  /** Serve only entries written less than `ms` ago (`undefined`: any age); 0 serves none. */
  limitAge(ms: number | undefined): void;
}

/** True for a cache tier that lives in this process. */
export function isLocalTier(store: Store): store is LocalTier {
  return isCacheTier(store) && (store as Partial<LocalTier>).local === true;
}

/** A source-of-truth store (the database) may attach objects that came out of a cache tier. */
export interface AdoptingStore extends Store {
  /** Returns the objects to hand to the caller (e.g. the same entities, now managed). */
  adopt(objs: readonly object[]): object[];
}

/** True for a store that takes part in the chain's cache protocol. */
export function isCacheTier(store: Store): store is CacheTier {
  return (store as Partial<CacheTier>).isCache === true;
}

/** True for a store with an adopt hook. */
export function isAdoptingStore(store: Store): store is AdoptingStore {
  return typeof (store as Partial<AdoptingStore>).adopt === 'function';
}
