/** What an LRU tier last wrote at one key. */
interface Written {
  /** Until when a tombstone written there would block fills (0: none outstanding). */
  readonly tombUntil: number;
  /** When a value was last written there (-Infinity: never). */
  readonly valueAt: number;
  /** When this entry was last updated; the map is kept in this order. */
  readonly at: number;
}

/**
 * What an LRU tier wrote lately, so that evicting a tombstone or a just-written value does not let a
 * late fill of an older version in. Answers as the evicted entries would have: a tombstone blocks
 * every fill until it expires or a value replaces it; a value blocks fills whose read started no
 * later than it was written. Bounded: past `max` keys the oldest are forgotten, and what they could
 * have blocked is then blocked for every key (a miss is always safe).
 */
export class RecentWrites {
  readonly #windowMs: number;
  readonly #max: number;
  readonly #keys = new Map<string, Written>();
  /** The union of what forgotten entries blocked. */
  #floor = { tombUntil: 0, valueAt: -Infinity };

  /** `windowMs`: how long after its read a fill may still be written (a tombstone's lifetime is enough). */
  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  /** A tombstone was written at `key`, blocking fills until `until` (epoch ms). */
  tomb(key: string, until: number, now: number): void {
    const before = this.#keys.get(key);
    this.#set(key, { tombUntil: Math.max(until, before?.tombUntil ?? 0), valueAt: before?.valueAt ?? -Infinity, at: now }, now);
  }

  /** A value was written at `key` (a commit replacing a tombstone, or a plain put). */
  value(key: string, now: number): void {
    this.#set(key, { tombUntil: 0, valueAt: now, at: now }, now);
  }

  /** Whether a fill of `key` from a read that started at `readStartedAt` might be older than what was written. */
  blocks(key: string, readStartedAt: number, now: number): boolean {
    this.#prune(now);
    const floor = this.#floor;
    if (now < floor.tombUntil || readStartedAt <= floor.valueAt) return true;
    const written = this.#keys.get(key);
    return written !== undefined && (now < written.tombUntil || readStartedAt <= written.valueAt);
  }

  clear(): void {
    this.#keys.clear();
    this.#floor = { tombUntil: 0, valueAt: -Infinity };
  }

  #set(key: string, written: Written, now: number): void {
    this.#keys.delete(key);
    this.#keys.set(key, written);
    if (this.#keys.size <= this.#max) return;
    this.#prune(now);
    for (const [oldest, w] of this.#keys) {
      if (this.#keys.size <= this.#max) break;
      this.#keys.delete(oldest);
      this.#floor = { tombUntil: Math.max(this.#floor.tombUntil, w.tombUntil), valueAt: Math.max(this.#floor.valueAt, w.valueAt) };
    }
  }

  /** Entries that can block nothing any more: no live tombstone, and a value older than any fill still accepted. */
  #prune(now: number): void {
    for (const [key, w] of this.#keys) {
      if (now - w.at < this.#windowMs || now < w.tombUntil) return;
      this.#keys.delete(key);
    }
  }
}
