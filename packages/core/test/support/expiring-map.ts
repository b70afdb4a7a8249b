import type { DictionaryBackend } from '@stockpyle/core';

/** A backend that drops entries when their TTL has passed, as memcached and Redis do. */
export class ExpiringMap implements DictionaryBackend {
  readonly #entries = new Map<string, { value: string; until: number }>();

  get(key: string): string | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.until <= Date.now()) this.#entries.delete(key);
    return this.#entries.get(key)?.value;
  }

  set(key: string, value: string, ttlMs?: number): void {
    this.#entries.set(key, { value, until: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
