import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BaseStore, type BaseStoreOptions } from './base-store';
import { DEFAULT_MAX_PAYLOAD_BYTES, decodeRecord, encodeRecord, isDecodeFailure, type DecodeFailure } from './codec';
import { ConfigurationError } from './errors';
import { KeyBuilder, rootOf } from './keys';
import { NEVER, checkLifetimeOption, expiryOf, isExpired } from './lifetime';
import { ReadObservation, SKIP, conditionOf, swapOf, type ClassGeneration, type FillCondition, type RawRead } from './fill-condition';
import { getMetadata, metadataOf, type ClassMetadata, type KeyShape } from './metadata';
import { heldUntil, type CacheRecord, type MissRecord, type PointerRecord, type TombRecord, type ValueRecord } from './record';
import type { CacheTier, Observation, TierLookup, WriteTicket } from './store';
import type { Class, KeyQuery, LifetimeFn } from './types';

/** Options of every caching store (process memory, async context, dictionaries, memcached, Redis). */
export interface CacheStoreOptions extends BaseStoreOptions {
  /** Also index instances under each decorated base class's keys, so `get(Base, …)` finds them. @default false */
  polymorphic?: boolean;
  /** Each object's lifetime; `undefined` from the callback means "until evicted". @default no expiry */
  lifetime?: LifetimeFn;
  /** Put between `stockpyle:1:` and the class name in every key, to share a backend between apps. */
  prefix?: string;
  /**
   * Seconds a tombstone blocks fills of reads older than itself (docs/ARCHITECTURE.md, invariant 2);
   * a fill whose database read is older than half of this is dropped. @default 5
   */
  tombstoneLifetime?: number;
  /**
   * Remember for this many seconds that the database had no object for a key, so reads of ids that
   * do not exist stop reaching it; a function of the class may return `undefined` for "do not".
   * Every write through a chain, and `StockpyleSubscriber` after a commit, clears it. @default off
   */
  missLifetime?: number | ((cls: Class) => number | undefined);
  /**
   * After an invalidation, the first reader that finds the settled tombstone marks it as being
   * filled (a lease, swapped over the tombstone); readers in other processes that find the lease
   * wait `wait` ms and read this tier again before going to the database. For a shared remote
   * tier. `lifetime` (ms) bounds how long a lease holds others back. @default off ({ lifetime: 200, wait: 20 } when `true`)
   */
  fillLease?: boolean | { readonly lifetime?: number; readonly wait?: number };
}

/** One write of a raw value to a backend key; `expiresAt` is epoch ms or 0 for none. */
export interface RawWrite<R> {
  readonly key: string;
  readonly raw: R;
  readonly expiresAt: number;
}

/** A write that replaces exactly `expected` (and, where the backend has versions, the entry of that `version`). */
export interface RawSwap<R> extends RawWrite<R> {
  readonly expected: R;
  readonly version?: unknown;
}

interface Entry<R> {
  readonly value: RawWrite<R>;
  readonly pointers: readonly RawWrite<R>[];
}

/** Shared by every entry without pointers; never written to. */
const NO_WRITES: readonly RawWrite<never>[] = Object.freeze([]);

interface Located {
  readonly meta: ClassMetadata;
  readonly shape: KeyShape;
  readonly key: string | undefined;
}

/** A class generation as this tier knows it: `at` is when it was set here or read from the backend (epoch ms). */
interface KnownGeneration {
  readonly value: string | undefined;
  readonly at: number;
}

/** A reservation: each object's anchor, and the class generations its commit writes under. */
interface Reservation {
  readonly anchors: readonly (string | undefined)[];
  readonly gens: ReadonlyMap<string, string | undefined>;
}

/** Milliseconds a remote tier's generation read by a lookup serves later writes without reading it again. */
const GENERATION_REUSE_MS = 1000;
/** What a remote tier's generation key holds: `g:` and a random id. */
const GENERATION_PREFIX = 'g:';

/** Conditional writes of a fill, sorted by how they are sent. */
interface FillWrites<R> {
  readonly adds: RawWrite<R>[];
  readonly swaps: RawSwap<R>[];
}

/**
 * Does all the object-level work of a cache tier — keys, lifetimes, polymorphism, tombstones,
 * decoding, the chain protocol — on top of four batch operations on raw backend keys.
 *
 * Layout: an object's value lives under its anchor (its first declared key with no null values);
 * every other key holds a pointer to the anchor, checked against the value on read. So only
 * anchors need the tombstone protocol, and no alternate key can ever serve an outdated object.
 * `R` is what the backend holds: an encoded envelope (string) out of process, a record in process.
 */
