/**
 * What a cache tier holds under one key: a live value with its expiry, or a tombstone that marks
 * the key as recently invalidated so that no late fill can put an older value back.
 */
export type CacheRecord = ValueRecord | TombRecord;

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
