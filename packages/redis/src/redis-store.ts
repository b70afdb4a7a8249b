import {
  BaseCacheStore,
  ConfigurationError,
  NEVER,
  StockpyleError,
  TierUnavailableError,
  withDeadline,
  type CacheStoreOptions,
  type RawSwap,
  type RawWrite,
} from '@stockpyle/core';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DEFAULT_TIMEOUT_MS, failFastClusterOptions, failFastOptions } from './client-options';
import { isCluster, runCalls, type RedisCall, type RedisClient, type RoundTripDeadline } from './command-batch';
import { redactCredentials } from './credentials';
import { RedisConnection } from './redis-connection';
import { groupBySlot } from './slots';

/** Options of `RedisStore`: give exactly one of `url` and `client`. */
export interface RedisStoreOptions extends CacheStoreOptions {
  /**
   * A standalone server, `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS), or a
   * list of seed nodes of a Redis Cluster (`['127.0.0.1:7000', 'redis://10.0.0.2:7000']`).
   * The store creates the client, with fail-fast settings, and closes it on `release()`.
   */
  url?: string | readonly string[];
  /** An ioredis `Redis` or `Cluster` you created; the store never closes it. See the README for settings. */
  client?: Redis | Cluster;
  /** Milliseconds one store operation may take before it fails with `TimeoutError`. @default 500 */
  timeout?: number;
  /** ioredis options merged over the store's defaults for a client created from `url` (each node's, for a Cluster). */
  redisOptions?: RedisOptions;
  /** ioredis Cluster options merged over the store's defaults when `url` is a list of seeds. */
  clusterOptions?: ClusterOptions;
}

const CAS_COMMAND = 'stockpyleCompareAndSet';

/**
 * Compare-and-set on one key: replace the value only if it is still exactly ARGV[1] (a write's own
 * reservation, or the tombstone, miss or held value a fill's read saw; each carries a unique token). ARGV[3] is the new expiry in ms, '0' for none. One key, so any Cluster node runs it.
 */
const CAS_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
  return 1