export abstract class BaseCacheStore<R = string> extends BaseStore implements CacheTier {
  readonly isCache = true as const;
  readonly tombstoneMs: number;
  readonly remembersMisses: boolean;
  protected readonly polymorphic: boolean;
  protected readonly lifetime: LifetimeFn | undefined;
  protected readonly keys: KeyBuilder;
  readonly #missLifetime: CacheStoreOptions['missLifetime'];
  readonly #lease: { readonly lifetime: number; readonly wait: number } | undefined;
  /** Each reservation's anchors, by ticket: a commit writes where the anchor moved (a serial id) differently. */
  readonly #reserved = new WeakMap<WriteTicket, Reservation>();
  /**
   * Where the generations of class hierarchies live (`clear(Class)`): in the backend, under
   * `KeyBuilder.generationKey`, for tiers other processes share; only here for in-process tiers.
   */
  protected readonly generationsInBackend: boolean = true;
  /** The generation of each class hierarchy (by its root's name) as last set or read here. */
  readonly #gens = new Map<string, KnownGeneration>();
  /** Whether `clear(Class)` ever ran here: until then an in-process tier checks no generations. */
  protected classCleared = false;
  /** When the connection to the backend last broke (`noteTrouble`). */
  #troubleAt = -Infinity;

  constructor(options: CacheStoreOptions = {}) {
    super(options);
    if (options.polymorphic !== undefined && typeof options.polymorphic !== 'boolean') {
      throw new ConfigurationError(`${this.name}: polymorphic must be a boolean`);
    }
    const tomb = options.tombstoneLifetime ?? 5;
    if (typeof tomb !== 'number' || !(tomb > 0) || !Number.isFinite(tomb)) {
      throw new ConfigurationError(`${this.name}: tombstoneLifetime must be a positive number of seconds`);
    }
    const miss = options.missLifetime;
    if (miss !== undefined && typeof miss !== 'function' && !isSeconds(miss)) {
      throw new ConfigurationError(`${this.name}: missLifetime must be a positive number of seconds, or a function of the class returning one`);
    }
    this.polymorphic = options.polymorphic ?? false;
    this.lifetime = checkLifetimeOption(options.lifetime);
    this.keys = new KeyBuilder(options.prefix);
    this.tombstoneMs = Math.ceil(tomb * 1000);
    this.#missLifetime = miss;
    this.remembersMisses = miss !== undefined;
    this.#lease = leaseOption(this.name, options.fillLease);
  }

  /**
   * Reads raw values; `undefined` where the backend has nothing. A backend whose entries carry a
   * version (memcached's CAS unique) puts each into `versions` at its key's index, so that a fill
   * can compare-and-swap without reading again.
   */
  protected abstract readRaw(keys: readonly string[], versions: unknown[]): Promise<readonly (R | undefined)[]>;
  /** `set` overwrites; `add` writes only where the key is absent (any unexpired entry counts as present). */
  protected abstract writeRaw(writes: readonly RawWrite<R>[], mode: 'set' | 'add'): Promise<void>;
  /**
   * Replaces each key's entry only if it is still exactly `expected` (byte for byte, or the same
   * record in process; with `version`, the entry of that version); one result per swap.
   */
  protected abstract swapRaw(swaps: readonly RawSwap<R>[]): Promise<readonly boolean[]>;
  protected abstract removeRaw(keys: readonly string[]): Promise<void>;

  /**
   * A fill's `add`s of what a chain read lower down at `readStartedAt`. A tier that can lose a
   * tombstone before it expires (an LRU evicting it) overrides this to refuse what may be older.
   * `generation` is what `readGeneration()` said when this tier's own read began (`undefined`
   * where the fill follows no read of this tier).
   */
  protected fillRaw(writes: readonly RawWrite<R>[], _readStartedAt: number, _generation: number | undefined): Promise<void> {
    return this.writeRaw(writes, 'add');
  }

  /** A count a tier moves on when it drops everything at once; noted by each read (`ReadObservation`). */
  protected readGeneration(): number {
    return 0;
  }

  /** Whether a value or miss is too old to serve now (a chain bounds in-process tiers while its bus is down). */
  protected tooOld(_record: CacheRecord, _now: number): boolean {
    return false;
  }

  /**
   * Whether this tier's tombstones can be trusted for a fill whose read started at `readStartedAt`:
   * not when the connection broke within a tombstone's lifetime before the read began, or since.
   * A restart may have emptied the tombstones (and reservations) that would block an outdated
   * fill, which would then `add` where the server now holds nothing (docs/ARCHITECTURE.md, "Fills
   * after a restart").
   */
  protected trustsTombstones(readStartedAt: number): boolean {
    return this.#troubleAt <= readStartedAt - this.tombstoneMs;
  }

  /**
   * Records that the connection to the backend broke (closed, reset) now: a store calls it from
   * its client's connection events; fills are then refused as `trustsTombstones` says.
   */
  protected noteTrouble(): void {
    this.#troubleAt = Math.max(this.#troubleAt, Date.now());
  }

  /** Out-of-process tiers keep the codec's envelope; in-process tiers override both to keep records. */
  protected encode(record: CacheRecord): R {
    return encodeRecord(record) as R;
  }

