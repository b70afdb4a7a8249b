import { NEVER } from '@stockpyle/core';
import { MAX_RELATIVE_EXPIRY, toMemcachedExpiry } from '@stockpyle/memcache';

describe('toMemcachedExpiry()', () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
  const DAY = 86_400_000;

  it('is 0 ("never") only for NEVER', () => {
    expect(toMemcachedExpiry(NEVER, now)).toBe(0);
    expect(toMemcachedExpiry(now + 1, now)).not.toBe(0);
  });

  it('is undefined for an expiry already past or due now, so nothing is stored', () => {
    expect(toMemcachedExpiry(now, now)).toBeUndefined();
    expect(toMemcachedExpiry(now - 1, now)).toBeUndefined();
    expect(toMemcachedExpiry(-1, now)).toBeUndefined();
    expect(toMemcachedExpiry(Number.NaN, now)).toBeUndefined();
  });

  it('rounds fractions of a second up and adds a second for memcached\'s coarse clock', () => {
    expect(toMemcachedExpiry(now + 1, now)).toBe(2);
    expect(toMemcachedExpiry(now + 999, now)).toBe(2);
    expect(toMemcachedExpiry(now + 1000, now)).toBe(2);
    expect(toMemcachedExpiry(now + 1001, now)).toBe(3);
    expect(toMemcachedExpiry(now + 60_000, now)).toBe(61);
  });

  it('stays relative up to 30 days, memcached\'s limit for relative expiries', () => {
    expect(MAX_RELATIVE_EXPIRY).toBe(2_592_000);
    expect(toMemcachedExpiry(now + 29 * DAY, now)).toBe(29 * 86_400 + 1);
    const last = now + (MAX_RELATIVE_EXPIRY - 1) * 1000;
    expect(toMemcachedExpiry(last, now)).toBe(MAX_RELATIVE_EXPIRY);
  });

  it('becomes an absolute Unix time (rounded up) beyond 30 days', () => {
    const at = now + 30 * DAY;
    expect(toMemcachedExpiry(at, now)).toBe(Math.ceil(at / 1000) + 1);
    expect(toMemcachedExpiry(now + 365 * DAY, now)).toBe(Math.ceil((now + 365 * DAY) / 1000) + 1);
    expect(toMemcachedExpiry(now + 30 * DAY + 1, now)).toBeGreaterThan(MAX_RELATIVE_EXPIRY);
  });

  it('never sends a relative value memcached would read as absolute, at any sub-second offset', () => {
    for (let ms = 30 * DAY - 3000; ms <= 30 * DAY + 3000; ms += 7) {
      const exptime = toMemcachedExpiry(now + ms, now)!;
      if (exptime <= MAX_RELATIVE_EXPIRY) expect(exptime * 1000).toBeGreaterThanOrEqual(ms);
      else expect(exptime * 1000).toBeGreaterThanOrEqual(now + ms);
    }
  });

  it('caps absolute times at the protocol\'s 32-bit field', () => {
    expect(toMemcachedExpiry(Date.UTC(9999, 0, 1), now)).toBe(0xffff_ffff);
  });
});
