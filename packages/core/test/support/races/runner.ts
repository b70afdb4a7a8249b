import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { FakeClock, drive } from './gates';
import { World, type Kind, type Naive, type TierKit } from './world';

/** What every scenario's parameters carry: the backends of its shared tiers. */
export interface ScenarioParams {
  readonly kinds: readonly Kind[];
}

/**
 * One race scenario. `setup` runs before the scheduler is installed (seeding the database and the
 * tiers) and returns the concurrent part, whose every server effect the scheduler then releases.
 */
export interface Scenario<P extends ScenarioParams> {
  readonly name: string;
  params(kit: TierKit): fc.Arbitrary<P>;
  setup(world: World, params: P, naive: Naive | undefined): Promise<() => Promise<unknown>[]>;
  /** More figures to print after the runs (coverage). */
  summary?(): string;
  /** Also check, after settling, that a fill of each object makes every tier answer it (`World.refill`). */
  readonly liveness?: boolean;
  /** Checks of the scenario's own objects once the world has settled (they add to `world.problems`). */
  check?(world: World): Promise<void>;
  /** Closes what `setup` opened beside the world's processes (run before `world.close()`). */
  close?(world: World): Promise<void>;
}

export interface RaceReport {
  readonly schedules: number;
  /** 1-based index of the first schedule with a violation. */
  readonly failedAt: number | undefined;
  readonly message: string | undefined;
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly totalMs: number;
}

const clock = new FakeClock();

/** Runs `runs` schedules of a scenario; with `naive`, stops at the first violation. */
export async function runRaces<P extends ScenarioParams>(
  scenario: Scenario<P>,
  kit: TierKit,
  runs: number,
  naive?: Naive,
): Promise<RaceReport> {
  const restore = clock.install();
  const times: number[] = [];
  let index = 0;
  let failedAt: number | undefined;
  let problems: readonly string[] = [];
  const started = performance.now();
  try {
    const details = await fc.check(
      fc.asyncProperty(fc.scheduler(), scenario.params(kit), async (s, params) => {
        const t0 = performance.now();
        index++;
        clock.reset();
        const world = new World(clock, kit);
        try {
          await world.open(params.kinds);
          const launch = await scenario.setup(world, params, naive);
          world.gates.scheduler = s;
          await drive(s, Promise.allSettled(launch()));
          await world.settle();
          await scenario.check?.(world);
          if (scenario.liveness === true && naive === undefined) await world.refill();
        } finally {
          await scenario.close?.(world);
          await world.close();
          times.push(performance.now() - t0);
        }
        if (world.problems.length > 0) {
          failedAt ??= index;
          problems = world.problems;
          throw new Error(world.problems.join('\n'));
        }
      }),
      {
        numRuns: runs,
        endOnFailure: naive !== undefined || process.env.STOCKPYLE_RACE_SHRINK === '0',
        ...(process.env.STOCKPYLE_RACE_SEED === undefined ? {} : { seed: Number(process.env.STOCKPYLE_RACE_SEED) }),
      },
    );
    const sorted = [...times].sort((a, b) => a - b);
    return {
      schedules: failedAt === undefined ? index : failedAt,
      failedAt,
      message: details.failed ? `${fc.defaultReportMessage(details)}\nLast failure:\n${problems.join('\n')}` : undefined,
      meanMs: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
      p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0,
      totalMs: performance.now() - started,
    };
  } finally {
    restore();
  }
}

/** Schedules per scenario: STOCKPYLE_RACE_RUNS for the fakes, STOCKPYLE_RACE_SERVER_RUNS on real servers. */
export function raceRuns(variable: 'STOCKPYLE_RACE_RUNS' | 'STOCKPYLE_RACE_SERVER_RUNS', fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${variable} must be a positive integer, got ${raw}`);
  return n;
}

export interface DescribeRacesOptions {
  readonly runs: number;
  /** Naive designs the same scenario must catch, each run until its first violation. */
  readonly naive?: readonly Naive[];
  readonly timeout?: number;
}

/**
 * The jest tests of one scenario over one kit: the protocol survives `runs` schedules, each naive
 * design fails within them; one line of figures is printed for the README.
 */
export function describeRaces<P extends ScenarioParams>(scenario: Scenario<P>, kit: TierKit, options: DescribeRacesOptions): void {
  const figures: string[] = [];
  const timeout = options.timeout ?? 600_000;
  describe(`${scenario.name} [${kit.name}]`, () => {
    it(`leaves no tier older than the database in ${options.runs} schedules`, async () => {
      const report = await runRaces(scenario, kit, options.runs);
      figures.unshift(
        `${report.schedules} schedules, ${report.failedAt === undefined ? 0 : 1} violations, ` +
          `${report.meanMs.toFixed(2)} ms/schedule (p99 ${report.p99Ms.toFixed(1)} ms), ${(report.totalMs / 1000).toFixed(1)} s`,
      );
      if (report.message !== undefined) throw new Error(report.message);
    }, timeout);

    for (const how of options.naive ?? []) {
      it(`catches the naive design (${describeNaive(how)})`, async () => {
        // It stops at its first violation; the margin keeps a rare catch from making CI flaky.
        const report = await runRaces(scenario, kit, Math.max(4 * options.runs, 20_000), how);
        figures.push(`naive (${describeNaive(how)}) fails at schedule ${report.failedAt ?? `none of ${report.schedules}`}`);
        expect(report.failedAt).toBeDefined();
      }, timeout);
    }

    afterAll(() => {
      const more = scenario.summary?.();
      process.stdout.write(`races: ${scenario.name} [${kit.name}] ${figures.join('; ')}${more === undefined ? '' : `; ${more}`}\n`);
    });
  });
}

function describeNaive(how: Naive): string {
  switch (how) {
    case 'set':
      return 'fills and commits are plain sets';
    case 'no-drop':
      return 'late fills are not dropped';
    case 'fill-reservation':
      return 'a fill replaces a reservation';
    case 'fill-any-tomb':
      return 'a fill replaces any settled tombstone, not the one its read saw';
    case 'keep-misses':
      return 'a remembered miss is not cleared by an insert';
    case 'no-resync':
      return 'the bus without resync: no clear on connected';
    case 'bus-delete':
      return 'a received key is removed, not tombstoned';
    case 'clear-fill-gen':
      return 'a fill writes under the class generation current when it lands';
    case 'clear-top-first':
      return 'a clear goes from the fastest tier down';
  }
}
