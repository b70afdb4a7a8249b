import { randomUUID } from 'node:crypto';
import { BaseStore, type BaseStoreOptions } from './base-store';
import { DEFAULT_MAX_PAYLOAD_BYTES, decodeRecord, encodeRecord, isDecodeFailure, type DecodeFailure } from './codec';
import { ConfigurationError } from './errors';
import { KeyBuilder } from './keys';
import { NEVER, checkLifetimeOption, expiryOf, isExpired } from './lifetime';
import { getMetadata, metadataOf, type ClassMetadata, type KeyShape } from './metadata';
import type { CacheRecord, PointerRecord, TombRecord } from './record';
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

  /**
   * A fill's writes of what a chain read lower down at `readStartedAt`: `add`s. A tier that can
   * lose a tombstone before it expires (an LRU evicting it) overrides this to refuse what may be older.
   */
  protected fillRaw(writes: readonly RawWrite<R>[], _readStartedAt: number): Promise<void> {
    return this.writeRaw(writes, 'add');
  }

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
    const results: (T | undefined)[] = new Array(queries.length).fill(undefined);
    const wanted = unique(located.map((l) => l.key));
    if (wanted.length === 0) {
      this.#count(meta, 0, queries.length);
      return results;
    }
    const now = Date.now();
    const stale: string[] = [];
    // Wave 1: the keys asked for. Wave 2: the anchors that pointers lead to, not already read.
    const found = await this.#read(wanted, now, stale);
    const anchors = unique([...found.values()].map((r) => (r.kind === 'ptr' && !found.has(r.key) ? r.key : undefined)));
    if (anchors.length > 0) for (const [k, r] of await this.#read(anchors, now, stale)) found.set(k, r);
    if (stale.length > 0) await this.removeRaw(stale);
    let hits = 0;
    located.forEach((l, i) => {
      let record = l.key === undefined ? undefined : found.get(l.key);
      if (record?.kind === 'ptr') record = found.get(record.key);
      if (record?.kind === 'value' && record.obj instanceof cls && matchesQuery(record.obj, l.shape, queries[i]!)) {
        results[i] = record.obj as T;
        hits++;
      }
    });
    this.#count(meta, hits, queries.length - hits);
    return results;
  }

  /** Stores each object: its value at its anchor key, pointers to it at its other keys. */
  override async batchPut(objs: readonly object[]): Promise<void> {
    const now = Date.now();
    const writes: RawWrite<R>[] = [];
    // An object not stored (lifetime past, too large, not encodable) must not leave its previous version.
    const dropped: string[] = [];
    for (const obj of objs) {
      const meta = metadataOf(obj);
      const entry = this.#entry(meta, obj, now);
      if (entry !== undefined) writes.push(entry.value, ...entry.pointers);
      else dropped.push(...this.keys.keysOf(meta, obj, this.polymorphic).slice(0, 1));
    }
    await Promise.all([writes.length > 0 ? this.writeRaw(writes, 'set') : undefined, dropped.length > 0 ? this.removeRaw(dropped) : undefined]);
  }

  /** Tombstones each object's anchor; its pointers then lead nowhere. */
  override batchDelete(objs: readonly object[]): Promise<void> {
    return this.reserve(objs, this.#ticket(Date.now()));
  }

  /** Tombstones each object's anchor with the write's token (phase 1 of a chain's write-through). */
  async reserve(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    const anchors = unique(objs.map((obj) => this.keys.keysOf(metadataOf(obj), obj, this.polymorphic)[0]));
    if (anchors.length > 0) await this.writeRaw(this.#tombs(anchors, ticket), 'set');
  }

  /**
   * Replaces this write's own tombstones with the values, then writes the pointers. Where another
   * write got in first, or the value would expire before a tombstone, leaves a fresh tombstone: a
   * miss is always safe, an older value never is.
   */
  async commit(objs: readonly object[], ticket: WriteTicket): Promise<void> {
    const now = Date.now();
    const entries = objs.map((obj) => this.#entry(metadataOf(obj), obj, now)).filter((e) => e !== undefined);
    if (entries.length === 0) return;
    const expected = this.encode({ kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt });
    // A value that expires within a tombstone's lifetime would leave the key empty while fills of
    // reads made before this write may still arrive: such an object gets a fresh tombstone instead.
    const lasting = entries.filter((e) => e.value.expiresAt === NEVER || e.value.expiresAt >= now + this.tombstoneMs);
    const brief = entries.filter((e) => e.value.expiresAt !== NEVER && e.value.expiresAt < now + this.tombstoneMs).map((e) => e.value.key);
    const swapped = lasting.length > 0 ? await this.swapRaw(lasting.map((e) => e.value), expected, ticket) : [];
    const lost = [...brief, ...lasting.filter((_e, i) => !swapped[i]).map((e) => e.value.key)];
    const pointers = lasting.filter((_e, i) => swapped[i]).flatMap((e) => e.pointers);
    await Promise.all([
      lost.length > 0 ? this.writeRaw(this.#tombs(lost, this.#ticket(Date.now())), 'set') : undefined,
      pointers.length > 0 ? this.writeRaw(pointers, 'set') : undefined,
    ]);
  }

  /**
   * Writes back objects read lower down, only where the anchor holds neither a value nor a
   * tombstone. Pointers are overwritten: they are checked against the anchor's value on every read,
   * so a wrong one costs a miss, while one left behind by an object that no longer has that key
   * would otherwise keep the key from ever being filled again.
   */
  async fill(objs: readonly object[], readStartedAt: number): Promise<void> {
    if (objs.length === 0) return;
    const now = Date.now();
    const first = metadataOf(objs[0]!);
    if (now - readStartedAt > this.tombstoneMs / 2) {
      this.emit({ type: 'skip', store: this.name, className: first.name, reason: 'fill arrived too late to be safe' });
      return;
    }
    const values: RawWrite<R>[] = [];
    const pointers: RawWrite<R>[] = [];
    for (const obj of objs) {
      const entry = this.#entry(metadataOf(obj), obj, now);
      if (entry === undefined) continue;
      values.push(entry.value);
      for (const p of entry.pointers) pointers.push(p);
    }
    if (values.length === 0) return;
    await this.fillRaw(values, readStartedAt);
    if (pointers.length > 0) await this.writeRaw(pointers, 'set');
    if (this.events.has('fill')) this.emit({ type: 'fill', store: this.name, className: first.name, count: objs.length });
  }

  #ticket(now: number): WriteTicket {
    return { token: randomUUID(), expiresAt: now + this.tombstoneMs };
  }

  #tombs(keys: readonly string[], ticket: WriteTicket): RawWrite<R>[] {
    const raw = this.encode({ kind: 'tomb', token: ticket.token, expiresAt: ticket.expiresAt } satisfies TombRecord);
    return keys.map((key) => ({ key, raw, expiresAt: ticket.expiresAt }));
  }

  /** The value write at the anchor and the pointer writes, or `undefined` when `obj` must not be stored. */
  #entry(meta: ClassMetadata, obj: object, now: number): Entry<R> | undefined {
    const keys = this.keys.keysOf(meta, obj, this.polymorphic);
    const anchor = keys[0];
    if (anchor === undefined) return undefined;
    const expiresAt = this.lifetime === undefined ? NEVER : expiryOf(this.lifetime(obj), now);
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
    // What decoding refuses is not written: it would be read back as corrupt, removed and filled again.
    if (typeof raw === 'string' && raw.length > DEFAULT_MAX_PAYLOAD_BYTES) {
      const reason = `encoded value of ${raw.length} characters exceeds the ${DEFAULT_MAX_PAYLOAD_BYTES} decoding accepts`;
      this.emit({ type: 'skip', store: this.name, className: meta.name, reason });
      return undefined;
    }
    const value: RawWrite<R> = { key: anchor, raw, expiresAt };
    if (keys.length === 1) return { value, pointers: NO_WRITES };
    const pointer = this.encode({ kind: 'ptr', key: anchor, expiresAt } satisfies PointerRecord);
    const pointers: RawWrite<R>[] = [];
    for (let i = 1; i < keys.length; i++) pointers.push({ key: keys[i]!, raw: pointer, expiresAt });
    return { value, pointers };
  }

  /** Reads and decodes keys; expired and corrupt entries go to `stale` (to be removed) and are misses. */
  async #read(keys: readonly string[], now: number, stale: string[]): Promise<Map<string, CacheRecord>> {
    const raws = await this.readRaw(keys);
    const out = new Map<string, CacheRecord>();
    keys.forEach((key, i) => {
      const raw = raws[i];
      if (raw === undefined || raw === null) return;
      const record = this.decode(raw);
      if (isDecodeFailure(record)) {
        if (record.kind === 'corrupt') {
          stale.push(key);
          this.emit({ type: 'corrupt', store: this.name, key, reason: record.reason });
        }
        return;
      }
      if (record.kind !== 'tomb' && isExpired(record.expiresAt, now)) stale.push(key);
      else out.set(key, record);
    });
    return out;
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