end
return 0`;

/**
 * Objects in Redis, standalone or Cluster, on ioredis. Batches cost one round trip per Redis node
 * touched (MGET, pipelines, grouped by hash slot on a Cluster); fills are `SET NX` and write-through
 * commits a compare-and-set script, so a late back-fill never overwrites a newer write or a deletion.
 */
export class RedisStore extends BaseCacheStore<string> {
  readonly #connection: RedisConnection;
  readonly #timeout: number;

  constructor(options: RedisStoreOptions) {
    super(options);
    const { url, client, timeout = DEFAULT_TIMEOUT_MS, redisOptions, clusterOptions } = options;
    if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
      throw new ConfigurationError(`${this.name}: timeout must be a positive number of milliseconds, got ${String(timeout)}`);
    }
    this.#timeout = timeout;
    this.#connection = new RedisConnection(
      client !== undefined ? checkClient(this.name, options) : createClient(this.name, url, timeout, redisOptions, clusterOptions),
      client === undefined,
      (error) => this.emit({ type: 'error', store: this.name, operation: 'connection', error }),
      () => this.noteTrouble(),
    );
    const created = this.#connection.client;
    // Defined once per client; ioredis sends EVAL the first time on each connection, EVALSHA after.
    if (typeof (created as unknown as Record<string, unknown>)[CAS_COMMAND] !== 'function') {
      created.defineCommand(CAS_COMMAND, { numberOfKeys: 1, lua: CAS_LUA });
    }
  }

  /** The ioredis client (the one given, or the one the store created). */
  get client(): Redis | Cluster {
    return this.#connection.client;
  }

  /** Quits a client the store created; a later call reconnects. A client you gave is left open. */
  async release(): Promise<void> {
    await this.#connection.close(this.#timeout);
  }

  protected readRaw(keys: readonly string[], _versions: unknown[]): Promise<readonly (string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.#run('read', async (client, deadline) => {
      const groups = slotGroups(client, keys);
      const replies = await runCalls(
        client,
        groups.map((group) => ({ name: 'mget', args: group.map((i) => keys[i]!), key: keys[group[0]!]! })),
        deadline,
      );
      const values: (string | undefined)[] = new Array(keys.length).fill(undefined);
      groups.forEach((group, g) => {
        const reply = replies[g] as readonly unknown[];
        group.forEach((keyIndex, j) => {
          const value = reply[j];
          if (typeof value === 'string') values[keyIndex] = value;
          else if (Buffer.isBuffer(value)) values[keyIndex] = value.toString('utf8');
        });
      });
      return values;
    });
  }

  protected writeRaw(writes: readonly RawWrite<string>[], mode: 'set' | 'add'): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    return this.#run(mode === 'add' ? 'fill' : 'write', async (client, deadline) => {
      const now = Date.now();
      const nx = mode === 'add' ? ['NX'] : [];
      const calls: RedisCall[] = writes.map((w) => {
        const ttl = ttlMs(w.expiresAt, now);
        return { name: 'set', args: ttl === 0 ? [w.key, w.raw, ...nx] : [w.key, w.raw, 'PX', ttl, ...nx], key: w.key };
      });
      await runCalls(client, calls, deadline);
    });
  }

  protected swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]> {
    if (swaps.length === 0) return Promise.resolve([]);
    return this.#run('commit', async (client, deadline) => {
      const now = Date.now();
      const replies = await runCalls(
        client,
        swaps.map((w) => ({ name: CAS_COMMAND, args: [w.key, w.expected, w.raw, ttlMs(w.expiresAt, now)], key: w.key })),
        deadline,
      );
      return replies.map((reply) => Number(reply) === 1);
    });
  }

  protected removeRaw(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return this.#run('remove', async (client, deadline) => {
      const groups = slotGroups(client, keys);
      await runCalls(
        client,
        groups.map((group) => ({ name: 'unlink', args: group.map((i) => keys[i]!), key: keys[group[0]!]! })),
        deadline,
      );
    });
  }

  /** Runs one operation within the deadline; a client failure becomes a `TierUnavailableError`. */
  async #run<T>(operation: string, fn: (client: RedisClient, deadline: RoundTripDeadline) => Promise<T>): Promise<T> {
    const what = `${this.name} ${operation}`;
    try {
      // The deadline holds for each round trip (runCalls cuts a large batch into several), and for connecting.
      const ready = this.#connection.client.status === 'ready';
      const client = ready ? this.#connection.client : await withDeadline(this.#connection.ready(), this.#timeout, what);
      return await fn(client, { ms: this.#timeout, what });
    } catch (error) {
      if (error instanceof StockpyleError) throw error;
      throw new TierUnavailableError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: redactCredentials(error) });
    }
  }
}

/**
 * Positions of `keys` grouped so each group is one valid multi-key command: all of them for a
 * standalone server, one group per hash slot on a Cluster.
 */
function slotGroups(client: RedisClient, keys: readonly string[]): number[][] {
  if (!isCluster(client)) return [keys.map((_k, i) => i)];
  return [...groupBySlot(keys, client.options.keyPrefix ?? '').values()];
}

/**
 * Relative expiry for PX: relative rather than PXAT because the Redis host's clock may differ from
 * this one; the envelope carries the exact absolute expiry, enforced on every read. 0 means none.
 */
function ttlMs(expiresAt: number, now: number): number {
  return expiresAt === NEVER ? 0 : Math.max(1, Math.ceil(expiresAt - now));
}

function createClient(
  name: string,
  url: RedisStoreOptions['url'],
  timeout: number,
  redisOptions: RedisOptions | undefined,
  clusterOptions: ClusterOptions | undefined,
): RedisClient {
  if (url === undefined) {
    throw new ConfigurationError(`${name} needs a server: give { url: 'redis://host:6379' }, { url: [cluster seeds] } or { client }`);
  }
  checkObject(name, 'redisOptions', redisOptions);
  checkObject(name, 'clusterOptions', clusterOptions);
  if (typeof url === 'string') {
    if (url.length === 0) throw new ConfigurationError(`${name}: url must be a non-empty string such as 'redis://127.0.0.1:6379'`);
    if (clusterOptions !== undefined) {
      throw new ConfigurationError(`${name}: clusterOptions need a list of cluster seeds as url; a single url is a standalone server`);
    }
    return new Redis(url, { ...failFastOptions(timeout), ...redisOptions });
  }
  if (!Array.isArray(url) || url.length === 0 || !url.every((seed) => typeof seed === 'string' && seed.length > 0)) {
    throw new ConfigurationError(`${name}: url must be a string, or a non-empty list of cluster seed strings such as ['127.0.0.1:7000']`);
  }
  const defaults = failFastClusterOptions(timeout);
  return new Cluster([...url], {
    ...defaults,
    ...clusterOptions,
    redisOptions: { ...defaults.redisOptions, ...redisOptions, ...clusterOptions?.redisOptions },
  });
}

function checkClient(name: string, options: RedisStoreOptions): RedisClient {
  const { client, url, redisOptions, clusterOptions } = options;
  if (url !== undefined) {
    throw new ConfigurationError(`${name} takes either url or client, not both: the store would not know which to use`);
  }
  if (redisOptions !== undefined || clusterOptions !== undefined) {
    throw new ConfigurationError(`${name}: redisOptions and clusterOptions apply only to a client created from url; configure your client directly`);
  }
  if (!(client instanceof Redis) && !(client instanceof Cluster) && !looksLikeIoredis(client)) {
    throw new ConfigurationError(`${name}: client must be an ioredis Redis or Cluster instance`);
  }
  return client as RedisClient;
}

/** A client from another copy of ioredis fails `instanceof`; accept what has the methods the store uses. */
function looksLikeIoredis(client: unknown): boolean {
  if (client === null || typeof client !== 'object') return false;
  const c = client as Record<string, unknown>;
  return ['pipeline', 'mget', 'defineCommand', 'connect', 'on'].every((m) => typeof c[m] === 'function') && typeof c.status === 'string';
}

function checkObject(name: string, option: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigurationError(`${name}: ${option} must be an object of ioredis options`);
  }
}
