import fc from 'fast-check';
import { FaultPlan, type FaultMode } from './gates';
import type { Scenario, ScenarioParams } from './runner';
import { launch, prefill, readSpec, reads, seed, type Prefill, type ReadSpec } from './scenarios';

type FaultedWrite = 'put' | 'put-key' | 'delete' | 'external-put';

interface WriteFailureParams extends ScenarioParams {
  readonly prefill: Prefill;
  readonly write: FaultedWrite;
  readonly k: number;
  readonly mode: FaultMode;
  readonly reads: readonly ReadSpec[];
  /** Whether a crashed server comes back while the late reads run (else only when settling). */
  readonly restartEarly: boolean;
}

/**
 * The most raw operations a write below makes: a put over two memcached fakes is 9 (two
 * reservations, the database, then per tier `gets`, `cas` and the pointers).
 */
export const MAX_K = 9;

/** Per k: schedules run, and schedules in which the k-th operation existed and failed. */
const coverage = Array.from({ length: MAX_K + 1 }, () => ({ runs: 0, fired: 0 }));

/** For each k from 1: in how many schedules the k-th operation of the write failed. */
export function faultsFired(): number[] {
  return coverage.slice(1).map((c) => c.fired);
}

/**
 * 6. A write whose k-th raw operation (counted over both shared tiers and the database) fails: its
 * request is lost, its reply is lost, or its server crashes and loses everything; with reads
 * racing it and after it. Checked once the chain has recovered (servers back, missed
 * invalidations replayed).
 */
export const writeFailure: Scenario<WriteFailureParams> = {
  name: 'write failure',
  params: (kit) =>
    fc.record({
      kinds: kit.kinds(2),
      prefill,
      write: fc.constantFrom<FaultedWrite>('put', 'put-key', 'delete', 'external-put'),
      k: fc.integer({ min: 1, max: MAX_K }),
      mode: fc.constantFrom<FaultMode>('request', 'reply', 'crash'),
      reads: fc.array(readSpec, { maxLength: 3 }),
      restartEarly: fc.boolean(),
    }),
  async setup(world, p, naive) {
    const proc = world.addProc({ naive });
    await seed(world, proc, p.prefill, world.item(1, 1));
    const plan = new FaultPlan(p.k, p.mode);
    world.gates.plan = plan;
    const next = world.item(1, p.write === 'put-key' ? 2 : 1);
    const write = async (): Promise<void> => {
      coverage[p.k]!.runs++;
      try {
        if (p.write === 'delete') await world.remove(proc, [next], true);
        else if (p.write === 'external-put') await world.external(proc, [next], 'put', true);
        else await world.write(proc, [next], true);
      } finally {
        if (plan.firedAt !== undefined) coverage[p.k]!.fired++;
      }
    };
    const restart = async (): Promise<void> => {
      await world.gates.exclusive('restart', async () => {
        for (const server of world.servers) if (!server.up) await server.restart();
      });
    };
    const [now, later] = reads(world, proc, p.reads, 1, 1);
    return () => launch(world, [write], now, p.restartEarly ? [restart, ...later] : later);
  },
  summary: () =>
    'fault fired/schedules per k: ' +
    coverage
      .slice(1)
      .map((c, i) => `k=${i + 1}: ${c.fired}/${c.runs}`)
      .join(', '),
};
