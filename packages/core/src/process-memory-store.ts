import { LRUCache } from 'lru-cache';
import type { CacheStoreOptions, RawSwap, RawWrite } from './base-cache-store';
import { ConfigurationError } from './errors';
import { InProcessStore } from './in-process-store';
import type { CacheRecord } from './record';
import { RecentWrites } from './recent-writes';

/** Options of `ProcessMemoryStore`. */
export interface ProcessMemoryStoreOptions extends CacheStoreOptions {
  /** Most entries kept (one per key an object is indexed under); least recently used go first. @default 10_000 */
  max?: number;
  /** Most bytes kept, as estimated by `sizeOf`; off unless set. */
  maxSize?: number;
  /** Estimates an object's footprint in bytes for `maxSize`. @default a walk of its own fields */
  sizeOf?: (obj: object) => number;
}

// What was written lately lives outside maxSize, so it stays small whatever max is; past it, the
// forgotten writes block fills conservatively (a miss is always safe).
const MAX_RECENT_WRITES = 16_384;

// Tombstones and pointers: a small object and a string or two.
const SMALL_RECORD_SIZE = 160;

/**
 * Estimates the V8 heap taken by a value: object headers, property slots, string bytes. Errs high,
 * so that a `maxSize` bound holds for the real heap, and stops at depth 4 and 1,000 fields.
 */
export function estimateSize(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8;
    case 'bigint':
      return 24;
    case 'object':
      break;
    default:
      return 8;
  }
  if (value === null) return 8;
  if (depth > 4) return 64;
  if (value instanceof Date) return 48;
  if (ArrayBuffer.isView(value)) return 96 + value.byteLength;
  let size = 32;
  let fields = 0;
  const entries = Array.isArray(value) ? value : value instanceof Map || value instanceof Set ? [...value.values()] : Object.values(value);
  for (const v of entries) {
    if (++fields > 1000) break;
    size += 8 + estimateSize(v, depth + 1);
  }
  return size;
}

/** Objects kept in this process's memory, in an LRU bounded by entry count and optionally by size. */
export class ProcessMemoryStore extends InProcessStore {
  readonly #lru: LRUCache<string, CacheRecord>;
  /** The LRU can evict a tombstone or a fresh value at once: fills also check what was written lately. */
  readonly #recent: RecentWrites;

  constructor(options: ProcessMemoryStoreOptions = {}) {
    super(options);
    const { max = 10_000, maxSize, sizeOf = estimateSize } = options;
    if (!Number.isInteger(max) || max <= 0) throw new ConfigurationError(`${this.name}: max must be a positive integer, got ${String(max)}`);
    if (maxSize !== undefined && (!Number.isInteger(maxSize) || maxSize <= 0)) {
      throw new ConfigurationError(`${this.name}: maxSize must be a positive integer of bytes, got ${String(maxSize)}`);
    }
    if (typeof sizeOf !== 'function') throw new ConfigurationError(`${this.name}: sizeOf must be a function`);
    this.#lru = new LRUCache<string, CacheRecord>(
      maxSize === undefined
        ? { max }
        : {
            max,
            maxSize,
            sizeCalculation: (record, key) => key.length + (record.kind === 'value' ? Math.max(1, sizeOf(record.obj)) : SMALL_RECORD_SIZE),
          },
    );
    this.#recent = new RecentWrites(this.tombstoneMs, Math.min(Math.max(4096, max), MAX_RECENT_WRITES));
  }

  /** Entries held now (each object takes one per key it is indexed under). */
  get size(): number {
    return this.#lru.size;
  }

  /** Bytes held now, as estimated; 0 without `maxSize`. */
  get calculatedSize(): number {
    return this.#lru.calculatedSize;
  }

  /** Drops every entry; what was written lately is forgotten too (fills of older reads are refused by `clear()`). */
  protected clearRecords(): void {
    this.#lru.clear();
    this.#recent.clear();
  }

  /** A fill skips keys whose tombstone or newer value the LRU may have evicted (see `RecentWrites`). */
  protected override fillRaw(writes: readonly RawWrite<CacheRecord>[], readStartedAt: number, generation: number | undefined): Promise<void> {
    const now = Date.now();
    return super.fillRaw(
      writes.filter((w) => !this.#recent.blocks(w.key, readStartedAt, now)),
      readStartedAt,
      generation,
    );
  }

  protected override writeRaw(writes: readonly RawWrite<CacheRecord>[], mode: 'set' | 'add'): Promise<void> {
    if (mode === 'set') {
      const now = Date.now();
      for (const w of writes) {
        if (w.raw.kind === 'tomb') this.#recent.tomb(w.key, w.raw.expiresAt, now);
        else this.#recent.value(w.key, now);
      }
    }
    return super.writeRaw(writes, mode);
  }

  protected override async swapRaw(swaps: readonly RawSwap<CacheRecord>[]): Promise<readonly boolean[]> {
    const swapped = await super.swapRaw(swaps);
    const now = Date.now();
    swapped.forEach((ok, i) => {
      if (!ok) return;
      const w = swaps[i]!;
      if (w.raw.kind === 'tomb') this.#recent.tomb(w.key, w.raw.expiresAt, now);
      else this.#recent.value(w.key, now);
    });
    return swapped;
  }

  protected peekRecord(key: string): CacheRecord | undefined {
    return this.#lru.peek(key);
  }

  protected readRecord(key: string): CacheRecord | undefined {
    return this.#lru.get(key);
  }

  protected writeRecord(key: string, record: CacheRecord): void {
    this.#lru.set(key, record);
  }

  protected removeRecord(key: string): void {
    this.#lru.delete(key);
  }

  /** Nothing to close: entries stay until evicted. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
