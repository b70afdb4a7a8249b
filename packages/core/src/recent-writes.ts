/** What an LRU tier last wrote at one key. */
interface Written {
  readonly key: string;
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
  /**
   * Entries in the order they were written, oldest from `#head` on; one is current only while
   * `#keys` still holds it. Forgetting the oldest is then O(1), where iterating a Map from its start
   * would step over every entry deleted before.
   */
  #order: Written[] = [];
  #head = 0;
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
    this.#set({ key, tombUntil: Math.max(until, before?.tombUntil ?? 0), valueAt: before?.valueAt ?? -Infinity, at: now }, now);
  }

  /** A value was written at `key` (a commit replacing a tombstone, or a plain put). */
  value(key: string, now: number): void {
    this.#set({ key, tombUntil: 0, valueAt: now, at: now }, now);
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
    this.#order = [];
    this.#head = 0;
    this.#floor = { tombUntil: 0, valueAt: -Infinity };
  }

  #set(written: Written, now: number): void {
    this.#keys.set(written.key, written);
    this.#order.push(written);
    if (this.#keys.size > this.#max) {
      this.#prune(now);
      while (this.#keys.size > this.#max) {
        const oldest = this.#oldest();
        if (oldest === undefined) break;
        this.#forget(oldest);
        this.#floor = { tombUntil: Math.max(this.#floor.tombUntil, oldest.tombUntil), valueAt: Math.max(this.#floor.valueAt, oldest.valueAt) };
      }
    }
    this.#compact();
  }

  /** Entries that can block nothing any more: no live tombstone, and a value older than any fill still accepted. */
  #prune(now: number): void {
    for (let w = this.#oldest(); w !== undefined; w = this.#oldest()) {
      if (now - w.at < this.#windowMs || now < w.tombUntil) return;
      this.#forget(w);
    }
  }

  /** The oldest current entry, stepping over the ones written again since. */
  #oldest(): Written | undefined {
    while (this.#head < this.#order.length) {
      const w = this.#order[this.#head]!;
      if (this.#keys.get(w.key) === w) return w;
      this.#head++;
    }
    return undefined;
  }

  #forget(w: Written): void {
    this.#keys.delete(w.key);
    this.#head++;
  }

  /**
   * Drops the queue's consumed start once it is as long as the rest, and entries written again since
   * once they outnumber the current ones: each copy is paid for by as many pushes, so O(1) amortized.
   */
  #compact(): void {
    const held = this.#order.length - this.#head;
    if (held > 2 * this.#keys.size + 1024) {
      this.#order = this.#order.slice(this.#head).filter((w) => this.#keys.get(w.key) === w);
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head >= held) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
