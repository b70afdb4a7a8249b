import { randomUUID } from 'node:crypto';
import { BaseStore, type BaseStoreOptions } from './base-store';
import { decodeRecord, encodeRecord, isDecodeFailure, type DecodeFailure } from './codec';
import { ConfigurationError } from './errors';
import { KeyBuilder } from './keys';
import { checkLifetimeOption, expiryOf, isExpired } from './lifetime';
import { getMetadata, metadataOf, type ClassMetadata, type KeyShape } from './metadata';
import type { CacheRecord, TombRecord } from './record';
import type { CacheTier, WriteTicket } from './store';
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
   * Seconds a deletion's tombstone blocks back-fills of the same key (DESIGN.md invariant 2); a fill
   * whose database read is older than half of this is dropped. @default 5
   */
  tombstoneLifetime?: number;
}

/** One write of a raw value to a backend key; `expiresAt` is epoch ms or 0 for none. */
export interface RawWrite<R> {
  readonly key: string;
  readonly raw: R;
  readonly expiresAt: number;
}

interface Located {
  readonly meta: ClassMetadata;
  readonly shape: KeyShape;
  readonly key: string | undefined;
}

/**
 * Does all the object-level work of a cache tier — keys, lifetimes, polymorphism, tombstones,
 * decoding, the chain protocol — on top of five batch operations on raw backend keys.
 * `R` is what the backend holds: an encoded envelope (string) out of process, a record in process.
 */
export abstract class BaseCacheStore<R = string> extends BaseStore implements CacheTier {
  readonly isCache = true as const;
  readonly tombstoneMs: number;
  protected readonly polymorphic: boolean;
  protected readonly lifetime: LifetimeFn | undefined;
  protected readonly keys: KeyBuilder;

  constructor(options: CacheStoreOptions = {}) {
    super(options);
    if (options.polymorphic !== undefined && typeof options.polymorphic !== 'boolean') {
      throw new ConfigurationError(`${this.name}: polymorphic must be a boolean`);
    }
    const tomb = options.tombstoneLifetime ?? 5;
    if (typeof tomb !== 'number' || !(tomb > 0) || !Number.isFinite(tomb)) {
      throw new ConfigurationError(`${this.name}: tombstoneLifetime must be a positive number of seconds`);
    }
    this.polymorphic = options.polymorphic ?? false;
    this.lifetime = checkLifetimeOption(options.lifetime);
    this.keys = new KeyBuilder(options.prefix);
    this.tombstoneMs = Math.ceil(tomb * 1000);
  }

  /** Reads raw values; `undefined` where the backend has nothing. */
  protected abstract readRaw(keys: readonly string[]): Promise<readonly (R | undefined)[]>;
  /** `set` overwrites; `add` writes only where the key is absent (a tombstone counts as present). */
  protected abstract writeRaw(writes: readonly RawWrite<R>[], mode: 'set' | 'add'): Promise<void>;
  /** Replaces each key's value only if it is still `expected` (a tombstone); one result per write. */
  protected abstract swapRaw(writes: readonly RawWrite<R>[], expected: R, ticket: WriteTicket): Promise<readonly boolean[]>;
  protected abstract removeRaw(keys: readonly string[]): Promise<void>;

  /** Out-of-process tiers keep the codec's envelope; in-process tiers override both to keep records. */
  protected encode(record: CacheRecord): R {
    return encodeRecord(record) as R;
  }

  protected decode(raw: R): CacheRecord | DecodeFailure {
    return decodeRecord(raw as unknown as string);
  }

