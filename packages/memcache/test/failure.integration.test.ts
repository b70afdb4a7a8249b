import 'reflect-metadata';
import { ChainedStore, TierUnavailableError, TimeoutError, type Store, type StoreEvent } from '@stockpyle/core';
import { MemcacheStore, type MemcacheStoreOptions } from '@stockpyle/memcache';
import { startMemcached, type ServiceHandle } from '../../../test-support/services';
import { Foo, idKey, newFoo, rawClient, sleep } from './support/fixtures';
import { MemoryDatabase } from '../../core/test/support/memory-database';

// Each test gets a private memcached to kill or freeze; never the shared one.
describe('MemcacheStore against a failing memcached', () => {
  const TIMEOUT = 300;
  // Generous: these bounds show that a call settles instead of hanging, not how fast it is.
  const SETTLES_WITHIN = TIMEOUT * 5;
  let server: ServiceHandle;
  const opened: Store[] = [];

  const open = (options: Omit<MemcacheStoreOptions, 'servers' | 'client'> = {}): MemcacheStore => {
    const store = new MemcacheStore({ servers: [server.url], timeout: TIMEOUT, ...options });
    opened.push(store);
    return store;
  };
  const chainOver = (memcache: MemcacheStore): { chain: ChainedStore; database: MemoryDatabase; errors: StoreEvent[] } => {
    const database = new MemoryDatabase();
    const chain = new ChainedStore([memcache, database], { tierTimeout: 2000, breaker: { failureThreshold: 3, resetAfter: 100 } });
    const errors: StoreEvent[] = [];
    chain.on('error', (e) => errors.push(e));
    opened.push(chain);
    return { chain, database, errors };
  };
  const timed = async <T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> => {
    const start = Date.now();
    const [result] = await Promise.allSettled([promise]);
    return { ms: Date.now() - start, result: result! };
  };
  const reasonOf = (result: PromiseSettledResult<unknown>): unknown => (result.status === 'rejected' ? result.reason : undefined);

  beforeEach(async () => {
    server = await startMemcached();
  }, 30_000);

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.release()));
    await server.stop();
  }, 30_000);

  describe('killed', () => {
    it('fails each call at once with TierUnavailableError naming the server, never a value or a credential', async () => {
      const store = open({ username: 'app', password: 's3cret-pw' });
      const f = newFoo('private-note');
      await store.put(f);
      server.kill();
      const calls: (() => Promise<unknown>)[] = [() => store.get(Foo, { id: f.id }), () => store.put(f), () => store.delete(f)];
      for (const call of calls) {
        const { ms, result } = await timed(call());
        const error = reasonOf(result) as Error;
        expect(error).toBeInstanceOf(TierUnavailableError);
        expect(error.message).toContain(`127.0.0.1:${server.port}`);
        expect(`${error.message} ${String(error.cause)} ${error.stack}`).not.toMatch(/s3cret-pw|private-note/);
        expect(ms).toBeLessThan(SETTLES_WITHIN);
      }
    });

    it('inside a chain, gets fall through to the database and the failure is reported', async () => {
      const { chain, database, errors } = chainOver(open());
      const f = newFoo();
      await chain.put(f);
      server.kill();
      const { ms, result } = await timed(chain.get(Foo, { id: f.id }));
      expect(result).toEqual({ status: 'fulfilled', value: expect.objectContaining({ id: f.id }) });
      expect(ms).toBeLessThan(SETTLES_WITHIN);
      expect(errors).toEqual([expect.objectContaining({ type: 'error', store: 'MemcacheStore', operation: 'batchGet' })]);
      await chain.put(newFoo()); // writes reach the database although memcached is gone
      expect(await database.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });

    it('reconnects by itself once memcached is back', async () => {
      const store = open();
      const f = newFoo();
      await store.put(f);
      server.kill();
      await expect(store.get(Foo, { id: f.id })).rejects.toBeInstanceOf(TierUnavailableError);
      await server.restart();
      expect(await store.get(Foo, { id: f.id })).toBeUndefined(); // a restarted memcached is empty
      await store.put(f);
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    }, 30_000);
  });

  describe('restarted (empty: the tombstones are gone)', () => {
    it('skips fills whose read began less than a tombstone lifetime after the connection broke', async () => {
      const store = open({ tombstoneLifetime: 2 });
      const skips: StoreEvent[] = [];
      store.on('skip', (e) => skips.push(e));
      const f = newFoo();
      // As a chain does: the tier's lookup first (it reads the class's generation), then the fill.
      const before = await store.lookup(Foo, [{ id: f.id }]);
      await store.fill([f], Date.now(), before.observed);
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
      await server.restart(); // the store notices: memcached closed its connection
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      const readAt = Date.now(); // a read of the database that a deletion lost in the restart could have outdated
      await store.fill([f], readAt);
      expect(skips).toEqual([expect.objectContaining({ reason: expect.stringMatching(/unreachable too recently/) })]);
      expect(await store.get(Foo, { id: f.id })).toBeUndefined();
      jest.spyOn(Date, 'now').mockReturnValue(readAt + 2100); // a read that began after any lost tombstone expired
      const after = await store.lookup(Foo, [{ id: f.id }]);
      await store.fill([f], Date.now(), after.observed);
      jest.restoreAllMocks();
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    }, 30_000);
  });

  describe('stopped (SIGSTOP: connections stay open, nothing answers)', () => {
    it('fails each call with TimeoutError after the deadline instead of hanging', async () => {
      const store = open();
      const f = newFoo();
      await store.put(f);
      server.pause();
      const calls: (() => Promise<unknown>)[] = [() => store.get(Foo, { id: f.id }), () => store.batchGet(Foo, [{ id: 1 }, { id: 2 }]), () => store.put(f)];
      for (const call of calls) {
        const { ms, result } = await timed(call());
        expect(reasonOf(result)).toBeInstanceOf(TimeoutError);
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 5);
        expect(ms).toBeLessThan(SETTLES_WITHIN);
      }
      server.resume();
      expect(await store.get(Foo, { id: f.id })).toMatchObject({ id: f.id });
    });

    it('inside a chain, answers from the database within the deadline, and serves no stale version after it resumes', async () => {
      const { chain, database } = chainOver(open());
      const f = newFoo('v1');
      await chain.put(f);
      server.pause();
      const v2 = new Foo(f.id, f.zap, f.bar, 'v2');
      const put = await timed(chain.put(v2));
      expect(put.result.status).toBe('fulfilled');
      expect(await database.get(Foo, { id: f.id })).toMatchObject({ note: 'v2' });
      const get = await timed(chain.get(Foo, { id: f.id }));
      expect(get.result).toEqual({ status: 'fulfilled', value: expect.objectContaining({ note: 'v2' }) });
      expect(get.ms).toBeLessThan(SETTLES_WITHIN);
      server.resume();
      await sleep(150); // past the breaker's resetAfter, so the chain tries memcached again
      expect(await chain.get(Foo, { id: f.id })).toMatchObject({ note: 'v2' });
      expect(await chain.get(Foo, { zap: f.zap, bar: f.bar })).toMatchObject({ note: 'v2' });
      const raw = rawClient([server.url]);
      try {
        expect((await raw.get(idKey(f))).value?.toString() ?? '').not.toContain('"v1"');
      } finally {
        raw.close();
      }
    }, 20_000);

    it('many calls queued on a frozen connection all settle by the deadline', async () => {
      const store = open();
      await store.put(newFoo());
      server.pause();
      const calls = Array.from({ length: 50 }, () => timed(store.get(Foo, { id: newFoo().id })));
      const results = await Promise.all(calls);
      for (const { ms, result } of results) {
        expect(reasonOf(result)).toBeInstanceOf(TimeoutError);
        expect(ms).toBeLessThan(SETTLES_WITHIN);
      }
      server.resume();
    });
  });

  describe('several servers', () => {
    it('spreads keys over the servers and sends each one batch', async () => {
      const second = await startMemcached();
      const client = rawClient([server.url, second.url]);
      const store = new MemcacheStore({ client });
      const raws = [rawClient([server.url]), rawClient([second.url])];
      try {
        const foos = Array.from({ length: 40 }, () => newFoo());
        await store.batchPut(foos);
        const held = await Promise.all(raws.map((c) => Promise.all(foos.map(async (f) => (await c.get(idKey(f))).value !== null))));
        expect(held[0]!.filter(Boolean).length).toBeGreaterThan(0);
        expect(held[1]!.filter(Boolean).length).toBeGreaterThan(0);
        expect(held[0]!.map((h, i) => h !== held[1]![i])).toEqual(foos.map(() => true)); // each key on exactly one
        const writes = client.servers.map((s) => jest.spyOn(s, 'write'));
        expect((await store.batchGet(Foo, foos.map((f) => ({ id: f.id })))).map((f) => f?.id)).toEqual(foos.map((f) => f.id));
        expect(writes.map((w) => w.mock.calls.length)).toEqual([1, 1]);
      } finally {
        jest.restoreAllMocks();
        [client, ...raws].forEach((c) => c.close());
        await store.release();
        await second.stop();
      }
    }, 30_000);

    it('a dead server fails the batch; the chain still answers from the database', async () => {
      const second = await startMemcached();
      const { chain, errors } = chainOver(new MemcacheStore({ servers: [server.url, second.url], timeout: TIMEOUT }));
      try {
        const foos = Array.from({ length: 10 }, () => newFoo());
        await chain.batchPut(foos);
        second.kill();
        const got = await chain.batchGet(Foo, foos.map((f) => ({ id: f.id })));
        expect(got.map((f) => f?.id)).toEqual(foos.map((f) => f.id));
        expect(errors.length).toBeGreaterThan(0);
      } finally {
        await second.stop();
      }
    }, 30_000);
  });
});
