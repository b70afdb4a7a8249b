import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { ChainedStore, KeyBuilder, ProcessMemoryStore, Stockpyle, getMetadata, type StoreEvent } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import { Redis } from 'ioredis';
import { freePort, redisCommand, startRedis, type ServiceHandle } from '../../../test-support/services';
import { serviceUrl } from '../../../test-support/test-environment';
import { hostilePayloads, prototypeSnapshot, prototypeUntouched } from '../../../test-support/hostile-payloads';
import { describeHostileKeysAndMutation } from '../../../test-support/hostile-suite';
import { VersionedDatabase } from '../../../test-support/fault-load';

// Hostile input against a real Redis: payloads written straight into it under the store's own keys,
// a 50 MB value, objects past what the codec will read back, hostile key values end to end,
// objects mutated by a caller, and passwords (requirepass and an ACL user) that must never show in
// errors or logs.

@Stockpyle({ keys: ['id', 'slug'], name: 'hostile-redis.Doc' })
class Doc {
  constructor(public id: number, public slug: string, public body: unknown = '') {}
}

@Stockpyle({ keys: ['id', ['a', 'b']], name: 'hostile-redis.Keyed' })
class Keyed {
  constructor(public id: unknown, public a: unknown, public b: unknown) {}
}

const REDIS_URL = serviceUrl('redis');
const KEY_RUNS = Number(process.env.STOCKPYLE_HOSTILE_KEY_RUNS ?? 300);
const prefix = `hostile${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const docKeys = new KeyBuilder(prefix);
const docMeta = getMetadata(Doc);
const keyOf = (id: number): string => docKeys.build(docMeta, docMeta.keys[0]!, { id })!;
const pristine = prototypeSnapshot();
const figures: string[] = [];
let seq = Math.floor(Math.random() * 1e8);

let raw: Redis;
beforeAll(async () => {
  raw = new Redis(REDIS_URL, { lazyConnect: true });
  await raw.connect();
});
afterAll(async () => {
  await raw.quit();
  console.log(`redis hostile input: ${figures.join('; ')}`);
});

describe('RedisStore with hostile payloads written straight into Redis', () => {
  let store: RedisStore;
  let corrupt: StoreEvent[];

  beforeEach(() => {
    store = new RedisStore({ url: REDIS_URL, prefix });
    corrupt = [];
    store.on('corrupt', (e) => corrupt.push(e));
  });
  afterEach(() => store.release());

  const payloads = hostilePayloads('hostile-redis.Doc', '"id":1,"slug":"doc-1"');
  const withId = (payload: string | Buffer, id: number): string | Buffer => (typeof payload === 'string' ? payload.replaceAll('"id":1', `"id":${id}`) : payload);

  it.each(payloads)('%s: a miss, removed, counted, Object.prototype untouched, nothing thrown', async (_name, payload) => {
    const id = ++seq;
    await raw.set(keyOf(id), withId(payload, id));
    await expect(store.get(Doc, { id })).resolves.toBeUndefined();
    expect(await raw.exists(keyOf(id))).toBe(0);
    expect(corrupt).toHaveLength(1);
    expect(prototypeUntouched(pristine)).toBe(true);
  });

  it.each(payloads)('%s: a chain serves the database\'s object instead', async (_name, payload) => {
    const id = ++seq;
    const db = new VersionedDatabase(0);
    await db.put(new Doc(id, `doc-${id}`, 'from the database'));
    const chain = new ChainedStore([new ProcessMemoryStore(), store, db]);
    await raw.set(keyOf(id), withId(payload, id));
    await expect(chain.get(Doc, { id })).resolves.toMatchObject({ body: 'from the database' });
    expect(corrupt).toHaveLength(1);
    expect(prototypeUntouched(pristine)).toBe(true);
  });

  it('a 50 MB value is refused on decode (over 16 MiB): a miss, removed, counted, read within the deadline', async () => {
    const id = ++seq;
    await raw.set(keyOf(id), `{"f":1,"k":"v","c":"hostile-redis.Doc","e":0,"d":{"id":${id},"slug":"doc-${id}","body":"${'x'.repeat(50 * 1024 * 1024)}"}}`);
    const db = new VersionedDatabase(0);
    await db.put(new Doc(id, `doc-${id}`, 'from the database'));
    const slow = new RedisStore({ url: REDIS_URL, prefix, timeout: 5_000 });
    slow.on('corrupt', (e) => corrupt.push(e));
    const chain = new ChainedStore([slow, db], { tierTimeout: 5_000 });
    try {
      const started = performance.now();
      await expect(chain.get(Doc, { id })).resolves.toMatchObject({ body: 'from the database' });
      figures.push(`50 MB value read, refused and removed in ${(performance.now() - started).toFixed(0)} ms`);
      expect(corrupt).toEqual([expect.objectContaining({ reason: expect.stringMatching(/exceeds/) })]);
      expect(await slow.get(Doc, { id })).toMatchObject({ body: 'from the database' }); // filled with the right one
    } finally {
      await chain.release();
    }
  }, 60_000);
});

describe('objects larger than the codec reads back', () => {
  it('are skipped by Redis (a skip event) and served by the other tiers, instead of being written, refused and written again', async () => {
    const redis = new RedisStore({ url: REDIS_URL, prefix, timeout: 5_000 });
    const skipped: StoreEvent[] = [];
    const corrupt: StoreEvent[] = [];
    redis.on('skip', (e) => skipped.push(e)).on('corrupt', (e) => corrupt.push(e));
    const memory = new ProcessMemoryStore();
    const db = new VersionedDatabase(0);
    const chain = new ChainedStore([memory, redis, db], { tierTimeout: 5_000 });
    try {
      const id = ++seq;
      await chain.put(new Doc(id, `doc-${id}`, 'small'));
      const big = new Doc(id, `doc-${id}`, 'y'.repeat(17 * 1024 * 1024));
      await chain.put(big);
      expect(skipped).toEqual([expect.objectContaining({ className: 'hostile-redis.Doc' })]);
      expect(await redis.get(Doc, { id })).toBeUndefined(); // not the small one either
      expect(await chain.get(Doc, { id })).toBe(big);
      memory.clear();
      expect((await chain.get(Doc, { id }))?.body).toHaveLength(17 * 1024 * 1024); // the database
      expect(corrupt).toEqual([]);
      expect(await raw.strlen(keyOf(id))).toBeLessThan(1024); // at most a tombstone
    } finally {
      await chain.release();
    }
  }, 60_000);
});

describeHostileKeysAndMutation({
  label: 'Redis',
  open: () => new RedisStore({ url: REDIS_URL, prefix }),
  Keyed,
  Doc,
  keyRuns: KEY_RUNS,
  nextId: () => ++seq,
  figures,
});

describe('passwords (requirepass and an ACL user)', () => {
  const password = `pw-${randomUUID()}`;
  const alicePassword = `alice-${randomUUID()}`;
  let server: ServiceHandle;

  const leaks = (text: string): boolean => [password, alicePassword, 'wrong-'].some((secret) => text.includes(secret));

  beforeAll(async () => {
    server = await startRedis();
    // Set after start: the harness's readiness probe speaks without a password.
    await redisCommand(server.host, server.port, ['ACL', 'SETUSER', 'alice', 'on', `>${alicePassword}`, '~*', '&*', '+@all']);
    await redisCommand(server.host, server.port, ['CONFIG', 'SET', 'requirepass', password]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the right password and the right ACL user work', async () => {
    for (const url of [`redis://:${password}@127.0.0.1:${server.port}`, `redis://alice:${alicePassword}@127.0.0.1:${server.port}`]) {
      const store = new RedisStore({ url, prefix });
      try {
        const id = ++seq;
        await store.put(new Doc(id, `doc-${id}`));
        expect(await store.get(Doc, { id })).toMatchObject({ id });
      } finally {
        await store.release();
      }
    }
  });

  it('a wrong password, a wrong ACL password, none, and a dead port: no password in any error, event or log line', async () => {
    const output: string[] = [];
    const spies = (['log', 'warn', 'error', 'info', 'debug'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void output.push(inspect(args, { depth: 10 }))),
    );
    const dead = await freePort();
    const urls = [
      `redis://:wrong-${password}@127.0.0.1:${server.port}`,
      `redis://alice:wrong-${alicePassword}@127.0.0.1:${server.port}`,
      `redis://127.0.0.1:${server.port}`,
      `redis://alice:${alicePassword}@127.0.0.1:${dead}`,
    ];
    const seen: string[] = [];
    try {
      for (const url of urls) {
        const store = new RedisStore({ url, prefix, timeout: 300 });
        store.on('error', (e) => seen.push(inspect(e, { depth: 10 }), JSON.stringify(e, (_k, v: unknown) => (v instanceof Error ? { ...v, message: v.message } : v))));
        const chain = new ChainedStore([store, new VersionedDatabase(0)]);
        chain.on('error', (e) => seen.push(inspect(e, { depth: 10 }), String((e.error as Error).stack)));
        try {
          await store.get(Doc, { id: 1 });
          seen.push('no error');
        } catch (error) {
          seen.push(inspect(error, { depth: 10 }), String((error as Error).stack));
        }
        await expect(chain.get(Doc, { id: 1 })).resolves.toBeUndefined();
        await new Promise((resolve) => setTimeout(resolve, 200)); // let ioredis report its reconnection attempts too
        await chain.release();
      }
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(seen.filter((s) => s.includes('WRONGPASS')).length).toBeGreaterThan(0); // the failures were seen
    expect(seen.filter(leaks)).toEqual([]);
    expect(output.filter(leaks)).toEqual([]);
    figures.push(`passwords: ${seen.length} errors and events inspected, 0 with a password`);
  }, 30_000);
});
