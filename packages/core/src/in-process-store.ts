import { randomUUID } from 'node:crypto';
import { BaseCacheStore, matchesQuery, type RawSwap, type RawWrite } from './base-cache-store';
import { decodeRecord, encodeRecord, type DecodeFailure } from './codec';
import { isExpired, NEVER } from './lifetime';
import { getMetadata, metadataOf } from './metadata';
import { heldUntil, type CacheRecord } from './record';
import type { LocalTier } from './store';
import type { Class, KeyQuery } from './types';

/**
 * A cache tier inside this process: records are kept live (no encoding), every operation is
 * synchronous underneath, so the chain protocol's conditional writes are atomic here.
 */
export abstract class InProcessStore extends BaseCacheStore<CacheRecord> implements LocalTier {
  /** Lives in this process: a chain's bus drops here what other processes change. */
  readonly local = true as const;
  /** Class generations live only here; other processes' in-process tiers hear of a clear through the bus. */
  protected override readonly generationsInBackend = false;
  /** Entries written this many ms ago or earlier are not served (`Infinity`: any age). */
  #maxAge = Infinity;
  /** How many times `clear()` ran: a fill whose read noted fewer is refused. */
  #clears = 0;
  /** When `clear()` last ran: a fill that follows no read of this tier is refused if its read began no later. */
  #clearedAt = -Infinity;

  /** The record under `key`, without touching recency. */
  protected abstract peekRecord(key: string): CacheRecord | undefined;
  /** The record under `key`, counting as a use (LRU recency). */
  protected abstract readRecord(key: string): CacheRecord | undefined;
  protected abstract writeRecord(key: string, record: CacheRecord): void;
  protected abstract removeRecord(key: string): void;

  /**
   * Plain objects are kept as given (a hit returns the very instance put). Instances of classes an
   * integration serializes (ORM entities) are kept as a detached copy: the entity the caller goes
   * on changing, or the one a database read hands back, must not change what the next reader gets.
   */
  protected override encode(record: CacheRecord): CacheRecord {
    if (record.kind === 'miss') return { ...record, writtenAt: Date.now() };
    if (record.kind !== 'value') return record;
    const writtenAt = Date.now();
    const serializer = metadataOf(record.obj).serializer;
    if (serializer === undefined) return { ...record, writtenAt };
    if (serializer.copy !== undefined) return { ...record, obj: serializer.copy(record.obj), writtenAt };
    const copy = decodeRecord(encodeRecord(record));
    if (copy.kind !== 'value') throw new Error(`cannot keep a copy of ${metadataOf(record.obj).name}: ${JSON.stringify(copy)}`);
    return { ...copy, writtenAt };
  }

  /**
   * Drops what another process changed (keys from its bus: `KeyBuilder.relativeKeysOf` joined by
   * spaces, anchor first). A settled tombstone, not a removal: a fill of this process whose read
   * began before the change would `add` the old value where nothing is, while a read that sees the
   * tombstone reads the changed tier below and may replace it. Where a write of this process is in
   * flight (a reservation), a fresh reservation: the write's commit then leaves a tombstone too.
   */
  settleKeys(busKeys: readonly string[]): void {
    const now = Date.now();
    const expiresAt = now + this.tombstoneMs;
    const writes: RawWrite<CacheRecord>[] = [];
    for (const busKey of busKeys) {
      const [anchor, ...others] = busKey.split(' ').map((k) => this.keys.relativeKey(k));
      if (anchor === undefined) continue;
      const current = this.peekRecord(anchor);
      const reserved = current?.kind === 'tomb' && current.settled !== true && !isExpired(current.expiresAt, now);
      const tomb: CacheRecord = reserved ? { kind: 'tomb', token: randomUUID(), expiresAt } : { kind: 'tomb', token: randomUUID(), expiresAt, settled: true };
      writes.push({ key: anchor, raw: tomb, expiresAt });
      const pointer: CacheRecord = { kind: 'ptr', key: anchor, expiresAt };
      for (const key of others) writes.push({ key, raw: pointer, expiresAt });
    }
    if (writes.length > 0) void this.writeRaw(writes, 'set');
  }

  /**
   * With a class, as every tier: its hierarchy's entries become unreachable (a new generation).
   * Without one, drops every entry; a fill of a read that began before is refused (it may carry
   * what a missed message changed). Either takes effect before this returns.
   */
  override clear(cls?: Class): Promise<void> {
    if (cls !== undefined) return super.clear(cls);
    this.#clears++;
    this.#clearedAt = Date.now();
    this.clearRecords();
    return Promise.resolve();
  }

  /** Serve only entries written less than `ms` ago (`undefined`: any age); 0 serves none. */
  limitAge(ms: number | undefined): void {
    this.#maxAge = ms ?? Infinity;
  }

