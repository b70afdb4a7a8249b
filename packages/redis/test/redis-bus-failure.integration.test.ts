import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BusPublishError, type BusErrorEvent } from '@stockpyle/core';
import { RedisBus, type RedisBusOptions } from '@stockpyle/redis';
import { eventually } from '../../../test-support/eventually';
import { freePort, redisCommand } from '../../../test-support/services';
import { TcpProxy } from '../../../test-support/tcp-proxy';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { collectErrors, recordingListener } from './support/bus-listener';

// Recovery waits for the bus's reconnection backoff (100 ms doubling, at most 2 s between attempts).
jest.setTimeout(30_000);

const REDIS_URL = serviceUrl('redis');
const CLUSTER = clusterNodes();
const redisPort = Number(new URL(REDIS_URL).port);

let seq = Math.floor(Math.random() * 1e9);
const freshPrefix = (): string => `bus-fail-${++seq}`;

const opened: { release(): Promise<void> }[] = [];
const track = <T extends { release(): Promise<void> }>(thing: T): T => (opened.push(thing), thing);
const proxies: TcpProxy[] = [];

const consoleSpies: ReturnType<typeof jest.spyOn>[] = [];
beforeEach(() => {
  consoleSpies.push(jest.spyOn(console, 'error'), jest.spyOn(console, 'warn'), jest.spyOn(console, 'log'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.release()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  // ioredis prints "[ioredis] Unhandled error event" when nobody listens: the bus always listens.
  for (const spy of consoleSpies.splice(0)) {
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }
});

/** Resolves with the first error event of `operation`. */
function nextError(bus: RedisBus, operation: BusErrorEvent['operation']): Promise<BusErrorEvent> {
  return new Promise((resolve) => {
    const listener = (event: BusErrorEvent): void => {
      if (event.operation !== operation) return;
      bus.off('error', listener);
      resolve(event);
    };
    bus.on('error', listener);
  });
}

describe('RedisBus when its link to a standalone Redis fails', () => {
  /** A bus that reaches the shared Redis through a proxy the test controls, and one that does not. */
  async function cutOffPair(options: Partial<RedisBusOptions> = {}) {
    const proxy = await TcpProxy.start({ port: redisPort });
    proxies.push(proxy);
    const prefix = freshPrefix();
    const cut = track(new RedisBus({ url: `redis://127.0.0.1:${proxy.port}`, prefix, timeout: 300, ...options }));
    const other = track(new RedisBus({ url: REDIS_URL, prefix }));
    const listener = recordingListener();
    cut.subscribe(listener);
    expect(await listener.stateAt(1)).toBe('connected');
    return { proxy, cut, other, listener, errors: collectErrors(cut) };
  }

  describe('subscribe()', () => {
    it('reports disconnected when the connection is reset, then connected once it has resubscribed', async () => {
      const { proxy, other, listener, errors } = await cutOffPair();
      proxy.setMode({ kind: 'reset' });
      expect(await listener.stateAt(2)).toBe('disconnected');
      other.publish(['missed']);
      proxy.setMode({ kind: 'pass' });
      expect(await listener.stateAt(3)).toBe('connected');
      other.publish(['after']);
      await eventually(async () => expect(listener.keysHeard).toEqual(['after']));
      expect(listener.states).toEqual(['connected', 'disconnected', 'connected']);
      // the refused reconnection attempts were reported, without the listener hearing of each
      expect(errors.some((e) => e.operation === 'subscribe' || e.operation === 'connection')).toBe(true);
    });

    it('notices a link that went silent by its heartbeat, and recovers when it carries bytes again', async () => {
      const { proxy, other, listener } = await cutOffPair({ heartbeat: 200 });
      proxy.setMode({ kind: 'drop' });
      expect(await listener.stateAt(2)).toBe('disconnected');
      proxy.setMode({ kind: 'pass' });
      expect(await listener.stateAt(3)).toBe('connected');
      other.publish(['after']);
      await eventually(async () => expect(listener.keysHeard).toEqual(['after']));
    });
  });

  describe('publish()', () => {
    it('neither throws nor waits while Redis does not answer, and reports the keys after its retries', async () => {
      const { proxy, cut } = await cutOffPair({ retries: 1 });
      proxy.setMode({ kind: 'drop' });
      const reported = nextError(cut, 'publish');
      expect(cut.publish(['lost'])).toBeUndefined();
      const event = await reported;
      expect(event.keys).toEqual(['lost']);
      expect(event.error).toBeInstanceOf(BusPublishError);
      expect((event.error as Error).message).toMatch(/in 2 attempts/);
      // the bus's deadline, or ioredis's commandTimeout (set to the same value) when it fires first
      expect((event.error as BusPublishError).cause).toBeInstanceOf(Error);
    });
  });
});

describe('RedisBus when Redis is unreachable', () => {
  it('reports a publish after its retries and a subscribe that cannot open, and never connects', async () => {
    const port = await freePort();
    const bus = track(new RedisBus({ url: `redis://127.0.0.1:${port}`, timeout: 200, retries: 2 }));
    const listener = recordingListener();
    const subscribeFailed = nextError(bus, 'subscribe');
    const publishFailed = nextError(bus, 'publish');
    bus.subscribe(listener);
    expect(bus.publish(['k1', 'k2'])).toBeUndefined();
    const [subscribeEvent, publishEvent] = await Promise.all([subscribeFailed, publishFailed]);
    expect(String(subscribeEvent.error)).toMatch(/ECONNREFUSED|connect|closed/i);
    expect(publishEvent.keys).toEqual(['k1', 'k2']);
    expect((publishEvent.error as Error).message).toMatch(/could not publish 2 key\(s\) in 3 attempts/);
    expect(listener.states).toEqual([]);
    expect(bus.connected).toBe(false);
  });

  it('never puts the password of a url into an error it reports', async () => {
    // the shared Redis has no such user: every HELLO … AUTH fails, and ioredis's error carries its arguments
    const bus = track(new RedisBus({ url: `redis://nobody:s3cret-pw@127.0.0.1:${redisPort}`, timeout: 500, retries: 0 }));
    const errors = collectErrors(bus);
    const reported = nextError(bus, 'publish');
    bus.subscribe(recordingListener());
    bus.publish(['k']);
    await reported;
    await nextError(bus, 'subscribe');
    await bus.release();
    expect(errors.length).toBeGreaterThan(0);
    const seen = errors.map((e) => `${String(e.error)} ${JSON.stringify(e.error)} ${JSON.stringify((e.error as { cause?: unknown }).cause ?? null)}`);
    expect(seen.join('\n')).not.toContain('s3cret-pw');
  });
});

describe('RedisBus on a Cluster whose subscriber connection is killed', () => {
  it.each([
    ['sharded', true],
    ['classic', false],
  ])('reports disconnected then connected after resubscribing (%s)', async (_mode, sharded) => {
    const prefix = freshPrefix();
    const connectionName = `stockpyle-bus-${prefix}`;
    const seeds = CLUSTER.map(({ host, port }) => `${host}:${port}`);
    const bus = track(new RedisBus({ url: seeds, prefix, sharded, timeout: 3_000, redisOptions: { connectionName } }));
    const other = track(new RedisBus({ url: seeds, prefix, sharded, timeout: 3_000 }));
    const listener = recordingListener();
    bus.subscribe(listener);
    expect(await listener.stateAt(1)).toBe('connected');
    let killed = 0;
    for (const { host, port } of CLUSTER) {
      const list = String(await redisCommand(host, port, ['CLIENT', 'LIST', 'TYPE', 'pubsub']));
      for (const line of list.split('\n').filter((l) => l.includes(` name=${connectionName} `))) {
        const id = /\bid=(\d+)/.exec(line)![1]!;
        await redisCommand(host, port, ['CLIENT', 'KILL', 'ID', id]);
        killed += 1;
      }
    }
    expect(killed).toBe(1);
    expect(await listener.stateAt(2)).toBe('disconnected');
    expect(await listener.stateAt(3)).toBe('connected');
    other.publish(['after']);
    await eventually(async () => expect(listener.keysHeard).toEqual(['after']));
  });
});
