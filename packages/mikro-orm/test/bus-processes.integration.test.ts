import 'reflect-metadata';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startRedis, type ServiceHandle } from '../../../test-support/services';
import { TcpProxy } from '../../../test-support/tcp-proxy';
import { clusterNodes, serviceUrl } from '../../../test-support/test-environment';
import { eventually } from '../../../test-support/eventually';
import { Article } from './support/entities';
import { openOrm, type TestOrm } from './support/orm';
import { Proc, dropTimes, droppedByResync, ms, percentiles, versionAsOf, type Write } from './support/bus-procs';
import type { ChildReport, ReadRecord } from './support/bus-procs-protocol';

// Four processes start on tsx and MikroORM each; the fault phases wait for reconnection backoffs.
jest.setTimeout(300_000);

/** Processes, shared rows, and the first tier's bound while the bus is down (docs/ARCHITECTURE.md, "The bus"). */
const N = 4;
const ROWS = 16;
const MAX_STALE = 300;
/** Writes per process in the coherence phase (one round: every process writes a row of its own). */
const ROUNDS = 50;
const READ_EVERY_MS = 2;
/** Rounds of the same writes with the read loops stopped. */
const QUIET_ROUNDS = 25;

const pause = (msToWait: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, msToWait));
const now = (): number => performance.timeOrigin + performance.now();

let db: TestOrm;
let seq = 0;
let titles = 0;

beforeAll(async () => {
  db = await openOrm('procs');
  const em = db.orm.em.fork();
  for (let id = 1; id <= ROWS; id++) em.persist(Object.assign(new Article(), { id, slug: `row-${id}`, title: 'seed' }));
  await em.flush();
});

afterAll(async () => {
  await db.close();
});

/** Starts N processes on one Redis (store and bus), the bus of some through another address (a proxy). */
async function startProcs(storeUrl: string | readonly string[], busUrls: readonly (string | readonly string[])[]): Promise<Proc[]> {
  const prefix = `procs-${process.pid}-${++seq}`;
  const schema = db.orm.config.get('schema')!;
  const procs = busUrls.map(
    (busUrl, index) =>
      new Proc({ index, pgUrl: serviceUrl('postgres'), schema, storeUrl, busUrl, prefix, rows: ROWS, maxStale: MAX_STALE, readEveryMs: READ_EVERY_MS }),
  );
  try {
    await Promise.all(procs.map((p) => p.started()));
  } catch (error) {
    await Promise.all(procs.map((p) => p.quit().catch(() => undefined)));
    throw error;
  }
  return procs;
}

async function reading(procs: readonly Proc[], on: boolean): Promise<void> {
  await Promise.all(procs.map((p) => p.ask({ op: 'read', on }, 'done')));
}

async function reports(procs: readonly Proc[]): Promise<ChildReport[]> {
  return Promise.all(procs.map((p) => p.ask({ op: 'report' }, 'report')));
}

/** One round: each of `writers` changes a row of its own (distinct rows), concurrently. */
async function writeRound(writers: readonly Proc[], round: number): Promise<Write[]> {
  return Promise.all(
    writers.map(async (p, i) => {
      const id = 1 + ((round * writers.length + i) % ROWS);
      // A title no earlier write used: the flush must change the row (or it commits nothing).
      const m = await p.ask({ op: 'write', id, title: `write ${++titles} (round ${round}, process ${p.index})` }, 'wrote');
      expect(m.committedAt).toBeGreaterThan(0);
      expect(m.publishedAt).toBeGreaterThanOrEqual(m.committedAt);
      return { by: p.index, id: m.id, version: m.version, committedAt: m.committedAt, publishedAt: m.publishedAt, flushedAt: m.flushedAt };
    }),
  );
}

/** Waits until every listener other than the writer has dropped the key of every write. */
async function heard(writes: readonly Write[], listeners: readonly Proc[]): Promise<number[]> {
  let drops: (number | undefined)[] = [];
  await eventually(async () => {
    drops = dropTimes(writes, listeners);
    expect(drops.filter((d) => d === undefined)).toHaveLength(0);
  }, 10_000, 2);
  return drops as number[];
}

/**
 * Errors that reached a caller (a read of the loop that threw). What the chains only reported
 * (a tier or bus call past its deadline on the loaded machine, then skipped) is counted apart.
 */
function errorsOf(all: readonly ChildReport[]): string[] {
  return all.flatMap((r, i) => r.errors.filter((e) => e.startsWith('read: ')).map((e) => `process ${i}: ${e}`));
}

function reportedOf(all: readonly ChildReport[]): number {
  return all.reduce((n, r) => n + r.errors.filter((e) => !e.startsWith('read: ')).length, 0);
}

/**
 * For a process whose bus was down: how long ago (ms) the version each read returned had been
 * replaced in the shared tiers (the newer write's flush, with the subscriber's invalidation, had
 * returned); 0 for a current read. A first-tier entry is served while younger than MAX_STALE, and
 * its content is as of the start of the read that filled it: so the bound is MAX_STALE plus the
 * longest read of that process.
 */
