import { BaseBus, BusOutbox, ConfigurationError, KeyBuilder, decodeBusMessage, withDeadline } from '@stockpyle/core';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { DEFAULT_TIMEOUT_MS } from './client-options';
import { isCluster } from './command-batch';
import { redactCredentials } from './credentials';
import { checkPositive, resolveRedisClient } from './redis-client';
import { RedisConnection } from './redis-connection';
import { RedisSubscription, SUBSCRIBER_OPTIONS } from './redis-subscription';
import { slotOf } from './slots';

/** Options of `RedisBus`: give exactly one of `url` and `client`. */
export interface RedisBusOptions {
  /** A standalone server's URL, or a list of Cluster seeds, as for `RedisStore`; the bus creates and closes the client. */
  url?: string | readonly string[];
  /** An ioredis `Redis` or `Cluster` to publish with (a `RedisStore`'s client will do); never closed by the bus. */
  client?: Redis | Cluster;
  /** The stores' prefix: processes hear each other only when they share it (channel `stockpyle:1:<prefix>:bus`). */
  prefix?: string;
  /**
   * SPUBLISH/SSUBSCRIBE (Redis ≥ 7) instead of PUBLISH/SUBSCRIBE. Every process on one channel
   * must agree. @default true on a Cluster whose nodes run Redis 7 or newer, else false
   */
  sharded?: boolean;
  /** Milliseconds one publish attempt, a connect, a subscribe or a heartbeat may take. @default 500 */
  timeout?: number;
  /** Attempts after the first to send a message (100, 300, 900 ms apart) before it is reported. @default 3 */
  retries?: number;
  /** Largest message in bytes; larger batches are split. @default 65536 */
  maxMessageBytes?: number;
  /** Messages waiting for a retry at most, while Redis is away; past it the oldest are reported and dropped. @default 1000 */
  maxWaiting?: number;
  /** Milliseconds between PINGs on the subscriber connection, to notice a link that died silently. @default 5000 */
  heartbeat?: number;
  /** ioredis options for a client created from `url` (and so for its subscriber); only with `url`. */
  redisOptions?: RedisOptions;
  /** ioredis Cluster options for a client created from a list of seeds; only with `url`. */
  clusterOptions?: ClusterOptions;
  /** Shown in error events. @default 'RedisBus' */
  name?: string;
}

/** Smallest `maxMessageBytes`: room for the envelope and a memcached-sized (250-byte) key, escaped. */
const MIN_MESSAGE_BYTES = 1_024;

/**
 * A `Bus` on Redis pub/sub, standalone or Cluster: publishes with the given (or created) client,
 * batched per turn of the event loop, and listens on a subscriber connection of its own that it
 * reconnects and resubscribes itself, telling subscribers `disconnected`/`connected` as it goes.
 */
export class RedisBus extends BaseBus {
  /** The pub/sub channel: the key namespace of the stores that share `prefix`, plus `bus`. */
  readonly channel: string;
  readonly #connection: RedisConnection;
  readonly #timeout: number;
  readonly #sharded: boolean | undefined;
  #shardedProbe: Promise<boolean> | undefined;
  readonly #outbox: BusOutbox;
  readonly #subscription: RedisSubscription;

