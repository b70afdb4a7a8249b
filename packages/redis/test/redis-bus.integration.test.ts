import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { decodeBusMessage } from '@stockpyle/core';
import { RedisBus, failFastClusterOptions, failFastOptions, type RedisBusOptions } from '@stockpyle/redis';
import { Cluster, Redis } from 'ioredis';
import { eventually } from '../../../test-support/eventually';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { collectErrors, openSockets, rawSubscriber, recordingListener, type RawSubscriber } from './support/bus-listener';

// A fresh Cluster client discovers its slots before its first publish; generous on a loaded machine.
jest.setTimeout(30_000);

const REDIS_URL = serviceUrl('redis');
const CLUSTER_SEEDS = clusterNodes().map(({ host, port }) => `${host}:${port}`);
const timeout = 3_000;

const topologies: { name: string; options: Partial<RedisBusOptions>; raw: { url: string } | { seeds: string[] }; sharded: boolean }[] = [
  { name: 'standalone', options: { url: REDIS_URL }, raw: { url: REDIS_URL }, sharded: false },
  // the test servers run Redis 7, so a Cluster defaults to sharded pub/sub
  { name: 'Cluster, sharded by default', options: { url: CLUSTER_SEEDS }, raw: { seeds: CLUSTER_SEEDS }, sharded: true },
  { name: 'Cluster, classic', options: { url: CLUSTER_SEEDS, sharded: false }, raw: { seeds: CLUSTER_SEEDS }, sharded: false },
];

let seq = Math.floor(Math.random() * 1e9);
/** A prefix of its own per test: workers share the servers, and buses hear only their prefix. */
const freshPrefix = (): string => `bus-it-${++seq}`;

const opened: { release(): Promise<void> }[] = [];
const track = <T extends { release(): Promise<void> }>(thing: T): T => (opened.push(thing), thing);
const raws: RawSubscriber[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.release()));
  await Promise.all(raws.splice(0).map((raw) => raw.close()));
});