function ages(reads: readonly ReadRecord[], writes: readonly Write[]): number[] {
  return reads.map((r) => {
    const current = versionAsOf(writes, r.id, r.start, (w) => w.flushedAt);
    if (r.version >= current) return 0;
    const replacedBy = writes.filter((w) => w.id === r.id && w.version > r.version).sort((a, b) => a.flushedAt - b.flushedAt)[0]!;
    return r.start - replacedBy.flushedAt;
  });
}

/** Reads that began after `t` and returned a version older than the newest one flushed before they began. */
function staleAfter(reads: readonly ReadRecord[], writes: readonly Write[], t: number): ReadRecord[] {
  return reads.filter((r) => r.start > t && r.version < versionAsOf(writes, r.id, r.start, (w) => w.flushedAt));
}

describe.each([
  ['standalone', (): string => serviceUrl('redis')],
  ['Cluster', (): string[] => clusterNodes().map(({ host, port }) => `${host}:${port}`)],
])('%s Redis: 4 processes [memory, Redis, MikroORM] with a RedisBus each, reading and writing 16 rows', (topology, url) => {
  let procs: Proc[] = [];

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.quit()));
  });

  it('drops a committed row from every other process\'s memory tier within milliseconds, and no read after that is stale', async () => {
    procs = await startProcs(url(), Array.from({ length: N }, () => url()));
    await reading(procs, true);
    // Let the read loops fill every memory tier before the first write.
    await pause(300);
    await reports(procs);
    const writes: Write[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = await writeRound(procs, round);
      // The next round writes other rows, but a row comes back every ROWS / N rounds: hear this one first.
      await heard(batch, procs);
      writes.push(...batch);
    }
    await pause(100);
    await reading(procs, false);
    const all = await reports(procs);
    const drops = await heard(writes, procs);
    // The same rounds with the read loops stopped: what the bus path costs when the processes are idle.
    const quiet: Write[] = [];
    for (let round = ROUNDS; round < ROUNDS + QUIET_ROUNDS; round++) {
      const batch = await writeRound(procs, round);
      await heard(batch, procs);
      quiet.push(...batch);
    }
    const quietDrops = await heard(quiet, procs);
    const idle = percentiles(quiet.map((w, i) => quietDrops[i]! - w.committedAt));
    const idleBus = percentiles(quiet.map((w, i) => quietDrops[i]! - w.publishedAt));

    const latency = percentiles(writes.map((w, i) => drops[i]! - w.committedAt));
    const resynced = droppedByResync(writes, procs);
    const invalidating = percentiles(writes.map((w) => w.publishedAt - w.committedAt));
    const onTheBus = percentiles(writes.map((w, i) => drops[i]! - w.publishedAt));
    const reads = all.flatMap((r) => r.reads);
    const stale = all.flatMap((r) => r.reads.filter((read) => read.version < versionAsOf(writes, read.id, read.start, (_w, i) => drops[i])));
    const redisReads = all.reduce((n, r) => n + r.redisReads, 0);
    const databaseReads = all.reduce((n, r) => n + r.databaseReads, 0);
    process.stdout.write(
      `bus [${topology}]: ${writes.length} commits by ${N} processes, ${reads.length} reads; commit → last process dropped the key: ` +
        `p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} ` +
        `(commit → shared tiers invalidated and keys published: p50 ${ms(invalidating.p50)}, p99 ${ms(invalidating.p99)}; ` +
        `published → last drop: p50 ${ms(onTheBus.p50)}, p99 ${ms(onTheBus.p99)}); ${resynced} reached a process by a resync instead ` +
        `(its subscription broke and came back); stale reads after that: ${stale.length}; ` +
        `served by memory ${reads.length - redisReads}, Redis ${redisReads - databaseReads}, the database ${databaseReads}; ` +
        `event-loop delay in the processes p99 ${all.map((r) => r.loopDelayMs.p99.toFixed(1)).join(' / ')} ms; load average ${loadavg()[0]!.toFixed(1)}; ` +
        `tier or bus errors the chains reported (and skipped): ${reportedOf(all)}\n` +
        `bus [${topology}], reads stopped: ${quiet.length} commits; commit → last drop p50 ${ms(idle.p50)}, p99 ${ms(idle.p99)}, max ${ms(idle.max)}; ` +
        `published → last drop p50 ${ms(idleBus.p50)}, p99 ${ms(idleBus.p99)}\n`,
    );
    expect(stale).toEqual([]);
    expect(errorsOf(all)).toEqual([]);
    // Each commit costs each process at most one read below Redis: the rest comes from the caches.
    expect(databaseReads).toBeLessThanOrEqual(writes.length * N);
    expect(reads.length - redisReads).toBeGreaterThan(reads.length / 4);
  });
});