  /** Removes every record (for `clear()`). */
  protected abstract clearRecords(): void;

  protected override tooOld(record: CacheRecord, now: number): boolean {
    return this.#maxAge !== Infinity && isTooOld(record, now, this.#maxAge);
  }

  /**
   * A fill of a read that began before the last `clear()` may carry what a missed bus message
   * changed. The read's own count of clears tells it exactly; a millisecond clock cannot (a clear
   * and a read in the same millisecond are either order).
   */
  protected override fillRaw(writes: readonly RawWrite<CacheRecord>[], readStartedAt: number, generation: number | undefined): Promise<void> {
    const stale = generation === undefined ? readStartedAt <= this.#clearedAt : generation !== this.#clears;
    return stale ? Promise.resolve() : super.fillRaw(writes, readStartedAt, generation);
  }

  protected override readGeneration(): number {
    return this.#clears;
  }

  protected override decode(raw: CacheRecord): CacheRecord | DecodeFailure {
    return raw;
  }

  /**
   * A synchronous lookup: the chain's first-tier hit costs no promise chain. Reports a hit; a miss
   * is reported by the `batchGet` a chain sends next, so it is counted once.
   */
  peek<T extends object>(cls: Class<T>, query: KeyQuery<T>): T | undefined {
    return this.#lookup(cls, query, false);
  }

  #lookup<T extends object>(cls: Class<T>, query: KeyQuery<T>, reportMiss: boolean): T | undefined {
    const meta = getMetadata(cls);
    const shape = meta.shapeFor(query);
    const key = this.keys.build(meta, shape, query);
    let record = key === undefined ? undefined : this.readRecord(key);
    if (record !== undefined && record.kind === 'ptr') record = this.readRecord(record.key);
    let found: T | undefined;
    if (record !== undefined && record.kind === 'value' && (this.#maxAge === Infinity || !isTooOld(record, Date.now(), this.#maxAge))) {
      // Date.now() only for records that can expire: most never do, and it is not free.
      const live = record.expiresAt === NEVER || !isExpired(record.expiresAt, Date.now());
      // Generations are compared only once a class was ever cleared here: the hit path stays as it was.
      const current = !this.classCleared || record.gen === this.localGeneration(meta);
      if (live && current && record.obj instanceof cls && matchesQuery(record.obj, shape, query)) found = record.obj as T;
    }
    if ((found !== undefined || reportMiss) && this.counted(found === undefined ? 'miss' : 'hit', 1)) {
      this.notify({ type: found === undefined ? 'miss' : 'hit', store: this.name, className: meta.name, count: 1 });
    }
    return found;
  }

  override get<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<T | undefined> {
    try {
      return Promise.resolve(this.#lookup(cls, query, true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  protected readRaw(keys: readonly string[], _versions: unknown[]): Promise<readonly (CacheRecord | undefined)[]> {
    return Promise.resolve(keys.map((k) => this.readRecord(k)));
  }

  protected writeRaw(writes: readonly RawWrite<CacheRecord>[], mode: 'set' | 'add'): Promise<void> {
    const now = Date.now();
    for (const w of writes) {
      if (mode === 'add') {
        const current = this.peekRecord(w.key);
        if (current !== undefined && !isExpired(heldUntil(current), now)) continue;
      }
      this.writeRecord(w.key, w.raw);
    }
    return Promise.resolve();
  }

  /** Synchronous underneath, so each compare-and-swap is atomic. */
  protected swapRaw(swaps: readonly RawSwap<CacheRecord>[]): Promise<readonly boolean[]> {
    return Promise.resolve(
      swaps.map((w) => {
        const current = this.peekRecord(w.key);
        if (current === undefined || !sameEntry(current, w.expected)) return false;
        this.writeRecord(w.key, w.raw);
        return true;
      }),
    );
  }

  protected removeRaw(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.removeRecord(k);
    return Promise.resolve();
  }
}

function isTooOld(record: CacheRecord, now: number, maxAge: number): boolean {
  if (record.kind !== 'value' && record.kind !== 'miss') return false;
  return record.writtenAt === undefined || now - record.writtenAt >= maxAge;
}

/**
 * Whether `current` is the very entry `expected` names: the same record, or the tombstone, miss or
 * held value of the same token (a reservation's expected record is rebuilt from its ticket).
 */
function sameEntry(current: CacheRecord, expected: CacheRecord): boolean {
  if (current === expected) return true;
  if (current.kind !== expected.kind || current.kind === 'ptr') return false;
  const a = (current as { token?: string }).token;
  return a !== undefined && a === (expected as { token?: string }).token;
}
