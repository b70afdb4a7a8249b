// `npm run bench [-- --quick] [-- --only 1,3] [-- --runs N]`: starts its own memcached, Redis and
// PostgreSQL on loopback, runs the cases, prints one table of medians with the ratios below it,
// and (full runs of every case) writes RESULTS.md. See README.md.
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchCase, BenchContext, ServiceName } from './case';
import { busWrite } from './cases/bus-write';
import { coalescing } from './cases/coalescing';
import { coldBatch } from './cases/cold-batch';
import { entityHit } from './cases/entity-hit';
import { firstTierHit } from './cases/first-tier';
import { memcachedHit } from './cases/memcached-hit';
import { largeBatch } from './cases/large-batch';
import { memoryBound } from './cases/memory';
import { redisBatch } from './cases/redis-batch';
import { stampede } from './cases/stampede';
import { underWrites } from './cases/under-writes';
import { closeDatabaseStack } from './database-stack';
import { describeMachine, renderReport, type CaseReport } from './report';
import { startServices, type RunningServices } from './services';

const CASES: readonly BenchCase[] = [firstTierHit, memcachedHit, redisBatch, coldBatch, coalescing, stampede, memoryBound, entityHit, largeBatch, underWrites, busWrite];

interface Args {
  quick: boolean;
  only: number[] | undefined;
  runs: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: undefined, runs: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const value = (): string => inline ?? argv[++i] ?? '';
    if (flag === '--quick') args.quick = true;
    else if (flag === '--only') args.only = value().split(',').map(Number);
    else if (flag === '--runs') args.runs = Number(value());
    else throw new Error(`unknown argument ${arg}; use --quick, --only 1,3, --runs N`);
  }
  if (args.runs !== undefined && !(Number.isInteger(args.runs) && args.runs > 0)) throw new Error('--runs takes a positive integer');
  return args;
}

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => args.only === undefined || args.only.includes(c.id));
  const runs = args.runs ?? (args.quick ? 3 : 7);
  const machine = describeMachine();
  const needs = [...new Set(cases.flatMap((c) => c.needs))] as ServiceName[];
  let services: RunningServices | undefined;
  const stopAll = async (): Promise<void> => {
    await closeDatabaseStack().catch((error: unknown) => log(`closing the database stack: ${String(error)}`));
    await services?.stop();
    services = undefined;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping services`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  const reports: CaseReport[] = [];
  try {
    if (needs.length > 0) {
      log(`starting ${needs.join(', ')} on 127.0.0.1`);
      services = await startServices(needs);
    }
    const ctx: BenchContext = { quick: args.quick, runs, urls: services?.urls ?? {}, log };
    for (const bench of cases) {
      const started = Date.now();
      log(`case ${bench.id}: ${bench.title}`);
      try {
        reports.push({ bench, outcome: await bench.run(ctx) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`case ${bench.id} failed: ${error instanceof Error ? error.stack : message}`);
        reports.push({ bench, error: message.split('\n')[0] });
      }
      log(`case ${bench.id} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await stopAll();
  }
  const mode = args.quick ? `--quick (${runs} runs per row)` : `full (${runs} runs per row)`;
  const report = renderReport(reports, machine, mode, new Date());
  process.stdout.write(`\n${report}\n`);
  if (!args.quick && args.only === undefined && args.runs === undefined) {
    const dir = join(__dirname, '..');
    writeFileSync(join(dir, 'RESULTS.md'), `# Benchmark results\n\nThe latest full \`npm run bench\`; see README.md for what each case measures.\n\n${report}\n`);
    updateReadme(join(dir, 'README.md'), report);
    log(`wrote RESULTS.md and the results in README.md`);
  }
  return reports.some((r) => r.error !== undefined) ? 1 : 0;
}

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

/** Replaces what README.md holds between its results markers with the latest full report. */
function updateReadme(file: string, report: string): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return log(`${file} has no results markers; left as it is`);
  writeFileSync(file, `${text.slice(0, start + START.length)}\n${report}\n${text.slice(end)}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
