import 'reflect-metadata';
import { describe, expect, it, jest } from '@jest/globals';
import { ConfigurationError, Stockpyle, TierUnavailableError, type StoreEvent } from '@stockpyle/core';
import { RedisStore, failFastClusterOptions, failFastOptions, type RedisStoreOptions } from '@stockpyle/redis';
import { Cluster, Redis } from 'ioredis';
import { reconnectDelay, MAX_RECONNECT_DELAY_MS } from '../src/client-options';
import { groupByNode, groupBySlot, slotOf, SLOT_COUNT } from '../src/slots';

@Stockpyle({ keys: ['id'], name: 'redis-unit.Item' })
class Item {
  constructor(public id: number) {}
}

/** Builds a store and releases it, for tests that only look at construction. */
async function withStore(options: RedisStoreOptions, fn: (store: RedisStore) => void | Promise<void>): Promise<void> {
  const store = new RedisStore(options);
  try {
    await fn(store);
  } finally {
    await store.release();
  }
}

describe('RedisStore', () => {
  describe('constructor', () => {
    it('throws ConfigurationError when neither url nor client is given', () => {
      expect(() => new RedisStore({})).toThrow(ConfigurationError);
      expect(() => new RedisStore({})).toThrow(/url.*client/);
    });

    it('throws ConfigurationError when both url and client are given', async () => {
      const client = new Redis({ lazyConnect: true });
      try {
        expect(() => new RedisStore({ url: 'redis://127.0.0.1:6379', client })).toThrow(/either url or client/);
      } finally {
        client.disconnect();
      }
    });

    it.each([
      ['an empty url', { url: '' }],
      ['an empty seed list', { url: [] }],
      ['a seed list with a non-string', { url: ['127.0.0.1:7000', 7001 as unknown as string] }],
      ['a url of the wrong type', { url: 6379 as unknown as string }],
      ['a zero timeout', { url: 'redis://x', timeout: 0 }],
      ['a negative timeout', { url: 'redis://x', timeout: -1 }],
      ['an infinite timeout', { url: 'redis://x', timeout: Infinity }],
      ['a string timeout', { url: 'redis://x', timeout: '500' as unknown as number }],
      ['redisOptions that are not an object', { url: 'redis://x', redisOptions: 'x' as unknown as object }],
      ['clusterOptions with a standalone url', { url: 'redis://x', clusterOptions: {} }],
      ['a client that is not ioredis', { client: {} as unknown as Redis }],
      ['a non-boolean polymorphic', { url: 'redis://x', polymorphic: 'yes' as unknown as boolean }],
      ['an over-long prefix', { url: 'redis://x', prefix: 'p'.repeat(65) }],
    ])('throws ConfigurationError for %s', (_name, options) => {
      let error: unknown;
      try {
        new RedisStore(options as RedisStoreOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('E_CONFIGURATION');
    });

    it('throws ConfigurationError for redisOptions given with a client: they would be ignored', () => {
      const client = new Redis({ lazyConnect: true });
      try {
        expect(() => new RedisStore({ client, redisOptions: { db: 1 } })).toThrow(/only to a client created from url/);
      } finally {
        client.disconnect();
      }
    });

    it('does no I/O: the created client connects on first use', async () => {
      await withStore({ url: 'redis://127.0.0.1:6399' }, (store) => {
        expect(store.client).toBeInstanceOf(Redis);
        expect(store.client.status).toBe('wait');
      });
    });

    it('creates a standalone client with fail-fast options, merged with redisOptions', async () => {
      await withStore({ url: 'redis://127.0.0.1:6399/2', timeout: 250, redisOptions: { connectionName: 'app' } }, (store) => {
        const { options } = store.client as Redis;
        expect(options).toMatchObject({ enableOfflineQueue: false, commandTimeout: 250, maxRetriesPerRequest: 0, lazyConnect: true });
        expect(options).toMatchObject({ autoResendUnfulfilledCommands: false, connectionName: 'app', db: 2, port: 6399 });
      });
    });

    it('creates a Cluster client from a list of seeds', async () => {
      await withStore({ url: ['127.0.0.1:7000', 'redis://127.0.0.1:7001'], timeout: 250, redisOptions: { connectionName: 'app' } }, (store) => {
        const cluster = store.client as Cluster;
        expect(cluster).toBeInstanceOf(Cluster);
        expect(cluster.options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true });
        expect(cluster.options.redisOptions).toMatchObject({ commandTimeout: 250, maxRetriesPerRequest: 0, connectionName: 'app' });
      });
    });

    it('uses a given client as it is and leaves it open on release()', async () => {
      const client = new Redis({ lazyConnect: true, port: 6399 });
      try {
        await withStore({ client }, (store) => {
          expect(store.client).toBe(client);
        });
        expect(client.status).toBe('wait');
      } finally {
        client.disconnect();
      }
    });
  });

  describe('when nothing listens', () => {
    it('get() fails with TierUnavailableError at once and the failure is reported as an error event', async () => {
      const events: StoreEvent[] = [];
      await withStore({ url: 'redis://127.0.0.1:1', timeout: 300 }, async (store) => {
        store.on('error', (e) => events.push(e));
        const started = performance.now();
        await expect(store.get(Item, { id: 1 })).rejects.toBeInstanceOf(TierUnavailableError);
        expect(performance.now() - started).toBeLessThan(1500);
      });
      expect(events).toContainEqual(expect.objectContaining({ type: 'error', operation: 'connection' }));
    });

    it('release() after a failed connection stops reconnecting, and the next call connects again', async () => {
      await withStore({ url: 'redis://127.0.0.1:1', timeout: 300 }, async (store) => {
        store.on('error', () => undefined);
        const connect = jest.spyOn(store.client, 'connect');
        await expect(store.get(Item, { id: 1 })).rejects.toBeInstanceOf(TierUnavailableError);
        await store.release();
        await expect(store.get(Item, { id: 1 })).rejects.toBeInstanceOf(TierUnavailableError);
        expect(connect).toHaveBeenCalledTimes(2);
      });
    });
  });
});

describe('failFastOptions()', () => {
  it('turns the offline queue off, bounds commands and keeps reconnecting', () => {
    const options = failFastOptions(200);
    expect(options).toMatchObject({ enableOfflineQueue: false, commandTimeout: 200, maxRetriesPerRequest: 0, lazyConnect: true });
    expect(options).toMatchObject({ disconnectTimeout: 200, autoResendUnfulfilledCommands: false });
    expect(typeof options.retryStrategy).toBe('function');
  });

  it('failFastClusterOptions() does the same for a Cluster and its nodes', () => {
    const options = failFastClusterOptions(200);
    expect(options).toMatchObject({ enableOfflineQueue: false, lazyConnect: true });
    expect(options.redisOptions).toMatchObject({ commandTimeout: 200, maxRetriesPerRequest: 0 });
  });
});

describe('reconnectDelay()', () => {
  it('backs off from 100 ms, is capped, and never gives up', () => {
    expect(reconnectDelay(1)).toBe(100);
    expect(reconnectDelay(2)).toBe(200);
    expect(reconnectDelay(3)).toBe(400);
    for (const times of [6, 20, 1000, 1e9]) expect(reconnectDelay(times)).toBe(MAX_RECONNECT_DELAY_MS);
  });
});

describe('slots', () => {
  it('slotOf() computes Redis Cluster hash slots (CRC16 mod 16384)', () => {
    expect(slotOf('123456789')).toBe(0x31c3); // the CRC16/XMODEM check value
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('bar')).toBe(5061);
  });

  it('slotOf() honours hash tags and the client keyPrefix', () => {
    expect(slotOf('{user1}.following')).toBe(slotOf('{user1}.followers'));
    expect(slotOf('a', 'app:')).toBe(slotOf('app:a'));
  });

  it('groupBySlot() groups key positions by slot, in order', () => {
    const keys = ['foo', 'bar', '{foo}x', 'baz', '{bar}y'];
    const groups = groupBySlot(keys);
    expect(groups.get(slotOf('foo'))).toEqual([0, 2]);
    expect(groups.get(slotOf('bar'))).toEqual([1, 4]);
    expect([...groups.values()].flat().sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('groupByNode() groups by the master serving each slot, and keeps unknown slots apart', () => {
    const table: (string[] | undefined)[] = new Array(SLOT_COUNT);
    for (let slot = 0; slot < SLOT_COUNT; slot++) table[slot] = [slot < 8192 ? 'A:1' : 'B:1', 'replica:1'];
    table[100] = undefined;
    const groups = groupByNode([1, 2, 9000, 100, 16000], (slot) => slot, table);
    expect(groups.get('A:1')).toEqual([1, 2]);
    expect(groups.get('B:1')).toEqual([9000, 16000]);
    expect(groups.get('slot:100')).toEqual([100]);
  });
});