  override async batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]> {
    const meta = getMetadata(cls);
    const located = queries.map((q) => this.#locate(meta, q));
    const unique = [...new Set(located.map((l) => l.key).filter((k): k is string => k !== undefined))];
    const results: (T | undefined)[] = new Array(queries.length).fill(undefined);
    if (unique.length === 0) {
      this.#count(meta, 0, queries.length);
      return results;
    }
    const raws = await this.readRaw(unique);
    const now = Date.now();
    const found = new Map<string, object>();
    const stale: string[] = [];
    unique.forEach((key, i) => {
      const raw = raws[i];
      if (raw === undefined || raw === null) return;
      const obj = this.#accept(key, raw, cls, now, stale);
      if (obj !== undefined) found.set(key, obj);
    });
    if (stale.length > 0) await this.removeRaw(stale);
    let hits = 0;
    located.forEach((l, i) => {
      const obj = l.key === undefined ? undefined : found.get(l.key);
      if (obj !== undefined && matchesQuery(obj, l.shape, queries[i]!)) {
        results[i] = obj as T;
        hits++;
      }
    });
    this.#count(meta, hits, queries.length - hits);
    return results;
  }

  override async batchPut(objs: readonly object[]): Promise<void> {
    if (objs.length === 0) return;
    const now = Date.now();
    const writes: RawWrite<R>[] = [];
    const newKeys = new Set<string>();
    for (const obj of objs) {
      const meta = metadataOf(obj);
      const entry = this.#valueWrites(meta, obj, now);
      if (entry === undefined) continue;
      for (const w of entry) {
        writes.push(w);
        newKeys.add(w.key);
      }
    }
    // An object whose key attribute changed must not stay reachable under its old key.
    const oldKeys = (await this.#cachedCopyKeys(objs)).filter((k) => !newKeys.has(k));
    if (oldKeys.length > 0) await this.writeRaw(this.#tombs(oldKeys, this.#ticket(now)), 'set');
    if (writes.length > 0) await this.writeRaw(writes, 'set');
  }

  override batchDelete(objs: readonly object[]): Promise<void> {
    return this.reserve(objs, this.#ticket(Date.now()));
  }

  /** Tombstones every key of the objects and of their cached copies, carrying the write's token. */
  async reserve(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    if (objs.length === 0) return;
    const keys = new Set<string>();
    for (const obj of objs) for (const key of this.keys.keysOf(metadataOf(obj), obj, this.polymorphic)) keys.add(key);
    for (const key of await this.#cachedCopyKeys(objs)) keys.add(key);
    if (keys.size > 0) await this.writeRaw(this.#tombs([...keys], ticket), 'set');
  }

  /** Replaces this write's own tombstones with the values; where another write got in, leaves a fresh tombstone. */
  async commit(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    const now = Date.now();
    const writes: RawWrite<R>[] = [];
    for (const obj of objs) writes.push(...(this.#valueWrites(metadataOf(obj), obj, now) ?? []));
    if (writes.length === 0) return;
    const expected = this.encode({ kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt });
    const swapped = await this.swapRaw(writes, expected, ticket);
    const lost = writes.filter((_w, i) => !swapped[i]).map((w) => w.key);
    if (lost.length > 0) await this.writeRaw(this.#tombs(lost, this.#ticket(Date.now())), 'set');
  }

  /** Writes back objects read lower down, only where the key holds neither a value nor a tombstone. */
  async fill(objs: readonly object[], readStartedAt: number): Promise<void> {
    if (objs.length === 0) return;
    const now = Date.now();
    const first = metadataOf(objs[0]!);
    if (now - readStartedAt > this.tombstoneMs / 2) {
      this.emit({ type: 'skip', store: this.name, className: first.name, reason: 'fill arrived too late to be safe' });
      return;
    }
    const writes: RawWrite<R>[] = [];
    for (const obj of objs) writes.push(...(this.#valueWrites(metadataOf(obj), obj, now) ?? []));
    if (writes.length === 0) return;
    await this.writeRaw(writes, 'add');
    if (this.events.has('fill')) this.emit({ type: 'fill', store: this.name, className: first.name, count: objs.length });
  }

  #ticket(now: number): WriteTicket {
    return { token: randomUUID(), expiresAt: now + this.tombstoneMs };
  }

  #tombs(keys: readonly string[], ticket: WriteTicket): RawWrite<R>[] {
    const raw = this.encode({ kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt } satisfies TombRecord);
    return keys.map((key) => ({ key, raw, expiresAt: ticket.expiresAt }));
  }

  /** The writes that store `obj` under each of its keys, or `undefined` when it must not be stored. */
  #valueWrites(meta: ClassMetadata, obj: object, now: number): RawWrite<R>[] | undefined {
    const expiresAt = expiryOf(this.lifetime?.(obj), now);
    if (isExpired(expiresAt, now)) {
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason: 'lifetime already past' });
      return undefined;
    }
    let raw: R;
    try {
      raw = this.encode({ kind: 'value', obj, expiresAt });
    } catch (error) {
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason: `not encodable: ${(error as Error).message}` });
      return undefined;
    }
    return this.keys.keysOf(meta, obj, this.polymorphic).map((key) => ({ key, raw, expiresAt }));
  }

  /**
   * Keys under which the cached copies of these objects (found by primary key) are indexed: the
   * only way to reach entries under old values of alternate keys when the caller no longer knows them.
   * Classes with a single key have nothing to find, and cost no round trip.
   */
  async #cachedCopyKeys(objs: readonly object[]): Promise<string[]> {
    const lookups: { key: string; meta: ClassMetadata }[] = [];
    for (const obj of objs) {
      const meta = metadataOf(obj);
      if (meta.keys.length < 2) continue;
      const key = this.keys.build(meta, meta.keys[0]!, obj);
      if (key !== undefined) lookups.push({ key, meta });
    }
    if (lookups.length === 0) return [];
    const raws = await this.readRaw(lookups.map((l) => l.key));
    const out: string[] = [];
    raws.forEach((raw, i) => {
      if (raw === undefined || raw === null) return;
      const record = this.decode(raw);
      if (record.kind !== 'value') return;
      out.push(...this.keys.keysOf(metadataOf(record.obj), record.obj, this.polymorphic));
      void lookups[i];
    });
    return out;
  }

  #accept<T extends object>(key: string, raw: R, cls: Class<T>, now: number, stale: string[]): object | undefined {
    const record = this.decode(raw);
    if (isDecodeFailure(record)) {
      if (record.kind === 'corrupt') {
        stale.push(key);
        this.emit({ type: 'corrupt', store: this.name, key, reason: record.reason });
      }
      return undefined;
    }
    if (record.kind === 'tomb') return undefined;
    if (isExpired(record.expiresAt, now)) {
      stale.push(key);
      return undefined;
    }
    return record.obj instanceof cls ? record.obj : undefined;
  }

  #locate(meta: ClassMetadata, query: object): Located {
    const shape = meta.shapeFor(query);
    return { meta, shape, key: this.keys.build(meta, shape, query) };
  }

  #count(meta: ClassMetadata, hits: number, misses: number): void {
    if (hits > 0 && this.events.has('hit')) this.emit({ type: 'hit', store: this.name, className: meta.name, count: hits });
    if (misses > 0 && this.events.has('miss')) this.emit({ type: 'miss', store: this.name, className: meta.name, count: misses });
  }
}

/** Guards against hash collisions and stale alternate keys: the object must carry the queried values. */
export function matchesQuery(obj: object, shape: KeyShape, query: object): boolean {
  for (const attr of shape.attrs) {
    const a = (obj as Record<string, unknown>)[attr];
    const b = (query as Record<string, unknown>)[attr];
    if (a === b) continue;
    if (a instanceof Date && b instanceof Date && a.getTime() === b.getTime()) continue;
    return false;
  }
  return true;
}
