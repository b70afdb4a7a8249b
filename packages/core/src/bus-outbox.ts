import { encodeBusMessages } from './bus-message';
import { withDeadline } from './deadline';
import { BusPublishError } from './errors';

/** Options of `BusOutbox`. */
export interface BusOutboxOptions {
  /** The publishing bus's id, written into every message. */
  readonly origin: string;
  /** Shown in error messages. */
  readonly name: string;
  /** Sends one message on the transport; the outbox bounds it with `timeout`. */
  readonly send: (message: string) => Promise<void>;
  /** Called with the keys of a message that failed every attempt (or did not fit), and why. */
  readonly onDropped: (error: unknown, keys: readonly string[]) => void;
  /** Largest message in UTF-8 bytes; a batch that does not fit is split. */
  readonly maxMessageBytes: number;
  /** Milliseconds one attempt to send may take. */
  readonly timeout: number;
  /** Attempts after the first, each after `retryDelay(n)` ms. */
  readonly retries: number;
  /** Milliseconds before retry `n` (1, 2, …). @default busRetryDelay (100, 300, 900 ms, …) */
  readonly retryDelay?: (n: number) => number;
  /** Messages waiting for a retry at most; past it the oldest is dropped (and reported). */
  readonly maxWaiting: number;
  /** Runs the flush of one batch; `setImmediate` by default, so every publish of one turn of the event loop shares it. */
  readonly schedule?: (flush: () => void) => void;
}

/** Delay before retry `n` (1, 2, …): 100 ms, 300 ms, 900 ms, … */
export function busRetryDelay(n: number): number {
  return 100 * 3 ** Math.min(Math.max(n, 1) - 1, 6);
}

interface Outgoing {
  readonly text: string;
  /** Attempts made so far. */
  attempts: number;
  timer?: NodeJS.Timeout;
}

/**
 * Turns a transport's "send one message" into a bus's `publish`: collects keys until the next turn
 * of the event loop, sends them deduplicated in as few size-bound messages as fit, retries a failed
 * message a bounded number of times, then reports it. Invalidations are idempotent, so a retry may
 * overtake a newer message without harm.
 */
export class BusOutbox {
  readonly #options: BusOutboxOptions;
  #batch = new Set<string>();
  #scheduled = false;
  readonly #waiting: Outgoing[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** While close() runs, a failure is final: no retry timer may outlive it. */
  #closing = false;

  constructor(options: BusOutboxOptions) {
    this.#options = options;
  }

  /** Adds keys to the current batch. */
  add(keys: readonly string[]): void {
    for (const key of keys) this.#batch.add(key);
    if (this.#scheduled || this.#batch.size === 0) return;
    this.#scheduled = true;
    (this.#options.schedule ?? setImmediate)(() => this.#flushBatch());
  }

  /**
   * Sends the current batch now, gives every message waiting for a retry one last attempt, and
   * waits for all sends to settle; what still fails is reported. For `release()`.
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.#flushBatch();
      for (const out of this.#waiting.splice(0)) {
        clearTimeout(out.timer);
        this.#attempt(out);
      }
      while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    } finally {
      this.#closing = false;
    }
  }

  #flushBatch(): void {
    this.#scheduled = false;
    if (this.#batch.size === 0) return;
    const keys = [...this.#batch];
    this.#batch = new Set();
    const { origin, maxMessageBytes, name } = this.#options;
    const { messages, oversized } = encodeBusMessages(origin, keys, maxMessageBytes);
    if (oversized.length > 0) {
      this.#options.onDropped(
        new BusPublishError(`${name}: ${oversized.length} key(s) do not fit in a message of ${maxMessageBytes} bytes; raise maxMessageBytes`),
        oversized,
      );
    }
    for (const text of messages) this.#attempt({ text, attempts: 0 });
  }

  #attempt(out: Outgoing): void {
    out.attempts += 1;
    const { send, timeout, name } = this.#options;
    const sending = (async () => {
      try {
        await withDeadline(Promise.resolve().then(() => send(out.text)), timeout, `${name} publish`);
      } catch (error) {
        this.#failed(out, error);
      }
    })();
    this.#inFlight.add(sending);
    void sending.finally(() => this.#inFlight.delete(sending));
  }

  #failed(out: Outgoing, error: unknown): void {
    const { retries, maxWaiting, name } = this.#options;
    if (out.attempts > retries || this.#closing) {
      const reason = error instanceof Error ? error.message : String(error);
      const keys = keysOf(out.text);
      this.#options.onDropped(new BusPublishError(`${name}: could not publish ${keys.length} key(s) in ${out.attempts} attempts: ${reason}`, { cause: error }), keys);
      return;
    }
    out.timer = setTimeout(() => {
      const i = this.#waiting.indexOf(out);
      if (i >= 0) this.#waiting.splice(i, 1);
      this.#attempt(out);
    }, (this.#options.retryDelay ?? busRetryDelay)(out.attempts));
    out.timer.unref?.();
    this.#waiting.push(out);
    while (this.#waiting.length > maxWaiting) {
      const oldest = this.#waiting.shift()!;
      clearTimeout(oldest.timer);
      this.#options.onDropped(new BusPublishError(`${name}: more than ${maxWaiting} messages wait for a retry; dropped the oldest`, { cause: error }), keysOf(oldest.text));
    }
  }
}

/** The keys of a message this outbox encoded: read back only when reporting it, off the hot path. */
function keysOf(text: string): readonly string[] {
  return (JSON.parse(text) as { k: string[] }).k;
}
