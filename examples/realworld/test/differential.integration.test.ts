import { eventually } from '../../../test-support/eventually';
import { serviceUrl } from '../../../test-support/test-environment';
import { ApiClient, type ApiResponse } from './support/api-client';
import { AppProcess } from './support/app-processes';
import { busSubscribers, dropRedisPrefix, freshDatabase, freshPrefix } from './support/databases';
import { SCENARIO, type Step, type Vars } from './support/scenario';

jest.setTimeout(60_000);

/**
 * Statements of the whole sequence without the cache (asserted exactly: it fails when the app or the
 * scenario changes, so that the targets below are re-read), and the targets with the cache:
 * every warm by-key read (the current user, a profile, an article by slug, signed in and not) costs
 * 0 statements, and the whole sequence at most 50 % of the statements it issues without. Measured
 * 2026-12-04: 340 without, 163 (48 %) with, in both cached runs (README "Statements per request").
 */
const EXPECTED_PLAIN_TOTAL = 340;
/** Statements of each warm by-key read with the cache (both processes), by kind of request. */
const EXPECTED_WARM_CACHED: Record<string, number> = {
  'GET /user': 0,
  'GET /profiles/:username (anonymous)': 0,
  'GET /profiles/:username': 0,
  'GET /articles/:slug (anonymous)': 0,
  'GET /articles/:slug': 0,
};
/** Most statements with the cache, as a share of those without. */
const MAX_CACHED_SHARE = 0.5;

/**
 * Timestamps are made at write time in each run: each distinct one becomes `<t1>`, `<t2>`… in
 * order of first appearance, so the runs must agree on which timestamps are equal and on their
 * order of appearance (a stale `updatedAt` shows). Writes of one run are requests apart, with the
 * other runs' requests in between, so two of them never fall in one millisecond.
 */
class TimestampNames {
  readonly #names = new Map<string, string>();

  normalise(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.normalise(v));
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => {
        if ((key === 'createdAt' || key === 'updatedAt') && typeof v === 'string' && !Number.isNaN(Date.parse(v))) {
          if (!this.#names.has(v)) this.#names.set(v, `<t${this.#names.size + 1}>`);
          return [key, this.#names.get(v)];
        }
        return [key, this.normalise(v)];
      }),
    );
  }
}

/** Statements of each kind of warm by-key read in a run: one number per kind, or the list when they differ. */
function perKindOf(variant: Variant): Record<string, number | number[]> {
  const warm = new Map<string, number[]>();
  SCENARIO.forEach((step, i) => step.warm && warm.set(step.kind, [...(warm.get(step.kind) ?? []), variant.statements[i]!]));
  return Object.fromEntries([...warm].map(([kind, counts]) => [kind, new Set(counts).size === 1 ? counts[0]! : counts]));
}

/** One way of running the app: its processes (requests alternate between them), its database, its Redis prefix. */
class Variant {
  readonly vars: Vars = { tokens: {}, comments: {} };
  readonly statements: number[] = [];
  readonly #names = new TimestampNames();
  #processes: AppProcess[] = [];
  #clients: ApiClient[] = [];

  constructor(
    readonly name: 'plain' | 'cached' | 'single',
    readonly label: string,
    readonly processCount: number,
    readonly cache: boolean,
    readonly prefix = freshPrefix(name),
  ) {}

  async start(): Promise<void> {
    const pgUrl = await freshDatabase(`stockpyle_realworld_diff_${this.name}`);
    const env = { STOCKPYLE_PG_URL: pgUrl, STOCKPYLE_REDIS_URL: serviceUrl('redis'), CACHE: this.cache ? 'on' : 'off', CACHE_PREFIX: this.prefix };
    const started = await Promise.allSettled(Array.from({ length: this.processCount }, (_, i) => AppProcess.start(`${this.name}-${i}`, env)));
    this.#processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    this.#clients = this.#processes.map((p) => new ApiClient(p.url));
  }

