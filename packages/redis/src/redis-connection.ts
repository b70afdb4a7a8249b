import { withDeadline } from '@stockpyle/core';
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './command-batch';
import { redactCredentials } from './credentials';

/**
 * The store's hold on one ioredis client: connects it on first use (a client created with
 * `lazyConnect` and no offline queue would otherwise fail its first command), forwards its errors,
 * and on `close()` quits it only if the store created it.
 */
export class RedisConnection {
  readonly client: RedisClient;
  /** Whether the store created the client, and so may close and reopen it. */
  readonly owned: boolean;
  #connecting: Promise<void> | undefined;
  /** Set by close(): the next call reconnects whatever state ioredis was left in. */
  #closed = false;

  /**
   * @param onTrouble called when a connection to Redis (to a Cluster node) closes without the store
   * closing it: a Redis restarted without persistence lost the tombstones that block old fills.
   */
  constructor(client: RedisClient, owned: boolean, onError: (error: unknown) => void, onTrouble: () => void) {
    this.client = client;
    this.owned = owned;
    // A failed AUTH or HELLO carries the password in its error: reported without it.
    const report = (error: unknown): void => onError(redactCredentials(error));
    // Without an 'error' listener ioredis prints every connection failure to the console.
    client.on('error', report);
    const closed = (): void => {
      if (!this.#closed) onTrouble();
    };
    if (isCluster(client)) {
      // A Cluster reports a failing node here; ioredis drops the event when nobody listens.
      client.on('node error', report);
      // Each node has its own connection; a given client may have some already.
      const watched = new WeakSet<object>();
      const watch = (node: Redis): void => {
        if (watched.has(node)) return;
        watched.add(node);
        node.on('close', closed);
      };
      for (const node of client.nodes('all')) watch(node);
      client.on('+node', watch);
      client.on('-node', closed);
    } else {
      client.on('close', closed);
    }
  }

  /**
   * The client, connected if this store opened it: waits for a connection this store started,
   * but never for ioredis's background reconnection, so a dead Redis fails the call at once.
   */
  async ready(): Promise<RedisClient> {
    const { client } = this;
    if (client.status === 'ready') {
      this.#closed = false;
      return client;
    }
    // After close() ioredis may rest in 'reconnecting' or 'disconnecting' with no timer left: reopen.
    const reopen = client.status === 'wait' || (this.owned && (this.#closed || client.status === 'end'));
    if (this.#connecting === undefined && reopen) {
      this.#closed = false;
      const connecting = client.connect().finally(() => {
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
      this.#connecting = connecting;
    }
    if (this.#connecting !== undefined) await this.#connecting;
    return client;
  }

  /** Quits a client the store created (gracefully within `timeout` ms, else drops it); leaves a given one open. */
  async close(timeout: number): Promise<void> {
    this.#connecting = undefined;
    if (!this.owned) return;
    this.#closed = true;
    const { client } = this;
    const live = client.status === 'ready' || client.status === 'connect' || client.status === 'connecting';
    let onEnd = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      if (live) client.once('end', (onEnd = resolve));
    });
    if (client.status === 'ready') {
      try {
        await withDeadline(client.quit(), timeout, 'Redis QUIT');
      } catch {
        client.disconnect();
      }
    } else if (client.status !== 'end') {
      client.disconnect();
    }
    // An open socket closes asynchronously; wait for it, so that a later call can reconnect at once.
    if (live && (client.status as string) !== 'end') await withDeadline(ended, timeout, 'Redis close').catch(() => undefined);
    client.off('end', onEnd);
  }
}
