import { ConfigurationError } from './errors';

/** When a failing tier is skipped and when it is tried again. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 3 */
  failureThreshold?: number;
  /** Milliseconds the circuit stays open before one trial call is let through. @default 1000 */
  resetAfter?: number;
}

/**
 * Closed: calls go through. After `failureThreshold` consecutive failures it opens and calls are
 * skipped; after `resetAfter` ms one call is let through (half-open): success closes it, failure
 * opens it again.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #resetAfter: number;
  #failures = 0;
  #openedAt: number | undefined;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions = {}) {
    const { failureThreshold = 3, resetAfter = 1000 } = options;
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
      throw new ConfigurationError(`breaker.failureThreshold must be a positive integer, got ${String(failureThreshold)}`);
    }
    if (typeof resetAfter !== 'number' || !(resetAfter >= 0)) {
      throw new ConfigurationError(`breaker.resetAfter must be a number of milliseconds, got ${String(resetAfter)}`);
    }
    this.#threshold = failureThreshold;
    this.#resetAfter = resetAfter;
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#openedAt === undefined) return 'closed';
    return Date.now() - this.#openedAt >= this.#resetAfter ? 'half-open' : 'open';
  }

  /** Whether a call may go through now; in half-open state only one trial at a time. */
  allow(): boolean {
    if (this.#openedAt === undefined) return true;
    if (Date.now() - this.#openedAt < this.#resetAfter || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  /** Records a success; returns true when this closed an open circuit. */
  succeed(): boolean {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#openedAt === undefined) return false;
    this.#openedAt = undefined;
    return true;
  }

  /** Records a failure; returns true when this opened the circuit. */
  fail(): boolean {
    this.#trialInFlight = false;
    this.#failures++;
    const wasOpen = this.#openedAt !== undefined;
    if (wasOpen || this.#failures >= this.#threshold) this.#openedAt = Date.now();
    return !wasOpen && this.#openedAt !== undefined;
  }
}
