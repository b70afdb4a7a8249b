import { NEVER, isExpired } from './lifetime';
import type { CacheRecord } from './record';
import type { CacheTier, Observation } from './store';

/**
 * How a fill (or a commit of a new row) may write at one backend key, decided from what the read
 * before it saw there (docs/ARCHITECTURE.md, "The fill protocol"):
 * - `add`: the key held nothing, so write only where it still holds nothing;
 * - `swap`: it held something a fill may replace — a settled tombstone, a remembered miss, a value
 *   held past its expiry — so replace exactly that entry (compare-and-swap on its identity): any
 *   write or invalidation since has replaced it, and the swap fails;
 * - `skip`: a reservation (a write in flight), a live value, a pointer or an entry this process
 *   cannot read: a fill must not touch it.
 */
export type FillCondition<R> =
  | { readonly mode: 'add' }
  | { readonly mode: 'swap'; readonly expected: R; readonly version: unknown }
  | { readonly mode: 'skip' };

export const ADD: FillCondition<never> = Object.freeze({ mode: 'add' });
export const SKIP: FillCondition<never> = Object.freeze({ mode: 'skip' });

/** One key as a read saw it: the decoded record (`undefined` when nothing usable was there), its raw form and version. */
export interface RawRead<R> {
  readonly record: CacheRecord | undefined;
  readonly raw: R | undefined;
  /** The backend's version of the entry (memcached's CAS unique), when it has one. */
  readonly version: unknown;
  /** An entry that cannot be decoded here but is not garbage (a class this process does not know). */
  readonly foreign?: boolean;
}

/** What a fill may do at a key, given what a read saw there at `now`. */
export function conditionOf<R>(read: RawRead<R> | undefined, now: number): FillCondition<R> {
  if (read === undefined) return ADD;
  const record = read.record;
  if (record === undefined) return read.foreign === true ? SKIP : ADD;
  switch (record.kind) {
    case 'tomb':
      // An expired tombstone still held (an LRU keeps it until evicted) is nothing.
      if (isExpired(record.expiresAt, now)) return ADD;
      return record.settled === true ? swap(read) : SKIP;
    case 'miss':
      return swap(read);
    case 'value':
      // Read past its expiry but still held: it stands for a settled tombstone.
      return record.expiresAt !== NEVER && isExpired(record.expiresAt, now) && record.holdUntil !== undefined ? swap(read) : SKIP;
    case 'ptr':
      return SKIP;
  }
}

/** A swap of exactly the entry `read` saw. */
export function swapOf<R>(read: RawRead<R>): FillCondition<R> {
  return swap(read);
}

function swap<R>(read: RawRead<R>): FillCondition<R> {
  return { mode: 'swap', expected: read.raw as R, version: read.version };
}

/** The generation of a class hierarchy (by its root class's name) a read saw; `value` is `undefined` where none was ever set. */
export interface ClassGeneration {
  readonly root: string;
  readonly value: string | undefined;
}

/** The conditions one tier's read noted at the keys where it missed, for the fill after it. */
export class ReadObservation<R> implements Observation {
  readonly #noted = new Map<string, { readonly read: RawRead<R> | undefined; readonly condition: FillCondition<R> }>();
  /**
   * The generation of the class's hierarchy the read saw (`clear(Class)`): the fill writes under
   * it, so what a read from before a clear fills stays unreachable after it.
   */
  classGen: ClassGeneration | undefined = undefined;

  /**
   * @param generation what the tier counted when the read began (`BaseCacheStore.readGeneration`):
   * a tier that drops everything at once (an in-process `clear()`) refuses fills of older reads.
   */
  constructor(
    readonly observedBy: CacheTier,
    readonly generation = 0,
  ) {}

  note(key: string, read: RawRead<R> | undefined, condition: FillCondition<R>): void {
    this.#noted.set(key, { read, condition });
  }

  /** How a fill may write at `key`: as noted, or `add` where the read did not look. */
  at(key: string): FillCondition<R> {
    return this.#noted.get(key)?.condition ?? ADD;
  }

  /** What the read saw at `key` (for tests that build the naive protocols the race suites must catch). */
  seen(key: string): RawRead<R> | undefined {
    return this.#noted.get(key)?.read;
  }
}
