import { BaseCacheStore, matchesQuery, type RawSwap, type RawWrite } from './base-cache-store';
import { decodeRecord, encodeRecord, type DecodeFailure } from './codec';
import { isExpired, NEVER } from './lifetime';
import { getMetadata, metadataOf } from './metadata';
import { heldUntil, type CacheRecord } from './record';
import type { Class, KeyQuery } from './types';

/**
 * A cache tier inside this process: records are kept live (no encoding), every operation is
 * synchronous underneath, so the chain protocol's conditional writes are atomic here.
 */
export abstract class InProcessStore extends BaseCacheStore<CacheRecord> {
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
    if (record.kind !== 'value') return record;
    const serializer = metadataOf(record.obj).serializer;
    if (serializer === undefined) return record;
    if (serializer.copy !== undefined) return { kind: 'value', obj: serializer.copy(record.obj), expiresAt: record.expiresAt };
    const copy = decodeRecord(encodeRecord(record));
    if (copy.kind !== 'value') throw new Error(`cannot keep a copy of ${metadataOf(record.obj).name}: ${JSON.stringify(copy)}`);
    return copy;
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
    if (record !== undefined && record.kind === 'value') {
      // Date.now() only for records that can expire: most never do, and it is not free.
      const live = record.expiresAt === NEVER || !isExpired(record.expiresAt, Date.now());
      if (live && record.obj instanceof cls && matchesQuery(record.obj, shape, query)) found = record.obj as T;
    }
    if ((found !== undefined || reportMiss) && this.events.has(found === undefined ? 'miss' : 'hit')) {
      this.emit({ type: found === undefined ? 'miss' : 'hit', store: this.name, className: meta.name, count: 1 });
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