  constructor(options: RedisBusOptions) {
    const name = options?.name ?? 'RedisBus';
    super(name);
    if (options === null || typeof options !== 'object') throw new ConfigurationError(`${name} needs options: { url } or { client }`);
    const { timeout = DEFAULT_TIMEOUT_MS, retries = 3, maxMessageBytes = 65_536, maxWaiting = 1_000, heartbeat = 5_000, sharded } = options;
    this.#timeout = checkPositive(name, 'timeout', timeout);
    checkPositive(name, 'heartbeat', heartbeat);
    checkPositive(name, 'maxWaiting', maxWaiting, true);
    if (!Number.isInteger(retries) || retries < 0) throw new ConfigurationError(`${name}: retries must be an integer >= 0, got ${String(retries)}`);
    if (checkPositive(name, 'maxMessageBytes', maxMessageBytes, true) < MIN_MESSAGE_BYTES) {
      throw new ConfigurationError(`${name}: maxMessageBytes must be at least ${MIN_MESSAGE_BYTES}, got ${maxMessageBytes}`);
    }
    if (sharded !== undefined && typeof sharded !== 'boolean') throw new ConfigurationError(`${name}: sharded must be a boolean`);
    this.#sharded = sharded;
    this.channel = `${new KeyBuilder(options.prefix).namespace}bus`;
    const { client, owned } = resolveRedisClient(name, options, this.#timeout);
    this.#connection = new RedisConnection(client, owned, (error) => this.report('connection', error), () => undefined);
    this.#outbox = new BusOutbox({
      origin: this.id,
      name,
      send: (text) => this.#send(text),
      onDropped: (error, keys) => this.report('publish', error, keys),
      maxMessageBytes,
      timeout: this.#timeout,
      retries,
      maxWaiting,
    });
    this.#subscription = new RedisSubscription({
      channel: this.channel,
      sharded: () => this.#isSharded(),
      connection: (shardedNow, attempt) => this.#subscriberConnection(shardedNow, attempt),
      onMessage: (text) => this.#receive(text),
      onState: (state) => this.setState(state),
      onError: (operation, error) => this.report(operation, error),
      timeout: this.#timeout,
      heartbeat,
    });
  }

  /** The ioredis client the bus publishes with (the one given, or the one it created). */
  get client(): Redis | Cluster {
    return this.#connection.client;
  }

  publish(keys: readonly string[]): void {
    this.#outbox.add(keys);
  }

  /** Sends what is queued (one last attempt for messages awaiting a retry), closes the subscriber and a client the bus created. */
  async release(): Promise<void> {
    await this.#outbox.close();
    await this.#subscription.stop();
    this.dropSubscribers();
    await this.#connection.close(this.#timeout);
  }

  protected listen(): void {
    this.#subscription.start();
  }

  async #send(text: string): Promise<void> {
    try {
      const client = await this.#connection.ready();
      if (await this.#isSharded()) await client.spublish(this.channel, text);
      else await client.publish(this.channel, text);
    } catch (error) {
      throw redactCredentials(error);
    }
  }

  #receive(text: string): void {
    let message;
    try {
      message = decodeBusMessage(text);
    } catch (error) {
      // The keys of that message are lost to this process: say so, and tell subscribers to resync.
      this.report('receive', error);
      this.setState('connected');
      return;
    }
    if (message.origin !== this.id) this.deliver(message.keys);
  }

  /** The option, or for a Cluster whether its nodes run Redis 7 or newer (asked once, again after a failure). */
  #isSharded(): Promise<boolean> {
    if (this.#sharded !== undefined) return Promise.resolve(this.#sharded);
    if (!isCluster(this.#connection.client)) return Promise.resolve(false);
    this.#shardedProbe ??= (async () => {
      const cluster = (await this.#connection.ready()) as Cluster;
      const node = cluster.nodes('master')[0];
      if (node === undefined) throw new Error('the Cluster client knows no master node yet');
      const info = await withDeadline(node.info('server'), this.#timeout, 'Redis INFO server');
      const major = Number(/redis_version:(\d+)/.exec(String(info))?.[1]);
      return major >= 7;
    })().catch((error: unknown) => {
      this.#shardedProbe = undefined;
      throw error;
    });
    return this.#shardedProbe;
  }

  /** A new subscriber connection: a duplicate of the client, or on a Cluster of the right node. */
  async #subscriberConnection(sharded: boolean, attempt: number): Promise<Redis> {
    const client = this.#connection.client;
    const overrides = { ...SUBSCRIBER_OPTIONS, commandTimeout: this.#timeout, connectTimeout: Math.max(this.#timeout, 1_000) };
    if (!isCluster(client)) return client.duplicate(overrides);
    const cluster = (await this.#connection.ready()) as Cluster;
    // The cluster's keyPrefix goes in front of a shard channel when publishing: subscribe to the same name.
    const keyPrefix = cluster.options.keyPrefix ?? '';
    let node: Redis | undefined;
    if (sharded) {
      // After a failure the slot may have moved (a failover): ask the cluster first.
      if (attempt > 0) await this.#refreshSlots(cluster);
      const owner = cluster.slots[slotOf(this.channel, keyPrefix)]?.[0];
      node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    } else {
      // Any node hears a classic PUBLISH: move round the masters, so a dead one is left behind.
      const masters = cluster.nodes('master');
      node = masters[attempt % Math.max(masters.length, 1)];
    }
    if (node === undefined) throw new Error(`the Cluster client knows no node to subscribe to ${this.channel} on`);
    return node.duplicate({ ...overrides, keyPrefix });
  }

  #refreshSlots(cluster: Cluster): Promise<void> {
    const refreshed = new Promise<void>((resolve, reject) => cluster.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
    return withDeadline(refreshed, Math.max(this.#timeout, 1_000), 'Redis CLUSTER SLOTS');
  }
}
