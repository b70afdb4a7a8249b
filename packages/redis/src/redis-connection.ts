import { withDeadline } from '@stockpyle/core';
import type { RedisClient } from './command-batch';

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

  constructor(client: RedisClient, owned: boolean, onError: (error: unknown) => void) {
    this.client = client;
    this.owned = owned;
    // Without an 'error' listener ioredis prints every connection failure to the console.
    client.on('error', onError);
    // A Cluster reports a failing node here; ioredis drops the event when nobody listens.
    if ((client as { isCluster?: boolean }).isCluster) client.on('node error', onError);
  }

  /**
   * The client, connected if this store opened it: waits for a connection this store started,
   * but never for ioredis's background reconnection, so a dead Redis fails the call at once.
   */
  async ready(): Promise<RedisClient> {
    const { client } = this;
    if (client.status === 'ready') return client;
    if (this.#connecting === undefined && (client.status === 'wait' || (this.owned && client.status === 'end'))) {
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
    const { client } = this;
    if (!this.owned || client.status === 'end') return;
    if (client.status === 'ready') {
      try {
        await withDeadline(client.quit(), timeout, 'Redis QUIT');
      } catch {
        client.disconnect();
      }
    } else {
      client.disconnect();
    }
    // Wait until the client is fully closed, so a later call can reconnect it.
    if ((client.status as string) === 'end') return;
    let onEnd = (): void => undefined;
    const ended = new Promise<void>((resolve) => client.once('end', (onEnd = resolve)));
    await withDeadline(ended, timeout, 'Redis close').catch(() => client.off('end', onEnd));
  }
}