  /** Step `index` on process `index % processCount`; then every process's statements since the last step. */
  async run(step: Step, index: number): Promise<ApiResponse> {
    const client = this.#clients[index % this.#clients.length]!;
    const path = typeof step.path === 'function' ? step.path(this.vars) : step.path;
    const token = step.as === undefined ? undefined : this.vars.tokens[step.as];
    const response = await client.call(step.method, path, { token, body: step.body });
    if (response.status < 300) step.keep?.(response.body, this.vars);
    const counts = await Promise.all(this.#processes.map((p) => p.queries()));
    this.statements[index] = counts.reduce((sum, byKind) => sum + Object.values(byKind).reduce((a, b) => a + b, 0), 0);
    return { status: response.status, body: this.#names.normalise(response.body) };
  }

  total(): number {
    return this.statements.reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#processes.map((p) => p.stop()));
    if (this.cache) await dropRedisPrefix(this.prefix);
  }
}

/**
 * The same request sequence, every write included, against the app without the cache and with it
 * (process memory + Redis + the subscriber, two processes on one bus, sharing Redis), each on a
 * fresh database of its own; the answers must be identical, step by step and field by field. A
 * third run with the cache in one process separates what the bus does. Prints the SQL statements
 * per kind of request.
 */
describe('examples/realworld: the same requests without and with the cache', () => {
  const plain = new Variant('plain', 'no cache, 2 processes', 2, false);
  const cached = new Variant('cached', 'cache, 2 processes + bus', 2, true);
  const single = new Variant('single', 'cache, 1 process', 1, true);
  const variants = [plain, cached, single];

  beforeAll(async () => {
    const started = await Promise.allSettled(variants.map((v) => v.start()));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(variants.map((v) => v.stop()));
  });

  it('the processes with the cache listen on their bus: two on one channel, one alone on another', async () => {
    await eventually(async () => {
      expect({ cached: await busSubscribers(cached.prefix), single: await busSubscribers(single.prefix) }).toEqual({ cached: 2, single: 1 });
    });
    expect(await busSubscribers(plain.prefix)).toBe(0);
  });

  it.each(SCENARIO.map((step, index) => [index + 1, step.as ?? 'anonymous', step.kind, step, index] as const))(
    'step %i (%s, %s): the same answer with the cache',
    async (_n, _as, _kind, step, index) => {
      const without = await plain.run(step, index);
      const withCache = await cached.run(step, index);
      const oneProcess = await single.run(step, index);
      expect(withCache).toEqual(without);
      expect(oneProcess).toEqual(without);
      expect(without.status).toBeLessThan(500);
    },
  );

  it('prints the statements per kind of request: warm by-key reads cost none with the cache, the whole sequence at most half', () => {
    const rows = new Map<string, { requests: number; counts: number[] }>();
    SCENARIO.forEach((step, i) => {
      const kind = step.warm ? `${step.kind}, warm` : step.kind;
      const row = rows.get(kind) ?? { requests: 0, counts: variants.map(() => 0) };
      row.requests += 1;
      variants.forEach((v, j) => (row.counts[j]! += v.statements[i]!));
      rows.set(kind, row);
    });
    const header = `| request | n | ${variants.map((v) => v.label).join(' | ')} |`;
    const lines = [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([kind, row]) => `| ${kind} | ${row.requests} | ${row.counts.join(' | ')} |`);
    const totals = variants.map((v) => v.total());
    const share = (t: number) => `${t} (${((100 * t) / totals[0]!).toFixed(0)} %)`;
    console.log([header, `|---|---|${variants.map(() => '---').join('|')}|`, ...lines, `| **all ${SCENARIO.length} requests** | | ${totals.map(share).join(' | ')} |`].join('\n'));

    expect(plain.total()).toBe(EXPECTED_PLAIN_TOTAL);
    expect(perKindOf(cached)).toEqual(EXPECTED_WARM_CACHED);
    expect(perKindOf(single)).toEqual(EXPECTED_WARM_CACHED);
    expect({ cached: cached.total() / plain.total() <= MAX_CACHED_SHARE, single: single.total() / plain.total() <= MAX_CACHED_SHARE }).toEqual({ cached: true, single: true });
  });
});
