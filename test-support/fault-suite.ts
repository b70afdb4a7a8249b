import 'reflect-metadata';
import { ChainedStore, type CacheStoreOptions, type Store } from '@stockpyle/core';
import type { ServiceHandle } from './services';
import { TcpProxy } from './tcp-proxy';
import {
  Doc,
  VersionedDatabase,
  describeResult,
  holdNextRead,
  runFaultScenario,
  slugOf,
  type FaultScenario,
  type ScenarioResult,
} from './fault-load';

// The fault suite every remote cache tier runs: a private server (never the shared one) is killed,
// frozen and restarted, or reached through a loopback proxy that delays, drops, resets or
// half-opens connections, under a bounded load of mixed operations. STOCKPYLE_FAULT_OPS sets the
// load per scenario (default 2,000); a larger number also holds each fault proportionally longer.

const OPS = Number(process.env.STOCKPYLE_FAULT_OPS ?? 2000);
/** A longer run (more ops) also holds each fault longer, at the same pace. */
const SCALE = Math.max(1, OPS / 2000);
/** The store's own deadline per round trip, and the chain's per tier call (a backstop). */
const STORE_TIMEOUT = 100;
const TIER_TIMEOUT = 150;
const RESET_AFTER = 300;
/** Slack for a loaded 2-core machine; the bound itself is the tier deadline. */
const MARGIN = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One remote cache tier, as the fault suite needs it. */
export interface FaultSuiteTier {
  /** How the tier is named in titles and figures: 'memcached', 'Redis'. */
  readonly label: string;
  /** Starts a private server. */
  start(): Promise<ServiceHandle>;
  /** The store's address for a proxy listening on `host:port`. */
  viaProxy(address: string): string;
  /** Opens the tier's store on `url` with these options plus the store's own deadline. */
  open(url: string, options: CacheStoreOptions & { timeout: number }): Store;
  /** Longer than a 1-second tombstone lives on this server (memcached rounds expiries up). */
  tombstoneGoneAfterMs: number;
}