describe('4 processes on a private Redis: the bus cut, then Redis restarted', () => {
  let redis: ServiceHandle;
  let proxy: TcpProxy;
  let procs: Proc[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await TcpProxy.start({ port: redis.port });
    // The last process's bus (its publisher and its subscriber) goes through the proxy.
    const busUrls = Array.from({ length: N }, (_v, i) => (i === N - 1 ? `redis://127.0.0.1:${proxy.port}` : redis.url));
    procs = await startProcs(redis.url, busUrls);
    await reading(procs, true);
    await pause(300);
    await reports(procs);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.quit()));
    await proxy?.close();
    await redis?.stop();
  });

  it('with its bus connection killed, a process serves nothing older than maxStaleWhileDisconnected, and nothing stale once it resubscribed', async () => {
    const cut = procs[N - 1]!;
    const writers = procs.slice(0, N - 1);
    const t0 = now();
    proxy.setMode({ kind: 'reset' });
    const down = await cut.stateAfter('disconnected', t0);
    const writes: Write[] = [];
    // Writes for several MAX_STALE, the last ones just before the link heals: the cut process then
    // holds young copies of old versions, which only the resync on `connected` can drop.
    for (let round = 0; now() - down < 4 * MAX_STALE; round++) {
      const batch = await writeRound(writers, round);
      await heard(batch, writers);
      writes.push(...batch);
    }
    const healed = now();
    proxy.setMode({ kind: 'pass' });
    const up = await cut.stateAfter('connected', healed);
    await pause(2 * MAX_STALE);
    const all = await reports(procs);
    const reads = all[N - 1]!.reads;

    const whileDown = reads.filter((r) => r.start > down && r.start < up);
    const slack = Math.max(...whileDown.map((r) => r.end - r.start));
    const age = ages(whileDown, writes);
    const tooOld = whileDown.filter((_r, i) => age[i]! > MAX_STALE + slack);
    const after = staleAfter(reads, writes, up);
    process.stdout.write(
      `bus cut (TCP proxy reset, ${Math.round(up - down)} ms down): ${writes.length} commits, ${whileDown.length} reads while down, ` +
        `${age.filter((a) => a > 0).length} of them stale, oldest ${ms(Math.max(0, ...age))} (bound ${MAX_STALE} ms + longest read ${ms(slack)}), ` +
        `older than the bound: ${tooOld.length}; resubscribed ${ms(up - healed)} after the link healed, ` +
        `stale reads after: ${after.length} of ${reads.filter((r) => r.start > up).length}\n`,
    );
    expect(whileDown.length).toBeGreaterThan(0);
    expect(tooOld).toEqual([]);
    expect(after).toEqual([]);
    expect(reads.filter((r) => r.start > up).length).toBeGreaterThan(0);
  });

  it('with Redis restarted, no process serves anything older than maxStaleWhileDisconnected, nor anything stale once it resubscribed', async () => {
    const t0 = now();
    redis.kill('SIGKILL');
    const downs = await Promise.all(procs.map((p) => p.stateAfter('disconnected', t0)));
    const down = Math.max(...downs);
    // The subscriber's invalidations of Redis fail now (the chain replays them later); the
    // processes' first tiers are bounded by MAX_STALE and fall through to the database.
    const writes: Write[] = [];
    for (let round = 0; now() - down < 4 * MAX_STALE; round++) writes.push(...(await writeRound(procs, round)));
    const restarted = now();
    await redis.restart();
    const ups = await Promise.all(procs.map((p) => p.stateAfter('connected', restarted)));
    await pause(2 * MAX_STALE);
    const all = await reports(procs);

    let stale = 0;
    let tooOld = 0;
    let oldest = 0;
    let staleAfterUp = 0;
    let readsAfterUp = 0;
    all.forEach((report, i) => {
      const whileDown = report.reads.filter((r) => r.start > downs[i]! && r.start < ups[i]!);
      const slack = Math.max(0, ...whileDown.map((r) => r.end - r.start));
      const age = ages(whileDown, writes);
      stale += age.filter((a) => a > 0).length;
      tooOld += age.filter((a) => a > MAX_STALE + slack).length;
      oldest = Math.max(oldest, ...age);
      staleAfterUp += staleAfter(report.reads, writes, ups[i]!).length;
      readsAfterUp += report.reads.filter((r) => r.start > ups[i]!).length;
    });
    const reads = all.reduce((n, r) => n + r.reads.length, 0);
    process.stdout.write(
      `Redis restarted (${Math.round(restarted - down)} ms down): ${writes.length} commits, ${reads} reads, ${stale} stale while down, ` +
        `oldest ${ms(oldest)} (bound ${MAX_STALE} ms + the process's longest read), older than the bound: ${tooOld}; ` +
        `every bus resubscribed within ${ms(Math.max(...ups) - restarted)} of the restart, stale reads after: ${staleAfterUp} of ${readsAfterUp}\n`,
    );
    expect(tooOld).toBe(0);
    expect(staleAfterUp).toBe(0);
    expect(readsAfterUp).toBeGreaterThan(0);
  });
});
