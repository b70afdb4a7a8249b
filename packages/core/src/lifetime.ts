import { ConfigurationError } from './errors';
import type { Duration, Lifetime, LifetimeFn } from './types';

const UNIT_MS: Record<keyof Duration, number> = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
  milliseconds: 1,
};

/** `0` in an expiry means "no expiry": the object stays until evicted or deleted. */
export const NEVER = 0;

/**
 * Turns a lifetime into an absolute expiry in epoch milliseconds: `NEVER` for `undefined`, and a
 * value `<= now` for a lifetime already past (the caller then does not store the object).
 */
export function expiryOf(lifetime: Lifetime | undefined, now: number): number {
  if (lifetime === undefined) return NEVER;
  if (typeof lifetime === 'number') {
    if (!Number.isFinite(lifetime)) throw new ConfigurationError(`A lifetime must be a finite number of seconds, got ${lifetime}`);
    // A zero or negative number of seconds is already past; keep the result distinct from NEVER.
    return lifetime > 0 ? now + Math.ceil(lifetime * 1000) : Math.min(now, now + lifetime * 1000) || -1;
  }
  if (lifetime instanceof Date) {
    const t = lifetime.getTime();
    if (Number.isNaN(t)) throw new ConfigurationError('A lifetime Date is invalid');
    return t === NEVER ? -1 : t;
  }
  if (typeof lifetime === 'object' && lifetime !== null) {
    let ms = 0;
    for (const unit of Object.keys(lifetime) as (keyof Duration)[]) {
      const factor = UNIT_MS[unit];
      const amount = lifetime[unit];
      if (factor === undefined || typeof amount !== 'number' || !Number.isFinite(amount)) {
        throw new ConfigurationError(`A lifetime duration takes days, hours, minutes, seconds, milliseconds; got ${unit}: ${String(amount)}`);
      }
      ms += amount * factor;
    }
    return ms > 0 ? now + Math.ceil(ms) : Math.min(now, now + ms) || -1;
  }
  throw new ConfigurationError(`A lifetime is a number of seconds, a Date or a duration object, got ${typeof lifetime}`);
}

/** True when an expiry is set and has passed. */
export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt !== NEVER && expiresAt <= now;
}

/** Validates a `lifetime` option eagerly, as constructors must. */
export function checkLifetimeOption(lifetime: unknown): LifetimeFn | undefined {
  if (lifetime === undefined) return undefined;
  if (typeof lifetime !== 'function') {
    throw new ConfigurationError('lifetime must be a function (obj) => seconds | Date | duration | undefined');
  }
  return lifetime as LifetimeFn;
}
