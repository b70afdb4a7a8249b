/**
 * What a cache tier holds under one key: a value with its expiry (under the object's anchor key),
 * a pointer to the anchor (under every other key), a tombstone that marks an anchor as being
 * written or recently invalidated, or a remembered miss (the database had nothing for that key).
 * docs/ARCHITECTURE.md ("The fill protocol") says how each blocks or admits a fill.
 */
export type CacheRecord = ValueRecord | PointerRecord | TombRecord | MissRecord;

export interface ValueRecord {
  readonly kind: 'value';
  readonly obj: object;
  /** Epoch milliseconds, or 0 (`NEVER`). */
  readonly expiresAt: number;
  /**
   * Set on a value that expires before a tombstone would: the entry stays until then, read as a
   * settled tombstone once the value has expired, so it keeps blocking fills of older reads.
   */
  readonly holdUntil?: number;
  /** Makes a held entry unique, so a fill can compare-and-swap exactly the one its read saw. */
  readonly token?: string;
  /** In-process tiers: when it was written (fill or commit), for a chain's `maxStaleWhileDisconnected`. */
  readonly writtenAt?: number;
  /**
   * The generation of the class's hierarchy the writer saw (`clear(Class)`): an entry of any other
   * generation reads as cleared (docs/ARCHITECTURE.md, "Clearing a class").
   */
  readonly gen?: string;
}

export interface TombRecord {
  readonly kind: 'tomb';
  /** Identifies the write or invalidation that placed it: a fill or commit swaps exactly this one. */
  readonly token: string;
  readonly expiresAt: number;
  /**
   * A *settled* tombstone stands for a change the database already has (a delete done, an
   * invalidation after a commit): a fill whose read saw it may replace it. Without it, the tombstone
   * is a *reservation* — a write whose database call may still be in flight — and blocks every fill.
   */
  readonly settled?: boolean;
  /**
   * On a settled tombstone: a reader is filling it from the database until then (epoch ms), so
   * others wait a moment and read the tier again instead of all going to the database (`fillLease`).
   */
  readonly leaseUntil?: number;
}

/**
 * Under an alternate key: where the value is. A pointer is only a hint — a reader follows it and
 * accepts the value only if it still carries the queried attributes — so pointers never go stale.
 */
export interface PointerRecord {
  readonly kind: 'ptr';
  /** The anchor key holding the value. */
  readonly key: string;
  readonly expiresAt: number;
}

/** The database had no object for this key when a read looked (opt-in: `missLifetime`). */
export interface MissRecord {
  readonly kind: 'miss';
  readonly token: string;
  readonly expiresAt: number;
  /** As on a value: the entry outlives a brief miss until a tombstone would have expired. */
  readonly holdUntil?: number;
  /** As on a value: when an in-process tier wrote it. */
  readonly writtenAt?: number;
  /** As on a value: the class generation it belongs to. */
  readonly gen?: string;
}

/** Until when the backend keeps the entry (a held value or miss outlives its own expiry). */
export function heldUntil(record: CacheRecord): number {
  return (record.kind === 'value' || record.kind === 'miss') && record.holdUntil !== undefined ? record.holdUntil : record.expiresAt;
}