  protected decode(raw: R): CacheRecord | DecodeFailure {
    return decodeRecord(raw as unknown as string);
  }

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    return (await this.lookup(cls, queries)).found;
  }

  async lookup<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<TierLookup<T>> {
    const meta = getMetadata(cls);
    const located = queries.map((q) => this.#locate(meta, q));
    const results: (T | undefined)[] = new Array(queries.length).fill(undefined);
    const observed = new ReadObservation<R>(this, this.readGeneration());
    const wanted = unique(located.map((l) => l.key));
    if (wanted.length === 0) {
      this.#count(meta, 0, queries.length);
      return { found: results, absent: undefined, observed };
    }
    const now = Date.now();
    const stale: string[] = [];
    // Wave 1: the keys asked for (and the class's generation). Wave 2: the anchors that pointers lead to, not already read.
    const genRead: { raw?: R } = {};
    const found = await this.#read(wanted, now, stale, this.generationsInBackend ? { key: this.keys.generationKey(meta), out: genRead } : undefined);
    const seen = this.#generationSeen(meta, genRead.raw);
    const gen = seen instanceof Promise ? await seen : seen;
    observed.classGen = gen;
    const anchors = unique([...found.values()].map((r) => (r.record?.kind === 'ptr' && !found.has(r.record.key) ? r.record.key : undefined)));
    if (anchors.length > 0) for (const [k, r] of await this.#read(anchors, now, stale)) found.set(k, r);
    if (stale.length > 0) await this.removeRaw(stale);
    let hits = 0;
    let absent: boolean[] | undefined;
    const leased: { index: number; anchor: string; shape: KeyShape }[] = [];
    located.forEach((l, i) => {
      if (l.key === undefined) return;
      const read = found.get(l.key);
      let record = read?.record;
      let anchor = l.key;
      if (record?.kind === 'ptr') {
        observed.note(l.key, read, SKIP);
        anchor = record.key;
        record = found.get(anchor)?.record;
      }
      // An entry of another class generation was cleared (`clear(Class)`): replaced like one too old.
      const fresh = record === undefined || (!this.tooOld(record, now) && !isCleared(record, gen.value));
      if (fresh && record?.kind === 'value' && isLive(record, now) && record.obj instanceof cls && matchesQuery(record.obj, l.shape, queries[i]!)) {
        results[i] = record.obj as T;
        hits++;
      } else if (fresh && record?.kind === 'miss' && anchor === l.key && isLive(record, now)) {
        (absent ??= new Array<boolean>(queries.length).fill(false))[i] = true;
        hits++;
      } else {
        const at = found.get(anchor);
        // An entry too old to serve is replaced like a settled tombstone: whatever a write or a
        // message puts there instead makes the swap fail (docs/ARCHITECTURE.md, "The bus").
        observed.note(anchor, at, !fresh && at !== undefined && at.record === record && (record?.kind === 'value' || record?.kind === 'miss') ? swapOf(at) : conditionOf(at, now));
        if (this.#lease !== undefined && at?.record?.kind === 'tomb' && at.record.settled === true && !isExpired(at.record.expiresAt, now)) {
          leased.push({ index: i, anchor, shape: l.shape });
        }
      }
    });
    if (leased.length > 0) hits += await this.#leaseOrWait(cls, queries, leased, found, observed, results, gen.value);
    this.#count(meta, hits, queries.length - hits);
    return { found: results, absent, observed };
  }

  /**
   * `fillLease`: takes a lease on each settled tombstone nobody is filling (this read's fill then
   * replaces its own lease), and waits once for the ones another reader is filling, reading them
   * again. A lease is itself a settled tombstone: whoever sees it may fill over it. Returns the hits
   * the second read found.
   */
  async #leaseOrWait<T extends object>(
    cls: Class<T>,
    queries: readonly KeyQuery<T>[],
    leased: readonly { index: number; anchor: string; shape: KeyShape }[],
    found: ReadonlyMap<string, RawRead<R>>,
    observed: ReadObservation<R>,
    results: (T | undefined)[],
    gen: string | undefined,
  ): Promise<number> {
    const lease = this.#lease!;
    const now = Date.now();
    const take = new Map<string, TombRecord>();
    const wait = new Set<string>();
    for (const { anchor } of leased) {
      const tomb = found.get(anchor)!.record as TombRecord;
      if (tomb.leaseUntil !== undefined && tomb.leaseUntil > now) wait.add(anchor);
      else take.set(anchor, { kind: 'tomb', token: randomUUID(), expiresAt: tomb.expiresAt, settled: true, leaseUntil: now + lease.lifetime });
    }
    if (take.size > 0) {
      const swaps = [...take].map(([key, record]) => ({ key, raw: this.encode(record), expiresAt: record.expiresAt, expected: found.get(key)!.raw as R, version: found.get(key)!.version }));
      const taken = await this.swapRaw(swaps);
      swaps.forEach((w, j) => {
        if (taken[j] === true) observed.note(w.key, { record: take.get(w.key), raw: w.raw, version: undefined }, { mode: 'swap', expected: w.raw, version: undefined });
        else wait.add(w.key); // another reader took it first
      });
    }
    if (wait.size === 0) return 0;
    await sleep(lease.wait);
    const keys = [...wait];
    const again = await this.#read(keys, Date.now(), []);
    let hits = 0;
    const at = Date.now();
    for (const { index, anchor, shape } of leased) {
      if (!wait.has(anchor)) continue;
      const read = again.get(anchor);
      const record = read?.record;
      if (record?.kind === 'value' && isLive(record, at) && !isCleared(record, gen) && record.obj instanceof cls && matchesQuery(record.obj, shape, queries[index]!)) {
        results[index] = record.obj as T;
        hits++;
      } else {
        observed.note(anchor, read, read !== undefined && record !== undefined && isCleared(record, gen) ? swapOf(read) : conditionOf(read, at));
      }
    }
    return hits;
  }

  /**
   * Makes every object of `cls`'s class hierarchy (from its topmost decorated class down) that this
   * tier holds unreachable at once, without scanning keys: the hierarchy gets a new generation,
   * and entries of any other generation read as cleared (docs/ARCHITECTURE.md, "Clearing a class").
   * A remote tier keeps the generation in the backend, so every process sees the clear on its next
   * read. Old entries stay until read again or their lifetime ends.
   */
  async clear(cls: Class): Promise<void> {
    const root = rootOf(getMetadata(cls));
    const value = `${GENERATION_PREFIX}${randomUUID()}`;
    if (this.generationsInBackend) await this.writeRaw([{ key: this.keys.generationKey(root), raw: value as R, expiresAt: NEVER }], 'set');
    this.#gens.set(root.name, { value, at: Date.now() });
    this.classCleared = true;
  }

  /** In-process tiers: the generation entries of `meta`'s hierarchy must carry to be served. */
  protected localGeneration(meta: ClassMetadata): string | undefined {
    return this.#gens.get(rootOf(meta).name)?.value;
  }

  /**
   * The generation a lookup saw: in process, the one kept here; in a remote tier, what the backend
   * holds under the generation key, created where it holds nothing (never used, or evicted: a new
   * one, as entries of an evicted generation cannot be told from those of an older one).
   */
  #generationSeen(meta: ClassMetadata, raw: R | undefined): ClassGeneration | Promise<ClassGeneration> {
    const root = rootOf(meta);
    if (!this.generationsInBackend) return { root: root.name, value: this.#gens.get(root.name)?.value };
    if (isGeneration(raw)) return this.#learn(root, raw);
    return this.#createGeneration(root).then((value) => this.#learn(root, value));
  }

  #learn(root: ClassMetadata, value: string): ClassGeneration {
    this.#gens.set(root.name, { value, at: Date.now() });
    return { root: root.name, value };
  }

  async #createGeneration(root: ClassMetadata): Promise<string> {
    const key = this.keys.generationKey(root);
    const mine = `${GENERATION_PREFIX}${randomUUID()}`;
    await this.writeRaw([{ key, raw: mine as R, expiresAt: NEVER }], 'add');
    const [now] = await this.readRaw([key], []);
    if (isGeneration(now)) return now;
    // Something that is no generation (written by hand): replace it.
    await this.writeRaw([{ key, raw: mine as R, expiresAt: NEVER }], 'set');
    return mine;
  }

  /**
   * The generations writes of `objs` (a put, a reservation) stamp: those known here, read again
   * from a remote backend when older than a second. Any generation known before a database write
   * is safe for it: a clear after that write changes the generation, and the entry is unreachable.
   */
  #currentGenerations(objs: readonly object[]): Map<string, string | undefined> | Promise<Map<string, string | undefined>> {
    const gens = new Map<string, string | undefined>();
    const stale: ClassMetadata[] = [];
    const now = Date.now();
    for (const obj of objs) {
      const root = rootOf(metadataOf(obj));
      if (gens.has(root.name)) continue;
      const known = this.#gens.get(root.name);
      gens.set(root.name, known?.value);
      if (this.generationsInBackend && (known === undefined || now - known.at > GENERATION_REUSE_MS)) stale.push(root);
    }
    // In process nothing is read: the writes stay synchronous underneath.
    return stale.length === 0 ? gens : this.#readGenerations(stale, gens);
  }

  async #readGenerations(roots: readonly ClassMetadata[], gens: Map<string, string | undefined>): Promise<Map<string, string | undefined>> {
    const raws = await this.readRaw(roots.map((root) => this.keys.generationKey(root)), []);
    const seen = await Promise.all(roots.map((root, i) => this.#generationSeen(root, raws[i] ?? undefined)));
    for (const gen of seen) gens.set(gen.root, gen.value);
    return gens;
  }

  /**
   * The generation a fill of what a read that began at `readStartedAt` may stamp: the one this
   * tier's lookup before it saw, or one known here since before the read began; `null` when
   * neither (a clear may have run after the read began, so what it read may be what was cleared).
   */
  #fillGeneration(meta: ClassMetadata, seen: ReadObservation<R> | undefined, readStartedAt: number): string | undefined | null {
    const root = rootOf(meta).name;
    if (seen?.classGen !== undefined && seen.classGen.root === root) return seen.classGen.value;
    const known = this.#gens.get(root);
    if (known === undefined) return this.generationsInBackend ? null : undefined;
    return known.at < readStartedAt ? known.value : null;
  }

  /** Stores each object: its value at its anchor key, pointers to it at its other keys. */
  override async batchPut(objs: readonly object[]): Promise<void> {
    const known = this.#currentGenerations(objs);
    const gens = known instanceof Map ? known : await known;
    const now = Date.now();
    const writes: RawWrite<R>[] = [];
    // An object not stored (lifetime past, too large, not encodable) must not leave its previous version.
    const dropped: string[] = [];
    for (const obj of objs) {
      const meta = metadataOf(obj);
      const entry = this.#entry(meta, obj, now, gens.get(rootOf(meta).name));
      if (entry !== undefined) writes.push(entry.value, ...entry.pointers);
      else dropped.push(...this.keys.keysOf(meta, obj, this.polymorphic).slice(0, 1));
    }
    await Promise.all([writes.length > 0 ? this.writeRaw(writes, 'set') : undefined, dropped.length > 0 ? this.removeRaw(dropped) : undefined]);
  }

  /**
   * Leaves a settled tombstone at each object's anchor and points its other keys at it: a read by
   * any key then sees the tombstone, and its fill may replace it (the change is in the database).
   */
  override batchDelete(objs: readonly object[]): Promise<void> {
    return this.#settle(objs, Date.now());
  }

  /** Reserves each object's anchor with the write's token (phase 1 of a chain's write-through). */
  async reserve(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    const anchors = objs.map((obj) => this.keys.keysOf(metadataOf(obj), obj, this.polymorphic)[0]);
    const keys = unique(anchors);
    // The generations known before the database write: a clear after it leaves the commit unreachable.
    const written = keys.length > 0 ? this.writeRaw(this.#tombs(keys, ticket, false), 'set') : undefined;
    const known = this.#currentGenerations(objs);
    const [gens] = await Promise.all([known, written]);
    this.#reserved.set(ticket, { anchors, gens });
  }

  /**
   * Replaces this write's own reservations with the values, then writes the pointers. An anchor
   * the write itself made known (a serial id assigned by the database) is written only where it
   * holds nothing or a remembered miss. Where another write got in first, leaves a settled
   * tombstone: a miss is always safe, an older value never is.
   */
  async commit(objs: readonly object[], ticket: WriteTicket, failedBelow = false): Promise<void> {
    const now = Date.now();
    const reservation = this.#reserved.get(ticket);
    const reserved = reservation?.anchors ?? [];
    const own = this.encode({ kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt });
    const swaps: RawSwap<R>[] = [];
    /** Per swap, the object whose value it writes (swaps of tombstones and pointers have none). */
    const owners: (object | undefined)[] = [];
    const entries = new Map<object, Entry<R>>();
    const moved: Entry<R>[] = [];
    const movedGens: (string | undefined)[] = [];
    objs.forEach((obj, i) => {
      const meta = metadataOf(obj);
      // Without a reservation here (none was made, or it failed) nothing is known to be current: unreachable.
      const gen = reservation?.gens.get(rootOf(meta).name);
      const entry = this.#entry(meta, obj, now, gen);
      const before = reserved[i];
      if (entry === undefined) {
        // Not stored here (lifetime past, too large): the reservation settles, so fills may resume
        // (unless a tier below missed the write: then it stays until it expires).
        if (before !== undefined && !failedBelow) {
          swaps.push({ ...this.#tombs([before], this.#ticket(now), true)[0]!, expected: own });
          owners.push(undefined);
        }
        return;
      }
      entries.set(obj, entry);
      if (entry.value.key === before) {
        swaps.push({ ...entry.value, expected: own });
        owners.push(obj);
        return;
      }
      moved.push(entry);
      movedGens.push(gen);
      if (before !== undefined) {
        // The key reserved has become an alternate key of the object: its anchor was unknown then.
        swaps.push({ key: before, raw: this.#pointer(entry.value.key, entry.value.expiresAt), expiresAt: entry.value.expiresAt, expected: own });
        owners.push(undefined);
      }
    });
    const [results] = await Promise.all([swaps.length > 0 ? this.swapRaw(swaps) : [], this.#commitMoved(moved, movedGens, now)]);
    const lost: object[] = [];
    const pointers: RawWrite<R>[] = [];
    owners.forEach((obj, i) => {
      if (obj === undefined) return;
      if (results[i] === true) pointers.push(...entries.get(obj)!.pointers);
      else lost.push(obj);
    });
    for (const entry of moved) pointers.push(...entry.pointers);
    await Promise.all([lost.length > 0 ? this.#lose(lost, failedBelow) : undefined, pointers.length > 0 ? this.writeRaw(pointers, 'set') : undefined]);
  }

  /** Where a commit lost to another write: settled tombstones, or reservations when a tier below missed the write. */
  #lose(objs: readonly object[], failedBelow: boolean): Promise<void> {
    if (!failedBelow) return this.#settle(objs, Date.now());
    const anchors = unique(objs.map((obj) => this.keys.keysOf(metadataOf(obj), obj, this.polymorphic)[0]));
    return anchors.length > 0 ? this.writeRaw(this.#tombs(anchors, this.#ticket(Date.now()), false), 'set') : Promise.resolve();
  }

  /**
   * Writes back objects read lower down, at each anchor only as the read before it allows
   * (`FillCondition`). Pointers are overwritten: they are checked against the anchor's value on
   * every read, so a wrong one costs a miss, while one left behind by an object that no longer has
   * that key would otherwise keep the key from ever being filled again.
   */
  async fill(objs: readonly object[], readStartedAt: number, observed?: Observation): Promise<void> {
    if (objs.length === 0) return;
    const now = Date.now();
    const first = metadataOf(objs[0]!);
    if (!this.#fillAllowed(first.name, readStartedAt, now)) return;
    const seen = this.#own(observed);
    const writes: FillWrites<R> = { adds: [], swaps: [] };
    const pointers: RawWrite<R>[] = [];
    let unknown = false;
    for (const obj of objs) {
      const meta = metadataOf(obj);
      const gen = this.#fillGeneration(meta, seen, readStartedAt);
      if (gen === null) {
        unknown = true;
        continue;
      }
      const entry = this.#entry(meta, obj, now, gen);
      if (entry === undefined) continue;
      sortWrite(writes, entry.value, seen?.at(entry.value.key));
      for (const p of entry.pointers) pointers.push(p);
    }
    if (unknown) this.emit({ type: 'skip', store: this.name, className: first.name, reason: 'the read may have begun before a clear of the class' });
    await Promise.all([this.#writeConditional(writes, readStartedAt, seen), pointers.length > 0 ? this.writeRaw(pointers, 'set') : undefined]);
    if (this.counted('fill', objs.length)) this.notify({ type: 'fill', store: this.name, className: first.name, count: objs.length });
  }

  /** Remembers, for `missLifetime`, that the database had nothing for `queries`; conditional as `fill`. */
  async fillAbsent<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], readStartedAt: number, observed?: Observation): Promise<void> {
    if (queries.length === 0) return;
    const meta = getMetadata(cls);
    const ms = this.#missMs(cls);
    if (ms === undefined) return;
    const now = Date.now();
    if (!this.#fillAllowed(meta.name, readStartedAt, now)) return;
    const seen = this.#own(observed);
    const gen = this.#fillGeneration(meta, seen, readStartedAt);
    if (gen === null) return this.emit({ type: 'skip', store: this.name, className: meta.name, reason: 'the read may have begun before a clear of the class' });
    const writes: FillWrites<R> = { adds: [], swaps: [] };
    for (const key of unique(queries.map((q) => this.#locate(meta, q).key))) {
      const expiresAt = now + ms;
      const holdUntil = this.#holdFor(expiresAt, now);
      const base: MissRecord = holdUntil === undefined ? { kind: 'miss', token: randomUUID(), expiresAt } : { kind: 'miss', token: randomUUID(), expiresAt, holdUntil };
      const record: MissRecord = gen === undefined ? base : { ...base, gen };
      sortWrite(writes, { key, raw: this.encode(record), expiresAt: holdUntil ?? expiresAt }, seen?.at(key));
    }
    await this.#writeConditional(writes, readStartedAt, seen);
  }

  /** Writes the anchors a write made known: where they hold nothing (add) or a remembered miss (swap). */
  async #commitMoved(moved: readonly Entry<R>[], gens: readonly (string | undefined)[], now: number): Promise<void> {
    if (moved.length === 0) return;
    const keys = moved.map((e) => e.value.key);
    const read = await this.#read(keys, now, []);
    const writes: FillWrites<R> = { adds: [], swaps: [] };
    moved.forEach((entry, i) => {
      const at = read.get(entry.value.key);
      const record = at?.record;
      // Only nothing, a miss, or an entry of a generation the write did not see (cleared): a
      // settled tombstone there may stand for a delete after this insert.
      if (at !== undefined && record !== undefined && isCleared(record, gens[i])) return sortWrite(writes, entry.value, swapOf(at));
      const condition = conditionOf(at, now);
      sortWrite(writes, entry.value, condition.mode === 'add' || record?.kind === 'miss' ? condition : SKIP);
    });
    await Promise.all([writes.adds.length > 0 ? this.writeRaw(writes.adds, 'add') : undefined, writes.swaps.length > 0 ? this.swapRaw(writes.swaps) : undefined]);
  }

  async #writeConditional(writes: FillWrites<R>, readStartedAt: number, seen: ReadObservation<R> | undefined): Promise<void> {
    await Promise.all([
      writes.adds.length > 0 ? this.fillRaw(writes.adds, readStartedAt, seen?.generation) : undefined,
      writes.swaps.length > 0 ? this.swapRaw(writes.swaps) : undefined,
    ]);
  }

  #fillAllowed(className: string, readStartedAt: number, now: number): boolean {
    let reason: string | undefined;
    if (now - readStartedAt > this.tombstoneMs / 2) reason = 'fill arrived too late to be safe';
    else if (!this.trustsTombstones(readStartedAt)) reason = 'the backend was unreachable too recently to trust its tombstones';
    if (reason === undefined) return true;
    this.emit({ type: 'skip', store: this.name, className, reason });
    return false;
  }

  /** An observation made by this tier; another tier's (a caller's mistake) counts as none. */
  #own(observed: Observation | undefined): ReadObservation<R> | undefined {
    return observed instanceof ReadObservation && observed.observedBy === this ? (observed as ReadObservation<R>) : undefined;
  }

  #missMs(cls: Class): number | undefined {
    const option = this.#missLifetime;
    const seconds = typeof option === 'function' ? option(cls) : option;
    return seconds !== undefined && isSeconds(seconds) ? Math.ceil(seconds * 1000) : undefined;
  }

  /** Settled tombstones at the anchors, and every other key of each object pointed at its anchor. */
  #settle(objs: readonly object[], now: number): Promise<void> {
    const ticket = this.#ticket(now);
    const writes: RawWrite<R>[] = [];
    const tomb = this.#tombs([''], ticket, true)[0]!.raw;
    const done = new Set<string>();
    for (const obj of objs) {
      const keys = this.keys.keysOf(metadataOf(obj), obj, this.polymorphic);
      const anchor = keys[0];
      if (anchor === undefined || done.has(anchor)) continue;
      done.add(anchor);
      writes.push({ key: anchor, raw: tomb, expiresAt: ticket.expiresAt });
      if (keys.length > 1) {
        const pointer = this.#pointer(anchor, ticket.expiresAt);
        for (let i = 1; i < keys.length; i++) writes.push({ key: keys[i]!, raw: pointer, expiresAt: ticket.expiresAt });
      }
    }
    return writes.length > 0 ? this.writeRaw(writes, 'set') : Promise.resolve();
  }

  #ticket(now: number): WriteTicket {
    return { token: randomUUID(), expiresAt: now + this.tombstoneMs };
  }

  #tombs(keys: readonly string[], ticket: WriteTicket, settled: boolean): RawWrite<R>[] {
    const record: TombRecord = settled
      ? { kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt, settled: true }
      : { kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt };
    const raw = this.encode(record);
    return keys.map((key) => ({ key, raw, expiresAt: ticket.expiresAt }));
  }

  #pointer(anchor: string, expiresAt: number): R {
    return this.encode({ kind: 'ptr', key: anchor, expiresAt } satisfies PointerRecord);
  }

  /** A hold for what expires before a tombstone would: until then it keeps blocking older fills. */
  #holdFor(expiresAt: number, now: number): number | undefined {
    return expiresAt !== NEVER && expiresAt < now + this.tombstoneMs ? now + this.tombstoneMs : undefined;
  }

  /** The value write at the anchor and the pointer writes, or `undefined` when `obj` must not be stored. */
  #entry(meta: ClassMetadata, obj: object, now: number, gen: string | undefined): Entry<R> | undefined {
    const keys = this.keys.keysOf(meta, obj, this.polymorphic);
    const anchor = keys[0];
    if (anchor === undefined) return undefined;
    const expiresAt = this.lifetime === undefined ? NEVER : expiryOf(this.lifetime(obj), now);
    if (isExpired(expiresAt, now)) {
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason: 'lifetime already past' });
      return undefined;
    }
    const holdUntil = this.#holdFor(expiresAt, now);
    let raw: R;
    try {
      const record: ValueRecord = holdUntil === undefined ? { kind: 'value', obj, expiresAt } : { kind: 'value', obj, expiresAt, holdUntil, token: randomUUID() };
      raw = this.encode(gen === undefined ? record : { ...record, gen });
    } catch (error) {
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason: `not encodable: ${(error as Error).message}` });
      return undefined;
    }
    // What decoding refuses is not written: it would be read back as corrupt, removed and filled again.
    if (typeof raw === 'string' && raw.length > DEFAULT_MAX_PAYLOAD_BYTES) {
      const reason = `encoded value of ${raw.length} characters exceeds the ${DEFAULT_MAX_PAYLOAD_BYTES} decoding accepts`;
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason });
      return undefined;
    }
    const until = holdUntil ?? expiresAt;
    const value: RawWrite<R> = { key: anchor, raw, expiresAt: until };
    if (keys.length === 1) return { value, pointers: NO_WRITES };
    const pointer = this.#pointer(anchor, until);
    const pointers: RawWrite<R>[] = [];
    for (let i = 1; i < keys.length; i++) pointers.push({ key: keys[i]!, raw: pointer, expiresAt: until });
    return { value, pointers };
  }

  /**
   * Reads and decodes keys. Corrupt entries, and entries past even their hold, go to `stale` (to be
   * removed) and read as nothing; tombstones are never removed here (they expire by themselves).
   */
  async #read(keys: readonly string[], now: number, stale: string[], generation?: { readonly key: string; readonly out: { raw?: R } }): Promise<Map<string, RawRead<R>>> {
    const versions: unknown[] = [];
    const raws = await this.readRaw(generation === undefined ? keys : [...keys, generation.key], versions);
    if (generation !== undefined) generation.out.raw = raws[keys.length] ?? undefined;
    const out = new Map<string, RawRead<R>>();
    keys.forEach((key, i) => {
      const raw = raws[i];
      if (raw === undefined || raw === null) return;
      const version = versions[i];
      const record = this.decode(raw);
      if (isDecodeFailure(record)) {
        if (record.kind === 'corrupt') {
          stale.push(key);
          this.emit({ type: 'corrupt', store: this.name, key, reason: record.reason });
          out.set(key, { record: undefined, raw, version });
        } else {
          out.set(key, { record: undefined, raw, version, foreign: true });
        }
        return;
      }
      if (record.kind !== 'tomb' && isExpired(heldUntil(record), now)) {
        stale.push(key);
        out.set(key, { record: undefined, raw, version });
      } else {
        out.set(key, { record, raw, version });
      }
    });
    return out;
  }

  #locate(meta: ClassMetadata, query: object): Located {
    const shape = meta.shapeFor(query);
    return { meta, shape, key: this.keys.build(meta, shape, query) };
  }

  #count(meta: ClassMetadata, hits: number, misses: number): void {
    if (hits > 0 && this.counted('hit', hits)) this.notify({ type: 'hit', store: this.name, className: meta.name, count: hits });
    if (misses > 0 && this.counted('miss', misses)) this.notify({ type: 'miss', store: this.name, className: meta.name, count: misses });
  }
}

