import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ChainedStore, KeyBuilder, ProcessMemoryStore, Stockpyle, getMetadata, type StoreEvent } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { Client } from 'memjs';
import { freePort, startMemcached, type ServiceHandle } from '../../../test-support/services';
import { isRoot, which } from '../../../test-support/internal/install';
import { ManagedServer } from '../../../test-support/internal/managed-server';
import { hostilePayloads, prototypeSnapshot, prototypeUntouched } from '../../../test-support/hostile-payloads';
import { describeHostileKeysAndMutation } from '../../../test-support/hostile-suite';
import { VersionedDatabase } from '../../../test-support/fault-load';
import { rawClient, sharedServers } from './support/fixtures';

// Hostile input against a real memcached: payloads written straight into it under the store's own
// keys, values past its item size, hostile key values end to end, objects past the store's limit,
// objects mutated by a caller, and SASL credentials that must never show in errors or logs.

@Stockpyle({ keys: ['id', 'slug'], name: 'hostile-mc.Doc' })
class Doc {
  constructor(public id: number, public slug: string, public body: unknown = '') {}
}

@Stockpyle({ keys: ['id', ['a', 'b']], name: 'hostile-mc.Keyed' })
class Keyed {
  constructor(public id: unknown, public a: unknown, public b: unknown) {}
}

