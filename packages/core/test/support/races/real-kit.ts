import fc from 'fast-check';
import { TierUnavailableError, decodeRecord, type BaseCacheStore, type CacheStoreOptions, type CacheTier, type RawSwap, type RawWrite } from '@stockpyle/core';
import type { Crashable, Gates } from './gates';
import type { Kind, ServerHandle, TierKit, World } from './world';

/** The raw operations of a cache store, as the tests reach them (they are protected). */
interface RawOps {
  readRaw(keys: readonly string[], versions: unknown[]): Promise<readonly (string | undefined)[]>;
  writeRaw(writes: readonly RawWrite<string>[], mode: 'set' | 'add'): Promise<void>;
  swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]>;
  removeRaw(keys: readonly string[]): Promise<void>;
  noteTrouble(): void;
}

function raw(store: BaseCacheStore<string>): RawOps {
  return store as unknown as RawOps;
}

/**
 * One real server as a schedule sees it: its stores' raw operations wait for the scheduler (the
 * scheduler waits for the server's answer before releasing anything else); it can be cut off or
 * crash as seen from the client (calls fail; a crash also deletes what the schedule wrote) and
 * come back. `admin` is an ungated store on the same server, for the test's own reads and deletes.
 */
class RealServer implements ServerHandle, Crashable {
  #up = true;
  /** Moves on at each crash: the connections before it are gone. */
  #epoch = 0;
  readonly #keys = new Set<string>();
  /** The gated stores: a crash breaks their connections, which a real store notices (`noteTrouble`). */
  readonly #stores: BaseCacheStore<string>[] = [];

  constructor(
    readonly name: string,
    private readonly gates: Gates,
    private readonly admin: BaseCacheStore<string>,
  ) {}

  get up(): boolean {
    return this.#up;
  }

  /** Makes `store`'s raw operations go through the scheduler and this server's state. */
  gate(store: BaseCacheStore<string>): void {
    this.#stores.push(store);
    const ops = raw(store);
    const original = { readRaw: ops.readRaw, writeRaw: ops.writeRaw, swapRaw: ops.swapRaw, removeRaw: ops.removeRaw };
    const run = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      // A request travels on the connection it was sent on: one a crash reset never reaches the
      // restarted server (the fakes' epochs, fake-servers.ts, model the same).
      const epoch = this.#epoch;
      return this.gates.stepAsync(
        `${store.name}.${what}`,
        () => {
          if (!this.#up) return Promise.reject(new TierUnavailableError(`${this.name} is down`));
          if (epoch !== this.#epoch) return Promise.reject(new TierUnavailableError(`${this.name}: connection reset`));
          return fn();
        },
        this,
      );
    };
    ops.readRaw = (keys, versions) => run('get', () => original.readRaw.call(store, keys, versions));
    ops.writeRaw = (writes, mode) => {
      for (const w of writes) this.#keys.add(w.key);
      return run(mode, () => original.writeRaw.call(store, writes, mode));
    };
    ops.swapRaw = (swaps) => {
      for (const w of swaps) this.#keys.add(w.key);
      return run('cas', () => original.swapRaw.call(store, swaps));
    };
    ops.removeRaw = (keys) => run('delete', () => original.removeRaw.call(store, keys));
  }

  async crash(): Promise<void> {
    this.#up = false;
    this.#epoch++;
    // The server's sockets close: each store's client sees it at once (RedisStore's 'close'
    // listener, memcache's connection errors), before it can send anything to the restarted server.
    for (const store of this.#stores) raw(store).noteTrouble();
    if (this.#keys.size > 0) await raw(this.admin).removeRaw([...this.#keys]);
  }

  cutOff(): void {
    this.#up = false;
  }

  restart(): void {
    this.#up = true;
  }

  /**
   * The server's own clock cannot follow the fake one: deletes what has expired by the fake clock
   * (tombstones and values alike), as the server would have.
   */
  async expire(now: number): Promise<void> {
    const keys = [...this.#keys];
    if (keys.length === 0) return;
    const raws = await raw(this.admin).readRaw(keys, []);
    const gone = keys.filter((_k, i) => {
      const value = raws[i];
      if (value === undefined) return false;
      const record = decodeRecord(value);
      // What the server's own expiry would have dropped: held values and misses live until their hold.
      const until = 'holdUntil' in record && typeof record.holdUntil === 'number' ? record.holdUntil : 'expiresAt' in record ? record.expiresAt : 0;
      return until !== 0 && until <= now;
    });
    if (gone.length > 0) await raw(this.admin).removeRaw(gone);
  }
}

/** How a real-server suite makes its stores: over one client it owns, with the options given. */
export interface RealBackend {
  readonly kind: Kind;
  create(options: CacheStoreOptions & { name: string; prefix: string }): BaseCacheStore<string>;
}

let schedules = 0;

/**
 * Shared tiers on a real memcached or Redis. Each schedule writes under its own key prefix (one per
 * tier), so schedules never see each other's keys; each process gets its own store instances.
 */
export function realKit(backend: RealBackend): TierKit {
  const servers = new WeakMap<World, { handles: RealServer[]; prefixes: string[] }>();
  return {
    name: `real ${backend.kind}`,
    kinds: (n) => fc.constant(Array.from({ length: n }, () => backend.kind)),
    open(world, kinds) {
      const run = `race${process.pid}x${++schedules}`;
      const prefixes = kinds.map((_k, i) => `${run}t${i}`);
      const handles = prefixes.map((prefix, i) => new RealServer(`${backend.kind}${i}`, world.gates, backend.create({ name: `admin${i}`, prefix })));
      servers.set(world, { handles, prefixes });
      return handles;
    },
    tiers(world, proc, options): CacheTier[] {
      const { handles, prefixes } = servers.get(world)!;
      return handles.map((handle, i) => {
        const store = backend.create({ ...options, name: `${handle.name}@${proc}`, prefix: prefixes[i]! });
        handle.gate(store);
        return store;
      });
    },
    async expire(world) {
      for (const handle of servers.get(world)!.handles) await handle.expire(world.clock.now);
    },
    async close(world) {
      const { handles } = servers.get(world)!;
      // Leave nothing behind on the shared server.
      for (const handle of handles) {
        handle.restart();
        await handle.crash();
      }
    },
  };
}
