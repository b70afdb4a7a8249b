import { ConfigurationError, expiryOf, isExpired, NEVER } from '@stockpyle/core';

describe('expiryOf()', () => {
  const now = 1_700_000_000_000;

  it('turns seconds, Dates and durations into epoch milliseconds', () => {
    expect(expiryOf(20, now)).toBe(now + 20_000);
    expect(expiryOf(0.0004, now)).toBe(now + 1);
    expect(expiryOf(new Date(now + 5000), now)).toBe(now + 5000);
    expect(expiryOf({ days: 1, hours: 1, minutes: 1, seconds: 1, milliseconds: 1 }, now)).toBe(now + 90_061_001);
  });

  it('means no expiry for undefined', () => {
    expect(expiryOf(undefined, now)).toBe(NEVER);
    expect(isExpired(NEVER, now)).toBe(false);
  });

  it('gives an already-past expiry for zero, negative and past lifetimes, never NEVER', () => {
    for (const past of [0, -5, new Date(now - 1), new Date(0), { seconds: -1 }, {}]) {
      const at = expiryOf(past, now);
      expect(at).not.toBe(NEVER);
      expect(isExpired(at, now)).toBe(true);
    }
  });

  it.each([[NaN], [Infinity], [new Date('x')], [{ weeks: 1 }], [{ seconds: '5' }], ['10']])(
    'throws ConfigurationError for %p',
    (bad) => {
      expect(() => expiryOf(bad as never, now)).toThrow(ConfigurationError);
    },
  );
});
