import { NEVER } from '@stockpyle/core';

/** memcached reads an expiry above this many seconds (30 days) as an absolute Unix time. */
export const MAX_RELATIVE_EXPIRY = 30 * 24 * 60 * 60;

// The expiry field is an unsigned 32-bit number of seconds.
const MAX_EXPTIME = 0xffff_ffff;

/**
 * The one place an absolute expiry (epoch ms, `NEVER` = 0) becomes memcached's `exptime`:
 * - `0` ("never") only for `NEVER`;
 * - seconds from now when that is at most 30 days; an absolute Unix time in seconds beyond;
 * - rounded up, plus one second: memcached's clock ticks once a second and lags the wall clock, so
 *   without it a 1-second entry could vanish at once. The exact expiry is in the envelope and
 *   enforced on every read, so memcached only ever holds an entry a little longer, never shorter;
 * - `undefined` when the expiry is already past: the entry must not be stored.
 */
export function toMemcachedExpiry(expiresAt: number, now: number): number | undefined {
  if (expiresAt === NEVER) return 0;
  const remaining = expiresAt - now;
  if (!(remaining > 0)) return undefined;
  const relative = Math.ceil(remaining / 1000) + 1;
  if (relative <= MAX_RELATIVE_EXPIRY) return relative;
  return Math.min(Math.ceil(expiresAt / 1000) + 1, MAX_EXPTIME);
}