describe.each(topologies)('RedisBus ($name)', ({ options, raw, sharded }) => {
  /** A bus subscribed with a recording listener, once its subscription is live. */
  async function listeningBus(prefix: string, extra: Partial<RedisBusOptions> = {}) {
    const bus = track(new RedisBus({ ...options, prefix, timeout, ...extra } as RedisBusOptions));
    const listener = recordingListener();
    bus.subscribe(listener);
    expect(await listener.stateAt(1)).toBe('connected');
    return { bus, listener, errors: collectErrors(bus) };
  }

  describe('publish()', () => {
    it("delivers another bus's keys and ignores its own", async () => {
      const prefix = freshPrefix();
      const a = await listeningBus(prefix);
      const b = await listeningBus(prefix);
      expect(a.bus.connected && b.bus.connected).toBe(true);
      a.bus.publish(['a1']);
      await eventually(async () => expect(b.listener.keysHeard).toEqual(['a1']));
      // b1 leaves after a1 reached Redis subscribers, so by the time a hears b1 it has seen (and ignored) a1
      b.bus.publish(['b1']);
      await eventually(async () => expect(a.listener.keysHeard).toEqual(['b1']));
      expect(b.listener.keysHeard).toEqual(['a1']);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('sends the publishes of one turn of the event loop as one message', async () => {
      const prefix = freshPrefix();
      const a = await listeningBus(prefix);
      const counter = raws[raws.push(await rawSubscriber(raw, a.bus.channel, sharded)) - 1]!;
      a.bus.publish(['k1']);
      a.bus.publish(['k2', 'k1']);
      await Promise.resolve();
      a.bus.publish(['k3']);
      await eventually(async () => expect(counter.messages.flatMap((m) => decodeBusMessage(m).keys).sort()).toEqual(['k1', 'k2', 'k3']));
      expect(counter.messages).toHaveLength(1);
      expect(decodeBusMessage(counter.messages[0]!).origin).toBe(a.bus.id);
    });

    it('splits a batch larger than maxMessageBytes into messages within the bound', async () => {
      const prefix = freshPrefix();
      const a = await listeningBus(prefix, { maxMessageBytes: 1_024 });
      const b = await listeningBus(prefix);
      const counter = raws[raws.push(await rawSubscriber(raw, a.bus.channel, sharded)) - 1]!;
      const keys = Array.from({ length: 200 }, (_v, i) => `stockpyle:1:${prefix}:Item:id=${i}`);
      a.bus.publish(keys);
      await eventually(async () => expect(b.listener.keysHeard.sort()).toEqual([...keys].sort()));
      await eventually(async () => expect(counter.messages.flatMap((m) => decodeBusMessage(m).keys)).toHaveLength(200));
      expect(counter.messages.length).toBeGreaterThan(5);
      for (const m of counter.messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(1_024);
    });
  });

  describe('release()', () => {
    it('tells subscribers disconnected and leaves no socket open', async () => {
      const before = openSockets();
      const prefix = freshPrefix();
      const bus = track(new RedisBus({ ...options, prefix, timeout } as RedisBusOptions));
      const listener = recordingListener();
      bus.subscribe(listener);
      await listener.stateAt(1);
      bus.publish(['k']);
      await bus.release();
      expect(listener.states).toEqual(['connected', 'disconnected']);
      expect(bus.connected).toBe(false);
      expect(bus.client.status).toBe('end');
      // the count may include a socket of an earlier test still closing, never one of this bus
      await eventually(async () => expect(openSockets()).toBeLessThanOrEqual(before), 5_000, 20);
    });

    it('reopens on the next subscribe()', async () => {
      const prefix = freshPrefix();
      const a = await listeningBus(prefix);
      const b = track(new RedisBus({ ...options, prefix, timeout } as RedisBusOptions));
      const first = recordingListener();
      b.subscribe(first);
      await first.stateAt(1);
      await b.release();
      const second = recordingListener();
      b.subscribe(second);
      await second.stateAt(1);
      a.bus.publish(['again']);
      await eventually(async () => expect(second.keysHeard).toEqual(['again']));
      expect(first.keysHeard).toEqual([]);
    });
  });
});

describe('RedisBus', () => {
  describe.each([
    ['standalone', (): Redis | Cluster => new Redis(REDIS_URL, failFastOptions(timeout))],
    ['Cluster', (): Redis | Cluster => new Cluster(CLUSTER_SEEDS, failFastClusterOptions(timeout))],
  ])('with a given %s client', (_name, createClient) => {
    it('publishes with it, subscribes on a connection of its own, and leaves it open on release()', async () => {
      const client = createClient();
      try {
        const prefix = freshPrefix();
        const a = track(new RedisBus({ client, prefix, timeout }));
        const b = track(new RedisBus({ url: client instanceof Cluster ? CLUSTER_SEEDS : REDIS_URL, prefix, timeout }));
        const [la, lb] = [recordingListener(), recordingListener()];
        a.subscribe(la);
        b.subscribe(lb);
        await Promise.all([la.stateAt(1), lb.stateAt(1)]);
        expect(a.client).toBe(client);
        a.publish(['from a']);
        b.publish(['from b']);
        await eventually(async () => expect([la.keysHeard, lb.keysHeard]).toEqual([['from b'], ['from a']]));
        await a.release();
        expect(client.status).toBe('ready');
        expect(await client.ping()).toBe('PONG');
      } finally {
        await client.quit();
      }
    });
  });

  describe('constructor', () => {
    it.each([
      ['both url and client', () => new RedisBus({ url: REDIS_URL, client: {} as never })],
      ['neither url nor client', () => new RedisBus({})],
      ['a maxMessageBytes below 1024', () => new RedisBus({ url: REDIS_URL, maxMessageBytes: 100 })],
      ['a negative retries', () => new RedisBus({ url: REDIS_URL, retries: -1 })],
      ['a zero timeout', () => new RedisBus({ url: REDIS_URL, timeout: 0 })],
      ['a non-boolean sharded', () => new RedisBus({ url: REDIS_URL, sharded: 'yes' as never })],
    ])('throws ConfigurationError for %s', (_what, create) => {
      expect(create).toThrow(expect.objectContaining({ code: 'E_CONFIGURATION' }));
    });

    it('names the channel after the key namespace of the prefix', async () => {
      const bus = track(new RedisBus({ url: REDIS_URL, prefix: 'app' }));
      const plain = track(new RedisBus({ url: REDIS_URL }));
      expect([bus.channel, plain.channel]).toEqual(['stockpyle:1:app:bus', 'stockpyle:1:bus']);
    });
  });
});
