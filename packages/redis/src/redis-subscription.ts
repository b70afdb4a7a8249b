import { withDeadline, type BusState } from '@stockpyle/core';
import type { Redis, RedisOptions } from 'ioredis';
import { reconnectDelay } from './client-options';
import { redactCredentials } from './credentials';

/** Options of `RedisSubscription`. */
export interface RedisSubscriptionOptions {
  readonly channel: string;
  /** Whether to use SSUBSCRIBE (sharded pub/sub) rather than SUBSCRIBE; asked before every attempt. */
  readonly sharded: () => Promise<boolean>;
  /**
   * A new, unconnected standalone connection (made with `SUBSCRIBER_OPTIONS`) to the node to
   * subscribe on, for attempt `attempt` (0, 1, …) since the subscription was last live.
   */
  readonly connection: (sharded: boolean, attempt: number) => Promise<Redis>;
  readonly onMessage: (text: string) => void;
  readonly onState: (state: BusState) => void;
  readonly onError: (operation: 'subscribe' | 'connection', error: unknown) => void;
  /** Milliseconds connecting, subscribing and each heartbeat PING may take. */
  readonly timeout: number;
  /** Milliseconds between PINGs that find a dead link a quiet subscriber would not notice. */
  readonly heartbeat: number;
}

/**
 * ioredis options the subscriber connection overrides: this class reconnects and resubscribes
 * itself, because ioredis does both silently (no event says when a resubscription took effect)
 * and a Cluster's subscriber may have to move to another node.
 */
export const SUBSCRIBER_OPTIONS: RedisOptions = {
  lazyConnect: true,
  retryStrategy: () => null,
  autoResubscribe: false,
  autoResendUnfulfilledCommands: false,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  readOnly: false,
};

/**
 * One pub/sub subscription kept alive over one connection: connects, subscribes, reports
 * `connected` once Redis confirms, and on any loss (closed socket, failed heartbeat, a slot that
 * moved) reports `disconnected` and starts again after a capped backoff, until `stop()`.
 */
export class RedisSubscription {
  readonly #options: RedisSubscriptionOptions;
  #running = false;
  /** Bumped by start() and stop(): an attempt begun before either gives up at its next step. */
  #generation = 0;
  #connection: Redis | undefined;
  #live = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: RedisSubscriptionOptions) {
    this.#options = options;
  }

  /** Opens the subscription, unless it is already running. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation += 1;
    this.#attempt = 0;
    void this.#open();
  }

  /** Closes the connection and stops reconnecting; resolves once the socket is gone. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#generation += 1;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const connection = this.#connection;
    this.#lost(connection);
    if (connection === undefined || connection.status === 'end') return;
    const ended = new Promise<void>((resolve) => connection.once('end', () => resolve()));
    connection.disconnect();
    await withDeadline(ended, this.#options.timeout, 'Redis subscriber close').catch(() => undefined);
  }

  async #open(): Promise<void> {
    const { channel, timeout } = this.#options;
    const generation = this.#generation;
    let connection: Redis | undefined;
    try {
      const sharded = await this.#options.sharded();
      if (generation !== this.#generation) return;
      connection = await this.#options.connection(sharded, this.#attempt);
      if (generation !== this.#generation) {
        connection.disconnect();
        return;
      }
      this.#watch(connection, sharded);
      await withDeadline(connection.connect(), timeout, 'Redis subscriber connect');
      await withDeadline(sharded ? connection.ssubscribe(channel) : connection.subscribe(channel), timeout, `Redis ${sharded ? 'SSUBSCRIBE' : 'SUBSCRIBE'}`);
      if (connection !== this.#connection) return;
      this.#live = true;
      this.#attempt = 0;
      this.#beat(connection);
      this.#options.onState('connected');
    } catch (error) {
      if (generation !== this.#generation) {
        connection?.disconnect();
        return;
      }
      this.#options.onError('subscribe', redactCredentials(error));
      if (connection === undefined) this.#schedule();
      else {
        connection.disconnect();
        this.#lost(connection);
      }
    }
  }

  #watch(connection: Redis, sharded: boolean): void {
    this.#connection = connection;
    const { channel } = this.#options;
    // Without an 'error' listener ioredis prints connection failures to the console.
    connection.on('error', (error: unknown) => {
      if (this.#running) this.#options.onError('connection', redactCredentials(error));
    });
    connection.on(sharded ? 'smessage' : 'message', (from: string, text: string) => {
      if (from === channel) this.#options.onMessage(text);
    });
    // A shard channel's slot moved to another node (MOVED, or Redis's unsolicited SUNSUBSCRIBE): follow it.
    connection.on('moved', () => connection.disconnect());
    connection.once('end', () => this.#lost(connection));
  }

  /** The connection is gone (or being dropped): report it once and try again later. */
  #lost(connection: Redis | undefined): void {
    if (connection === undefined || connection !== this.#connection) return;
    this.#connection = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    if (this.#live) {
      this.#live = false;
      this.#options.onState('disconnected');
    }
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#running || this.#retry !== undefined) return;
    this.#attempt += 1;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#open();
    }, reconnectDelay(this.#attempt));
    this.#retry.unref?.();
  }

  /** PINGs on an interval: a link that dies silently (no RST) is otherwise noticed only by the OS, hours later. */
  #beat(connection: Redis): void {
    const { timeout, heartbeat } = this.#options;
    this.#heartbeat = setInterval(() => {
      withDeadline(connection.ping(), timeout, 'Redis subscriber PING').catch((error: unknown) => {
        if (connection !== this.#connection) return;
        this.#options.onError('connection', redactCredentials(error));
        connection.disconnect();
        this.#lost(connection);
      });
    }, heartbeat);
    this.#heartbeat.unref?.();
  }
}