/** Registers the fault suite for one remote cache tier. */
export function describeFaultSuite(tier: FaultSuiteTier): void {

  describe(`${tier.label} under faults (${OPS} mixed ops per fault, 32 in flight)`, () => {
    let server: ServiceHandle;
    let proxy: TcpProxy;
    const results: ScenarioResult[] = [];

    beforeAll(async () => {
      server = await tier.start();
      proxy = await TcpProxy.start({ port: server.port });
    });

    afterAll(async () => {
      await proxy?.close();
      await server?.stop();
      if (results.length > 0) console.log(results.map((r) => describeResult(tier.label, r)).join('\n'));
    });

    const direct: FaultScenario[] = [
      { name: `SIGKILL, restarted empty ${1.5 * SCALE} s later`, faultMs: 1500 * SCALE, inject: () => server.kill('SIGKILL'), heal: () => server.restart() },
      { name: `SIGSTOP for ${2.5 * SCALE} s (longer than a tombstone lives), then SIGCONT`, faultMs: 2500 * SCALE, inject: () => server.pause(), heal: () => server.resume() },
      { name: 'restarted empty under load', faultMs: 0, inject: () => server.restart(), heal: () => undefined },
    ];
    const viaProxy: FaultScenario[] = [
      { name: `proxy adds 250 ms latency each way for ${1.5 * SCALE} s`, faultMs: 1500 * SCALE, inject: () => proxy.setMode({ kind: 'latency', ms: 250 }), heal: () => proxy.setMode({ kind: 'pass' }) },
      { name: `proxy drops everything for ${1.5 * SCALE} s`, faultMs: 1500 * SCALE, inject: () => proxy.setMode({ kind: 'drop' }), heal: () => proxy.setMode({ kind: 'pass' }) },
      { name: `proxy resets every connection for ${1.5 * SCALE} s`, faultMs: 1500 * SCALE, inject: () => proxy.setMode({ kind: 'reset' }), heal: () => proxy.setMode({ kind: 'pass' }) },
      {
        name: `proxy half-open for ${1.5 * SCALE} s (requests reach the server, replies are lost)`,
        faultMs: 1500 * SCALE,
        inject: () => proxy.setMode({ kind: 'half-open', forward: 'to-server' }),
        heal: () => proxy.setMode({ kind: 'pass' }),
      },
    ];

    let run = 0;
    const scenario = async (address: () => string, fault: FaultScenario): Promise<void> => {
      const prefix = `faults${++run}-${Date.now().toString(36)}`;
      const open = (): Store => tier.open(address(), { timeout: STORE_TIMEOUT, tombstoneLifetime: 1, prefix, name: tier.label });
      const result = await runFaultScenario({ tier: open(), otherTier: open, tierTimeout: TIER_TIMEOUT, resetAfter: RESET_AFTER, load: { ops: OPS } }, fault);
      results.push(result);
      expect(result.errors).toEqual([]);
      expect(result.violations).toEqual([]);
      expect(result.staleInTier).toBe(0);
      expect(result.staleElsewhere).toBe(0);
      expect(result.tierErrors).toBeGreaterThan(0);
      // Added latency: the fault's p99 over the slower of the two phases without it (the machine's own
      // noise), within the tier deadline plus a margin.
      expect(result.fault.p99).toBeLessThanOrEqual(Math.max(result.baseline.p99, result.recovery.p99) + TIER_TIMEOUT + MARGIN);
    };

    it.each(direct.map((f) => [f.name, f] as const))('%s: no caller errors, bounded latency, recovery, nothing stale', async (_name, fault) => {
      await scenario(() => server.url, fault);
    }, 60_000 * SCALE);

    it.each(viaProxy.map((f) => [f.name, f] as const))('%s: no caller errors, bounded latency, recovery, nothing stale', async (_name, fault) => {
      await scenario(() => tier.viaProxy(proxy.address), fault);
    }, 60_000 * SCALE);
  });

  describe(`ChainedStore over a private ${tier.label}, in directed faults`, () => {
    let server: ServiceHandle;

    beforeAll(async () => {
      server = await tier.start();
    });

    afterAll(async () => {
      await server?.stop();
    });

    it(`the database's own errors reach the caller unchanged, whether ${tier.label} is up, frozen or killed`, async () => {
      const db = new VersionedDatabase();
      const chain = new ChainedStore([tier.open(server.url, { timeout: STORE_TIMEOUT, name: tier.label }), db], { tierTimeout: TIER_TIMEOUT });
      chain.on('error', () => undefined);
      const failure = new Error('the database is down');
      const doc = new Doc(7, slugOf(7));
      const expectDatabaseError = async (): Promise<void> => {
        await expect(chain.get(Doc, { id: 7 })).rejects.toBe(failure);
        await expect(chain.put(doc)).rejects.toBe(failure);
        await expect(chain.delete(doc)).rejects.toBe(failure);
      };
      try {
        db.fail = failure;
        await expectDatabaseError();
        server.pause();
        try {
          await expectDatabaseError();
        } finally {
          server.resume();
        }
        server.kill('SIGKILL');
        await expectDatabaseError();
        await server.restart();
      } finally {
        await chain.release();
      }
    }, 20_000);

    it('a fill sent to the frozen server and applied after SIGCONT never brings back an object deleted before the freeze', async () => {
      const prefix = `latefill-${Date.now().toString(36)}`;
      const open = (): Store => tier.open(server.url, { timeout: STORE_TIMEOUT, tombstoneLifetime: 1, prefix, name: tier.label });
      const store = open();
      const other = open(); // another process on the same server
      const db = new VersionedDatabase();
      const chain = new ChainedStore([store, db], { tierTimeout: TIER_TIMEOUT, breaker: { failureThreshold: 3, resetAfter: RESET_AFTER } });
      chain.on('error', () => undefined);
      try {
        const doc = new Doc(1, slugOf(1));
        await db.put(doc); // in the database only: the tier misses it
        const held = holdNextRead(db);
        const reading = chain.get(Doc, { id: 1 }); // misses the tier, reads the database, waits
        await held.read; // the database answered with the object; its answer is held back
        await chain.delete(doc); // the tombstone reaches the tier
        server.pause();
        held.release(); // the reader's fill is sent to the frozen server and times out
        expect((await reading)?.version).toBe(doc.version); // it began before the delete: fine
        await sleep(tier.tombstoneGoneAfterMs); // longer than the tombstone lives on the server
        server.resume();
        await sleep(300);
        const seenElsewhere = await other.get(Doc, { id: 1 });
        const seenHere = await chain.get(Doc, { id: 1 });
        console.log(`${tier.label} late fill: another process saw ${seenElsewhere ? `version ${seenElsewhere.version}` : 'nothing'}, the chain saw ${seenHere ? `version ${seenHere.version}` : 'nothing'}`);
        expect(seenHere).toBeUndefined();
        expect(seenElsewhere).toBeUndefined();
      } finally {
        await Promise.all([chain.release(), other.release()]);
      }
    }, 20_000);
  });
}
