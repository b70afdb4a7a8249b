/**
 * When an LRU tier last wrote each key (tombstones, commits, puts), for `windowMs`. An LRU may evict
 * a tombstone or a just-committed value at once, and a late fill of an older version would then
 * find the key empty; the tier asks this instead. Bounded: past `max` keys the oldest are forgotten
 * and fills whose reads started before them are refused (a miss is always safe).
 */
export class RecentWrites {
  readonly #windowMs: number;
  readonly #max: number;
  /** Key → when it was last written; insertion order is time order. */
  readonly #at = new Map<string, number>();
  /** When the latest forgotten write happened. */
  #floor = -Infinity;

  /** `windowMs` at least as long as fills are accepted after their read (a tombstone's lifetime). */
  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  /** Records a write of `key` at `now`. */
  note(key: string, now: number): void {
    this.#at.delete(key);
    this.#at.set(key, now);
    if (this.#at.size <= this.#max) return;
    this.#prune(now);
    for (const [oldest, at] of this.#at) {
      if (this.#at.size <= this.#max) break;
      this.#at.delete(oldest);
      this.#floor = Math.max(this.#floor, at);
    }
  }

  /**
   * Whether `key` may have been written at or after `readStartedAt` (same millisecond included: the
   * read may have seen the version before). Writes older than the window no longer count.
   */
  since(key: string, readStartedAt: number, now: number): boolean {
    this.#prune(now);
    if (readStartedAt <= this.#floor) return true;
    const at = this.#at.get(key);
    return at !== undefined && at >= readStartedAt;
  }

  clear(): void {
    this.#at.clear();
    this.#floor = -Infinity;
  }

  #prune(now: number): void {
    for (const [key, at] of this.#at) {
      if (now - at < this.#windowMs) return;
      this.#at.delete(key);
    }
  }
}