/** Files a conditional write under how it is sent; `undefined` (no observation) means `add`. */
function sortWrite<R>(writes: FillWrites<R>, write: RawWrite<R>, condition: FillCondition<R> | undefined): void {
  if (condition === undefined || condition.mode === 'add') writes.adds.push(write);
  else if (condition.mode === 'swap') writes.swaps.push({ ...write, expected: condition.expected, version: condition.version });
}

/** Whether a value or miss belongs to another generation of its class than `gen` (it was cleared). */
function isCleared(record: CacheRecord, gen: string | undefined): boolean {
  return (record.kind === 'value' || record.kind === 'miss') && record.gen !== gen;
}

function isGeneration(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.startsWith(GENERATION_PREFIX) && raw.length > GENERATION_PREFIX.length;
}

function isLive(record: { readonly expiresAt: number }, now: number): boolean {
  return record.expiresAt === NEVER || !isExpired(record.expiresAt, now);
}

function leaseOption(name: string, option: CacheStoreOptions['fillLease']): { lifetime: number; wait: number } | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null)) throw new ConfigurationError(`${name}: fillLease must be a boolean or { lifetime, wait }`);
  const { lifetime = 200, wait = 20 } = option === true ? {} : option;
  for (const [what, ms] of [['lifetime', lifetime], ['wait', wait]] as const) {
    if (typeof ms !== 'number' || !(ms > 0) || !Number.isFinite(ms)) throw new ConfigurationError(`${name}: fillLease.${what} must be a positive number of milliseconds`);
  }
  return { lifetime, wait };
}

function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && Number.isFinite(value);
}

function unique(keys: readonly (string | undefined)[]): string[] {
  return [...new Set(keys.filter((k): k is string => k !== undefined))];
}

/** Guards against hash collisions and stale alternate keys: the object must carry the queried values. */
export function matchesQuery(obj: object, shape: KeyShape, query: object): boolean {
  const attrs = shape.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs[i]!;
    const a = (obj as Record<string, unknown>)[attr];
    const b = (query as Record<string, unknown>)[attr];
    if (a !== b && !(a instanceof Date && b instanceof Date && a.getTime() === b.getTime())) return false;
  }
  return true;
}
