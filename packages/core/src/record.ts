/**
 * What a cache tier holds under one key: a value with its expiry (under the object's anchor key),
 * a pointer to the anchor (under every other key), or a tombstone that marks an anchor as recently
 * invalidated so that no late fill can put an older value back.
 */
export type CacheRecord = ValueRecord | PointerRecord | TombRecord;

export interface ValueRecord {
  readonly kind: 'value';
  readonly obj: object;
  /** Epoch milliseconds, or 0 (`NEVER`). */
  readonly expiresAt: number;
}

export interface TombRecord {
  readonly kind: 'tomb';
  /** Identifies the write that placed it, so only that write may replace it with its value. */
  readonly token: string;
  readonly expiresAt: number;
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
