import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChainedStore, ProcessMemoryStore, type StoreEvent } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import { Doc, VersionedDatabase } from '../../../test-support/fault-load';
import { startRedis, type ServiceHandle } from '../../../test-support/services';
import { TcpProxy } from '../../../test-support/tcp-proxy';

// A Redis tier without lifetimes that misses more invalidations than the chain can remember
// (maxPendingInvalidations) while it is unreachable: before clear(Class), those entries stayed
// there for good. Now the chain clears the class on that tier before it trusts it again, so no
// process reads them after recovery (docs/ARCHITECTURE.md, "Clearing a class").

const ROWS = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`a Redis tier that missed ${ROWS} invalidations during an outage`, () => {
  let server: ServiceHandle;
  let proxy: TcpProxy;

  beforeAll(async () => {
    server = await startRedis();
    proxy = await TcpProxy.start({ port: server.port });
  }, 30_000);

  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('is cleared before it is used again: 0 stale reads, in this process and in another', async () => {
    const db = new VersionedDatabase(0);
    // Tombstones of 2 s: a tier refuses fills for one tombstone lifetime after its connection broke.
    // Generous deadlines: the proxy's resets fail calls at once, and a loaded machine must not time
    // out the healthy batches around the outage.
    const redis = new RedisStore({ url: `redis://${proxy.address}`, timeout: 2_000, tombstoneLifetime: 2 });
    const chain = new ChainedStore([new ProcessMemoryStore({ max: 4 * ROWS }), redis, db], { tierTimeout: 3_000, breaker: { resetAfter: 300 }, maxPendingInvalidations: 10_000 });
    const errors: StoreEvent[] = [];
    chain.on('error', (e) => errors.push(e));
    // Another process's view of the same Redis, not through the proxy.
    const other = new RedisStore({ url: server.url });
    const ids = Array.from({ length: ROWS }, (_v, i) => ({ id: i + 1 }));
    try {
      await chain.batchPut(ids.map(({ id }) => new Doc(id, `doc-${id}`, 0, 'before')));
      expect((await other.batchGet(Doc, ids)).every((d) => d?.body === 'before')).toBe(true);

      proxy.setMode({ kind: 'reset' }); // Redis unreachable for this process
      const changed = ids.map(({ id }) => new Doc(id, `doc-${id}`, 0, 'after'));
      await db.batchPut(changed); // committed elsewhere: the subscriber then invalidates, in batches per commit
      for (let i = 0; i < ROWS; i += 1_000) await chain.invalidate(changed.slice(i, i + 1_000));
      const overflow = errors.filter((e) => e.type === 'error' && /will be cleared there/.test(String((e as { error: unknown }).error)));
      expect(overflow).toHaveLength(1);
      // What the outage left in Redis: every entry of the old version.
      const left = (await other.batchGet(Doc, ids)).filter((d) => d?.body === 'before').length;
      expect(left).toBe(ROWS);

      proxy.setMode({ kind: 'pass' });
      await sleep(2_200); // past the breaker's resetAfter and a tombstone lifetime
      const reads = db.reads;
      const found = await chain.batchGet(Doc, ids);
      expect(found.filter((d) => d?.body !== 'after')).toHaveLength(0);
      expect(db.reads - reads).toBeGreaterThan(0); // cleared: read again from the database once
      // The other process: nothing of the old version is reachable in Redis. What is not there yet
      // is a fill Redis refused so soon after this process's connection broke (one tombstone lifetime).
      const seen = await other.batchGet(Doc, ids);
      expect(seen.filter((d) => d !== undefined && d.body !== 'after')).toHaveLength(0);
      const refilled = seen.filter((d) => d !== undefined).length;
      // Cached again (a batch this large goes as slices, and fills landing late are dropped, so
      // some rows may take one more read): a slice read twice costs no database read the second
      // time, through this chain and through another process's chain on the same Redis.
      const sample = ids.slice(0, 1_000);
      const elsewhere = new ChainedStore([new ProcessMemoryStore(), other, db]);
      for (const reader of [chain, elsewhere]) {
        expect((await reader.batchGet(Doc, sample)).filter((d) => d?.body !== 'after')).toHaveLength(0);
        const before = db.reads;
        expect((await reader.batchGet(Doc, sample)).filter((d) => d?.body !== 'after')).toHaveLength(0);
        expect(db.reads).toBe(before);
      }
      const fresh = new ChainedStore([new ProcessMemoryStore(), other, db]);
      const before = db.reads;
      expect((await fresh.batchGet(Doc, sample)).filter((d) => d?.body !== 'after')).toHaveLength(0);
      expect(db.reads).toBe(before); // served by Redis alone
      console.log(
        `clear after an outage: ${ROWS} invalidations missed by Redis (pending limit 10,000), ${left} old entries left there; ` +
          `after recovery 0 stale reads through the chain and 0 old entries reachable by another process (${refilled} refilled by the first read; the rest not yet: fills landing later than half a tombstone lifetime are dropped` +
          `); ${errors.length} tier errors reported`,
      );
    } finally {
      await Promise.all([chain.release(), other.release()]);
    }
  }, 120_000);
});
