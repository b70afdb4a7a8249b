import { LRUCache } from 'lru-cache';
import { decodeRecord, encodeRecord } from './codec';
import { ConfigurationError } from './errors';
import { KeyBuilder } from './keys';
import { getMetadata, metadataOf, type ClassMetadata } from './metadata';
import type { Class, KeyQuery } from './types';

/** One remembered version: a detached copy where the class has a serializer, and when it was seen. */
interface Remembered {
  readonly obj: object;
  readonly seenAt: number;
}

/** What `recall` answers for one query. */
export interface Recalled {
  readonly obj: object;
  /** Milliseconds since the version was seen below the first tier, or written. */
  readonly ageMs: number;
}

/**
 * A chain's stale-if-error memory (`ChainedStore` option `grace`): the last version of each object
 * the chain read below its first tier or wrote, under every key of the object, kept for `graceMs`
 * and at most `maxEntries` keys (least recently seen first out). Consulted only when the database
 * fails; nothing here is ever written to a tier. In-process tiers' rule for instances holds: a class
 * with a serializer (an ORM entity) is kept and handed out as detached copies, a plain object as
 * given (see in-process-store.ts `encode`).
 */
export class GraceMemory {
  readonly #ms: number;
  readonly #entries: LRUCache<string, Remembered>;
  readonly #keys = new KeyBuilder();

  constructor(graceSeconds: number, maxEntries: number) {
    this.#ms = graceSeconds * 1000;
    this.#entries = new LRUCache({ max: maxEntries });
  }

  /** Remembers `objs` as seen now. */
  remember(objs: readonly (object | undefined)[], now = Date.now()): void {
    for (const obj of objs) {
      if (obj === undefined) continue;
      const meta = metadataOf(obj);
      const keys = this.#keys.keysOf(meta, obj, true);
      if (keys.length === 0) continue;
      const entry: Remembered = { obj: detach(meta, obj), seenAt: now };
      for (const key of keys) this.#entries.set(key, entry);
    }
  }

  /** Forgets `objs` (deleted, or a write of theirs failed). */
  forget(objs: readonly object[]): void {
    for (const obj of objs) for (const key of this.#keys.keysOf(metadataOf(obj), obj, true)) this.#entries.delete(key);
  }

  /** Per query, the version remembered and its age when it is younger than the grace; `undefined` otherwise. */
  recall<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[], now = Date.now()): (Recalled | undefined)[] {
    const meta = getMetadata(cls);
    return queries.map((query) => {
      const key = this.#keys.build(meta, meta.shapeFor(query), query);
      const entry = key === undefined ? undefined : this.#entries.get(key);
      if (entry === undefined || !(entry.obj instanceof cls)) return undefined;
      const ageMs = now - entry.seenAt;
      if (ageMs > this.#ms) return undefined;
      return { obj: detach(metadataOf(entry.obj), entry.obj), ageMs };
    });
  }
}

/** A copy the application cannot change underneath the memory, for classes an integration serializes. */
function detach(meta: ClassMetadata, obj: object): object {
  const serializer = meta.serializer;
  if (serializer === undefined) return obj;
  if (serializer.copy !== undefined) return serializer.copy(obj);
  const copy = decodeRecord(encodeRecord({ kind: 'value', obj, expiresAt: 0 }));
  if (copy.kind !== 'value') throw new Error(`cannot keep a copy of ${meta.name}: ${JSON.stringify(copy)}`);
  return copy.obj;
}

/** Validates the chain options `grace` (seconds, 0 off) and `graceEntries`. */
export function graceMemoryOf(grace: unknown, graceEntries: unknown): GraceMemory | undefined {
  if (grace !== undefined && (typeof grace !== 'number' || !(grace >= 0) || !Number.isFinite(grace))) {
    throw new ConfigurationError('ChainedStore: grace must be a number of seconds (0 turns stale-if-error off)');
  }
  const max = graceEntries ?? 10_000;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new ConfigurationError('ChainedStore: graceEntries must be a positive integer');
  }
  return grace === undefined || grace === 0 ? undefined : new GraceMemory(grace, max);
}
