import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type fc from 'fast-check';
import { TierUnavailableError } from '@stockpyle/core';

/**
 * A clock the tests move by hand. Installed as `Date.now`, it is what tombstone expiry, the chain's
 * "fill too late" rule, lifetimes and the fakes' expiry all read, so time passes only when a
 * schedule says so.
 */
export class FakeClock {
  static readonly START = Date.UTC(2030, 0, 1);
  now = FakeClock.START;

  /** Makes `Date.now()` read this clock; returns the undo. */
  install(): () => void {
    // A plain replacement: a jest mock would record every one of millions of calls.
    const original = Date.now;
    Date.now = () => this.now;
    return () => {
      Date.now = original;
    };
  }

  /**
   * Starts the next schedule an hour after the last one ended, never earlier: what a client keeps
   * across schedules (memcached's time of its last broken connection, which refuses fills for a
   * tombstone's lifetime after it) must not fall in the next schedule's future.
   */
  reset(): void {
    this.now = Math.max(FakeClock.START, this.now + 3_600_000);
  }
}

/**
 * The network bound of the timing rules: a cache operation or a database write answers within this
 * many ms of being sent (a database query may take any time). Tombstones live 5 s, fills are dropped
 * when their read started more than 2.5 s earlier; the protocol is safe while 3 bounds fit in 2.5 s.
 */
export const MAX_FLIGHT_MS = 500;

/** What a scenario runs an operation under, so raw operations can be traced back to it. */
export interface OpContext {
  /** Raw operations issued under this context count towards the world's fault plan. */
  readonly faulted: boolean;
  /** Where a database write made by the operation reports the history index it produced. */
  readonly receipt?: Receipt;
}

/** What an operation that writes the database leaves in its history. */
export interface Receipt {
  /** The history index of the state its write produced. */
  seq?: number;
  /**
   * Whether the caches learn of the write only after the database has it (a delete, a write by
   * an ORM followed by `invalidate`): until the operation returns, the previous version may
   * still be served, as the design allows.
   */
  readonly invalidatesAfter: boolean;
  /**
   * Whether another write of the same object ran at the same time. Concurrent writers may reserve
   * in one order and commit to the database in the other; the chain cannot see the database's
   * order, so until both have returned the one that committed first may still be served.
   */
  contested: boolean;
  /** World event count when the operation returned; Infinity while it runs. */
  doneAt: number;
}

export const opContext = new AsyncLocalStorage<OpContext>();

/** How the k-th raw operation of a faulted write fails. */
export type FaultMode = 'request' | 'reply' | 'crash';

/**
 * Fails the k-th raw operation issued by a faulted operation (counted over every tier and the
 * database): 'request' never arrives, 'reply' arrives but its answer is lost, 'crash' takes the
 * server down (losing its data) from that operation on, until the scenario heals it.
 */
export class FaultPlan {
  #issued = 0;
  /** Label of the operation that failed, once it has. */
  firedAt: string | undefined;

  constructor(
    readonly k: number,
    readonly mode: FaultMode,
  ) {}

  /** Called as a raw operation is issued: whether it is the one to fail. */
  claim(label: string): FaultMode | undefined {
    if (opContext.getStore()?.faulted !== true) return undefined;
    if (++this.#issued !== this.k) return undefined;
    this.firedAt = label;
    return this.mode;
  }
}

/** Something that can go down: a fake server, or a real one seen through the test's gate. */
export interface Crashable {
  crash(): void | Promise<void>;
}

/**
 * Where every server-side effect waits for the scheduler. Each raw operation is two scheduled steps:
 * its effect (the request reaching the server) and its answer (the reply reaching the client), so a
 * schedule decides both the order in which effects land and how late each caller hears of them.
 * With no scheduler set, effects happen at once (set-up and the final checks).
 */
export class Gates {
  scheduler: fc.Scheduler | undefined;
  plan: FaultPlan | undefined;
  /** How far the clock moves while each successive message travels (cycled), within the network bound. */
  delays: readonly number[] = [];
  /** Run after the clock has moved before a real server's operation (the server's clock cannot move). */
  afterTravel: (() => Promise<void>) | undefined;
  #delay = 0;
  readonly #inFlight = new Set<{ readonly issuedAt: number }>();

  constructor(readonly clock: FakeClock) {}