const KEY_RUNS = Number(process.env.STOCKPYLE_HOSTILE_KEY_RUNS ?? 300);
const prefix = `hostile${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const docKeys = new KeyBuilder(prefix);
const docMeta = getMetadata(Doc);
const keyOf = (id: number): string => docKeys.build(docMeta, docMeta.keys[0]!, { id })!;
const pristine = prototypeSnapshot();
const figures: string[] = [];
let seq = Math.floor(Math.random() * 1e8);

afterAll(() => console.log(`memcached hostile input: ${figures.join('; ')}`));

describe('MemcacheStore with hostile payloads written straight into memcached', () => {
  let raw: Client;
  let store: MemcacheStore;
  let corrupt: StoreEvent[];

  beforeAll(() => {
    raw = rawClient();
  });
  afterAll(() => raw.close());
  beforeEach(() => {
    store = new MemcacheStore({ servers: sharedServers(), prefix });
    corrupt = [];
    store.on('corrupt', (e) => corrupt.push(e));
  });
  afterEach(() => store.release());

  const payloads = hostilePayloads('hostile-mc.Doc', '"id":1,"slug":"doc-1"');

  it.each(payloads)('%s: a miss, removed, counted, Object.prototype untouched, nothing thrown', async (_name, payload) => {
    const id = ++seq;
    await raw.set(keyOf(id), typeof payload === 'string' ? payload.replaceAll('"id":1', `"id":${id}`) : payload, {});
    await expect(store.get(Doc, { id })).resolves.toBeUndefined();
    expect((await raw.get(keyOf(id))).value).toBeNull();
    expect(corrupt).toHaveLength(1);
    expect(prototypeUntouched(pristine)).toBe(true);
  });

  it.each(payloads)('%s: a chain serves the database\'s object instead', async (_name, payload) => {
    const id = ++seq;
    const db = new VersionedDatabase(0);
    await db.put(new Doc(id, `doc-${id}`, 'from the database'));
    const chain = new ChainedStore([new ProcessMemoryStore(), store, db]);
    await raw.set(keyOf(id), typeof payload === 'string' ? payload.replaceAll('"id":1', `"id":${id}`) : payload, {});
    await expect(chain.get(Doc, { id })).resolves.toMatchObject({ body: 'from the database' });
    expect(corrupt).toHaveLength(1);
    expect(prototypeUntouched(pristine)).toBe(true);
  });

  it('a JSON value envelope for another id under this key is a miss, never the other object', async () => {
    const id = ++seq;
    await raw.set(keyOf(id), `{"f":1,"k":"v","c":"hostile-mc.Doc","e":0,"d":{"id":${id + 1},"slug":"x"}}`, {});
    await expect(store.get(Doc, { id })).resolves.toBeUndefined();
  });
});

describe('MemcacheStore with values past memcached\'s default item size (a private memcached with -I 64m)', () => {
  let server: ServiceHandle;
  let raw: Client;

  beforeAll(async () => {
    server = await startMemcached({ extraArgs: ['-I', '64m', '-m', '512'] });
    raw = rawClient([server.url]);
  });
  afterAll(async () => {
    raw?.close();
    await server?.stop();
  });

  it('a 17 MiB envelope is refused on decode (over 16 MiB): a miss, removed, counted', async () => {
    const store = new MemcacheStore({ servers: [server.url], prefix, timeout: 30_000 }); // memjs reads big values slowly
    const corrupt: StoreEvent[] = [];
    store.on('corrupt', (e) => corrupt.push(e));
    const id = ++seq;
    await raw.set(keyOf(id), `{"f":1,"k":"v","c":"hostile-mc.Doc","e":0,"d":{"id":${id},"slug":"doc-${id}","body":"${'x'.repeat(17 * 1024 * 1024)}"}}`, {});
    try {
      const started = performance.now();
      await expect(store.get(Doc, { id })).resolves.toBeUndefined();
      figures.push(`17 MiB value read and refused in ${(performance.now() - started).toFixed(0)} ms`);
      expect(corrupt).toEqual([expect.objectContaining({ reason: expect.stringMatching(/exceeds/) })]);
      expect((await raw.get(keyOf(id))).value).toBeNull();
    } finally {
      await store.release();
    }
  }, 60_000);

  it('a 50 MB value: a chain answers from the database within the deadline (memjs cannot read it in time, so it stays: a known limit)', async () => {
    const store = new MemcacheStore({ servers: [server.url], prefix }); // default deadline, 500 ms
    const db = new VersionedDatabase(0);
    const chain = new ChainedStore([store, db]);
    const errors: StoreEvent[] = [];
    chain.on('error', (e) => errors.push(e));
    const id = ++seq;
    await db.put(new Doc(id, `doc-${id}`, 'from the database'));
    await raw.set(keyOf(id), `{"f":1,"k":"v","c":"hostile-mc.Doc","e":0,"d":{"id":${id},"body":"${'x'.repeat(50 * 1024 * 1024)}"}}`, {});
    try {
      const started = performance.now();
      await expect(chain.get(Doc, { id })).resolves.toMatchObject({ body: 'from the database' });
      const ms = performance.now() - started;
      figures.push(`50 MB value: the chain answered from the database in ${ms.toFixed(0)} ms (memcached read timed out; the value stays)`);
      expect(ms).toBeLessThan(1000 + 500);
      expect(errors).toEqual([expect.objectContaining({ type: 'error', operation: 'batchGet' })]);
    } finally {
      await chain.release();
    }
  }, 60_000);
});

describe('objects larger than the memcached tier takes', () => {
  it('are skipped by memcached (a skip event) and served by the other tiers; no older version stays behind', async () => {
    const memcache = new MemcacheStore({ servers: sharedServers(), prefix });
    const skipped: StoreEvent[] = [];
    memcache.on('skip', (e) => skipped.push(e));
    const memory = new ProcessMemoryStore();
    const db = new VersionedDatabase(0);
    const chain = new ChainedStore([memory, memcache, db]);
    try {
      const id = ++seq;
      await chain.put(new Doc(id, `doc-${id}`, 'small'));
      expect(await memcache.get(Doc, { id })).toMatchObject({ body: 'small' });
      const big = new Doc(id, `doc-${id}`, 'y'.repeat(2 * 1024 * 1024));
      await chain.put(big);
      expect(skipped).toEqual([expect.objectContaining({ className: 'hostile-mc.Doc', reason: expect.stringMatching(/exceeds/) })]);
      expect(await memcache.get(Doc, { id })).toBeUndefined(); // not the small one either
      expect(await chain.get(Doc, { id })).toBe(big); // process memory holds the live object
      memory.clear();
      expect((await chain.get(Doc, { id }))?.body).toHaveLength(2 * 1024 * 1024); // the database
      expect(await memcache.get(Doc, { id })).toBeUndefined();
    } finally {
      await chain.release();
    }
  });
});

describeHostileKeysAndMutation({
  label: 'memcached',
  open: () => new MemcacheStore({ servers: sharedServers(), prefix }),
  Keyed,
  Doc,
  keyRuns: KEY_RUNS,
  nextId: () => ++seq,
  figures,
});

describe('SASL credentials', () => {
  const password = `pw-${randomUUID()}`;
  const user = 'stockpyle';
  let server: ManagedServer | undefined;

  /** Whether `text` mentions the password, whole or in part. */
  const leaks = (text: string): boolean => text.includes(password) || text.includes(password.slice(3, 15));

  beforeAll(async () => {
    if (which('saslpasswd2') === undefined) return; // see the test below: then only a server without SASL is used
    const dir = mkdtempSync(join(tmpdir(), 'stockpyle-sasl-'));
    writeFileSync(join(dir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${join(dir, 'sasldb2')}\n`);
    execFileSync('saslpasswd2', ['-a', 'memcached', '-c', '-p', '-f', join(dir, 'sasldb2'), user], { input: password });
    const port = await freePort();
    try {
      server = new ManagedServer({
        name: 'memcached-sasl',
        // memcached reads its SASL config from SASL_CONF_PATH
        command: which('env')!,
        args: [`SASL_CONF_PATH=${dir}`, which('memcached')!, '-S', '-l', '127.0.0.1', '-p', String(port), '-U', '0', ...(isRoot() ? ['-u', 'root'] : [])],
        port,
        url: `127.0.0.1:${port}`,
        dir,
        stopSignal: 'SIGKILL',
        // With SASL memcached speaks only the binary protocol, to authenticated clients.
        probe: async () => {
          const client = Client.create(`127.0.0.1:${port}`, { username: user, password, retries: 0, timeout: 0.5, logger: { log: () => undefined } });
          try {
            await client.set('probe', 'ok', {});
          } finally {
            client.close();
          }
        },
      });
      await server.start();
    } catch (error) {
      await server?.stop();
      throw error;
    }
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('the right credentials work', async () => {
    if (server === undefined) return;
    const store = new MemcacheStore({ servers: [server.url], username: user, password, prefix });
    try {
      const id = ++seq;
      await store.put(new Doc(id, `doc-${id}`));
      expect(await store.get(Doc, { id })).toMatchObject({ id });
    } finally {
      await store.release();
    }
  });

  it('a wrong password, a server without SASL and a dead port: the password is in no error, event or log line', async () => {
    const output: string[] = [];
    const spies = (['log', 'warn', 'error', 'info', 'debug'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => void output.push(inspect(args, { depth: 10 }))),
    );
    const dead = await freePort();
    const targets = [
      ...(server === undefined ? [] : [{ servers: [server.url], username: user, password: `${password}-wrong` }]),
      { servers: sharedServers(), username: user, password },
      { servers: [`127.0.0.1:${dead}`], username: user, password },
      { servers: [`${user}:${password}@127.0.0.1:${dead}`] },
    ];
    const seen: string[] = [];
    try {
      for (const options of targets) {
        const store = new MemcacheStore({ ...options, prefix, timeout: 300 });
        store.on('error', (e) => seen.push(inspect(e, { depth: 10 })));
        const db = new VersionedDatabase(0);
        const chain = new ChainedStore([store, db]);
        chain.on('error', (e) => seen.push(inspect(e, { depth: 10 }), String((e.error as Error).stack)));
        try {
          await store.get(Doc, { id: 1 });
          seen.push('no error');
        } catch (error) {
          seen.push(inspect(error, { depth: 10 }), String((error as Error).stack), JSON.stringify(error));
        }
        await expect(chain.get(Doc, { id: 1 })).resolves.toBeUndefined();
        await chain.release();
      }
      try {
        new MemcacheStore({ servers: [`${user}:${password}@127.0.0.1:99999`] });
      } catch (error) {
        seen.push(inspect(error, { depth: 10 }));
      }
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(seen.filter((s) => s !== 'no error').length).toBeGreaterThanOrEqual(targets.length);
    expect(seen.filter(leaks)).toEqual([]);
    expect(output.filter(leaks)).toEqual([]);
    figures.push(`SASL ${server === undefined ? 'unavailable (saslpasswd2 missing): only non-SASL targets' : 'server'}: ${seen.length} errors and events inspected, 0 with the password`);
  }, 30_000);
});
