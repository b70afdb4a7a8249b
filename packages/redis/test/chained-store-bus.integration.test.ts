import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ChainedStore, ProcessMemoryStore, Stockpyle, type BusState, type StoreEvent, type StoreEventOf } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import { eventually } from '../../../test-support/eventually';
import { TcpProxy } from '../../../test-support/tcp-proxy';
import { serviceUrl } from '../../../test-support/test-environment';
import { MemoryDatabase } from '../../core/test/support/memory-database';

jest.setTimeout(30_000);

const REDIS_URL = serviceUrl('redis');
const redisPort = Number(new URL(REDIS_URL).port);

@Stockpyle({ keys: ['id', 'email'], name: 'test.redisbus.User' })
class User {
  constructor(
    public id: number,
    public email: string,
    public version: number,
  ) {}
}

let seq = Math.floor(Math.random() * 1e9);
const opened: { release(): Promise<void> }[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  // Chains first (they unsubscribe), then buses and the shared store.
  for (const thing of opened.splice(0)) await thing.release();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** Resolves when `chain` reports the bus state `state`. */
function busState(chain: ChainedStore, state: BusState): Promise<void> {
  return new Promise((resolve) => {
    const listener = (e: StoreEventOf<'bus'>): void => {
      if (e.state !== state) return;
      chain.off('bus', listener);
      resolve();
    };
    chain.on('bus', listener);
  });
}

/** Two "processes" in one jest process: each its own RedisBus and memory tier, one RedisStore and database shared. */
async function twoProcesses(options: { proxied?: boolean; maxStaleWhileDisconnected?: number } = {}) {
  const prefix = `chain-bus-${++seq}`;
  const store = new RedisStore({ url: REDIS_URL, prefix, timeout: 1000 });
  const db = new MemoryDatabase();
  const proxy = options.proxied === true ? await TcpProxy.start({ port: redisPort }) : undefined;
  if (proxy !== undefined) proxies.push(proxy);
  const proc = (name: string, url: string) => {
    const memory = new ProcessMemoryStore();
    // Counts the messages this process has acted on, so a test can wait for one to arrive.
    const settled = jest.spyOn(memory, 'settleKeys');
    const heard = (n: number) => eventually(async () => expect(settled).toHaveBeenCalledTimes(n));
    const shared = CountingStore.wrap(store);
    const database = CountingStore.wrap(db);
    const bus = new RedisBus({ url, prefix, timeout: 300, name: `bus-${name}` });
    const chain = new ChainedStore([memory, shared, database], { name, bus, maxStaleWhileDisconnected: options.maxStaleWhileDisconnected });
    const errors: StoreEvent[] = [];
    chain.on('error', (e) => errors.push(e));
    return { memory, shared, database, bus, chain, errors, heard, connected: busState(chain, 'connected') };
  };
  const a = proc('A', REDIS_URL);
  const b = proc('B', proxy === undefined ? REDIS_URL : `redis://127.0.0.1:${proxy.port}`);
  opened.push(a.chain, b.chain, a.bus, b.bus, store);
  await Promise.all([a.connected, b.connected]);
  return { a, b, db, proxy };
}

describe('ChainedStore with a RedisBus (standalone Redis)', () => {
  it('a write in one process drops the other\'s memory copy; its next read: one Redis read, no database read', async () => {
    const { a, b } = await twoProcesses();
    await a.chain.put(new User(1, 'u@x', 1));
    await b.heard(1);
    expect((await b.chain.get(User, { id: 1 }))?.version).toBe(1);
    expect((await b.memory.get(User, { id: 1 }))?.version).toBe(1);
    await a.chain.put(new User(1, 'u@x', 2));
    await b.heard(2);
    expect(await b.memory.get(User, { id: 1 })).toBeUndefined();
    b.shared.resetCounts();
    b.database.resetCounts();
    expect((await b.chain.get(User, { id: 1 }))?.version).toBe(2);
    expect(b.shared.calls('lookup', 'batchGet')).toBe(1);
    expect(b.database.calls('get', 'batchGet')).toBe(0);
    // ...and by the alternate key, now from memory again
    expect((await b.chain.get(User, { email: 'u@x' }))?.version).toBe(2);
    expect(b.shared.calls('lookup', 'batchGet')).toBe(1);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('a process ignores its own messages; delete() reaches the other process', async () => {
    const { a, b } = await twoProcesses();
    const user = new User(2, 'd@x', 1);
    await a.chain.put(user);
    await b.heard(1);
    await b.chain.get(User, { id: 2 });
    await a.chain.delete(user);
    await b.heard(2);
    expect(await b.memory.get(User, { id: 2 })).toBeUndefined();
    expect(await b.chain.get(User, { id: 2 })).toBeUndefined();
    await b.chain.put(new User(3, 'o@x', 1));
    await a.heard(1);
    // B's memory keeps what it wrote once its message has gone round (A heard it).
    await a.chain.get(User, { id: 3 });
    await b.chain.put(new User(3, 'o@x', 2));
    await a.heard(2);
    expect(await a.memory.get(User, { id: 3 })).toBeUndefined();
    b.shared.resetCounts();
    expect((await b.chain.get(User, { id: 3 }))?.version).toBe(2);
    expect(b.shared.calls()).toBe(0);
  });

  it('a cut bus link: disconnected, the first tier serves only young entries, and after resubscribing no stale read', async () => {
    const { a, b, proxy } = await twoProcesses({ proxied: true, maxStaleWhileDisconnected: 200 });
    await a.chain.put(new User(4, 'c@x', 1));
    await b.heard(1);
    expect((await b.chain.get(User, { id: 4 }))?.version).toBe(1);
    const down = busState(b.chain, 'disconnected');
    proxy!.setMode({ kind: 'reset' });
    await down;
    await a.chain.put(new User(4, 'c@x', 2)); // B cannot hear this
    // Past maxStaleWhileDisconnected the first tier's copy is not served: B reads Redis.
    await new Promise((resolve) => setTimeout(resolve, 250));
    b.shared.resetCounts();
    expect((await b.chain.get(User, { id: 4 }))?.version).toBe(2);
    expect(b.shared.calls('lookup', 'batchGet')).toBe(1);
    await a.chain.put(new User(4, 'c@x', 3)); // missed too
    const up = busState(b.chain, 'connected');
    proxy!.setMode({ kind: 'pass' });
    await up;
    // The resync cleared B's memory: whatever it read before, it now reads the latest.
    expect(b.memory.size).toBe(0);
    expect((await b.chain.get(User, { id: 4 }))?.version).toBe(3);
    expect((await b.chain.get(User, { email: 'c@x' }))?.version).toBe(3);
    await a.chain.put(new User(4, 'c@x', 4));
    await b.heard(2);
    expect(await b.memory.get(User, { id: 4 })).toBeUndefined();
    expect((await b.chain.get(User, { id: 4 }))?.version).toBe(4);
    expect(b.errors.some((e) => e.type === 'error' && e.operation.startsWith('bus.'))).toBe(true);
  });
});