  /**
   * A raw operation whose effect is synchronous (a fake server, the fake database). `bounded`
   * operations finish within the network bound (see `horizon`); a database query may take any time.
   */
  async step<T>(label: string, effect: () => T, server?: Crashable, bounded = true): Promise<T> {
    const s = this.scheduler;
    if (s === undefined) return effect();
    const flight = { issuedAt: this.clock.now };
    const fault = this.plan?.claim(label);
    if (bounded) this.#inFlight.add(flight);
    try {
      await s.schedule(Promise.resolve(), label);
      this.#travel();
      if (fault === 'crash') server?.crash();
      if (fault === 'request' || (fault === 'crash' && server === undefined)) throw injected(label);
      const out = effect();
      if (fault === 'reply') throw injected(label);
      await s.schedule(Promise.resolve(), `${label}:reply`);
      this.#travel();
      return out;
    } finally {
      this.#inFlight.delete(flight);
    }
  }

  /**
   * A raw operation on a real server: the scheduler waits until the server has answered before it
   * releases anything else, so effects land in the order the schedule chose.
   */
  async stepAsync<T>(label: string, effect: () => Promise<T>, server?: Crashable): Promise<T> {
    const s = this.scheduler;
    if (s === undefined) return effect();
    const bound = AsyncResource.bind(effect);
    const flight = { issuedAt: this.clock.now };
    const fault = this.plan?.claim(label);
    this.#inFlight.add(flight);
    try {
      const out = await exclusive(s, label, async () => {
        if (this.#travel()) await this.afterTravel?.();
        if (fault === 'crash') await server?.crash();
        if (fault === 'request' || (fault === 'crash' && server === undefined)) throw injected(label);
        return bound();
      });
      if (fault === 'reply') throw injected(label);
      await s.schedule(Promise.resolve(), `${label}:reply`);
      return out;
    } finally {
      this.#inFlight.delete(flight);
    }
  }

  /** Runs `fn` as one scheduled step that nothing else overlaps (moving the clock, crashing a server). */
  async exclusive(label: string, fn: () => void | Promise<void>): Promise<void> {
    const s = this.scheduler;
    if (s === undefined) return fn();
    const bound = AsyncResource.bind(async () => fn());
    return exclusive(s, label, bound);
  }

  /** Moves the clock by `ms`, as far as the network bound allows; whether it moved. */
  advance(ms: number): boolean {
    const before = this.clock.now;
    this.clock.now = Math.max(before, Math.min(before + ms, this.horizon(MAX_FLIGHT_MS)));
    return this.clock.now !== before;
  }

  /** Moves the clock by the next delay; whether it moved. */
  #travel(): boolean {
    return this.delays.length > 0 && this.advance(this.delays[this.#delay++ % this.delays.length]!);
  }

  /** Waits for the scheduler to let an operation start. */
  async start(label: string): Promise<void> {
    if (this.scheduler !== undefined) await this.scheduler.schedule(Promise.resolve(), label);
  }

  /**
   * The latest time the clock may move to if no bounded operation is to take longer than
   * `maxFlight` from issue to answer: the network bound the chain's timing rules rely on (a fill
   * lands soon after it is sent; a write-through reaches the database soon after it reserves).
   */
  horizon(maxFlight: number): number {
    let limit = Infinity;
    for (const f of this.#inFlight) limit = Math.min(limit, f.issuedAt + maxFlight);
    return limit;
  }
}

function injected(label: string): TierUnavailableError {
  return new TierUnavailableError(`${label} failed (injected by the race test)`);
}

/**
 * Runs `effect` as one scheduled task that the scheduler waits for, so nothing else is released
 * while a real server is working on it.
 */
function exclusive<T>(s: fc.Scheduler, label: string, effect: () => Promise<T>): Promise<T> {
  let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  const sequence = s.scheduleSequence([
    {
      label,
      builder: async () => {
        try {
          result = { ok: true, value: await effect() };
        } catch (error) {
          result = { ok: false, error };
        }
      },
    },
  ]);
  return sequence.task.then(() => {
    if (result === undefined) throw new Error(`${label} never ran`);
    if (!result.ok) throw result.error;
    return result.value;
  });
}

/**
 * Releases scheduled tasks one at a time until `until` settles. Before each release every runnable
 * continuation is allowed to reach its next scheduled point (a macrotask boundary drains them all),
 * so the choice at each step is among everything that could happen next.
 */
export async function drive(s: fc.Scheduler, until: Promise<unknown>): Promise<void> {
  let settled = false;
  until.then(
    () => (settled = true),
    () => (settled = true),
  );
  let idle = 0;
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (settled) return;
    if (s.count() > 0) {
      idle = 0;
      await s.waitOne();
      continue;
    }
    // Nothing scheduled but work pending: real I/O outside any gate (a connection being opened).
    if (++idle > 20_000) throw new Error('race driver: operations pending but nothing scheduled (deadlock)');
  }
}
