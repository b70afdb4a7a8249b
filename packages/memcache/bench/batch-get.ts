/**
 * A batch of 100 gets through MemcacheStore against raw memjs (`Promise.all` of 100 `client.get`),
 * on the same memcached and the same payloads, in one run. Prints the median time per batch of
 * several runs and the ratios.
 *
 *   STOCKPYLE_MEMCACHE_SERVERS=127.0.0.1:11211 npx tsx --tsconfig tsconfig.json packages/memcache/bench/batch-get.ts
 *
 * Without the variable it starts a private memcached through test-support/services.ts.
 */
import 'reflect-metadata';
import { getMetadata, KeyBuilder, Stockpyle } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { Client } from 'memjs';
import { startMemcached } from '../../../test-support/services';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'bench.Foo' })
class Foo {
  constructor(
    public id: number,
    public zap: number,
    public bar: string,
    public payload: string,
  ) {}
}

/** Exposes the raw multi-get, to tell protocol time from decoding time. */
class RawReadingStore extends MemcacheStore {
  read(keys: readonly string[]): Promise<readonly (string | undefined)[]> {
    return this.readRaw(keys, []);
  }
}

const BATCH = 100;
const RUNS = Number(process.env.RUNS ?? 9);
const ITERATIONS = Number(process.env.ITERATIONS ?? 300);

async function timePerBatch(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / ITERATIONS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const service = process.env.STOCKPYLE_MEMCACHE_SERVERS ? undefined : await startMemcached();
  const servers = process.env.STOCKPYLE_MEMCACHE_SERVERS ?? service!.url;
  const client = Client.create(servers, { retries: 0, logger: { log: () => undefined } });
  const store = new RawReadingStore({ servers: servers.split(',') });
  try {
    const base = Math.floor(Math.random() * 1e9);
    const foos = Array.from({ length: BATCH }, (_, i) => new Foo(base + i, i, `bar-${i}`, 'x'.repeat(200)));
    await store.batchPut(foos);
    const meta = getMetadata(Foo);
    const keys = foos.map((f) => new KeyBuilder().build(meta, meta.keys[0]!, f)!);
    const queries = foos.map((f) => ({ id: f.id }));
    const contenders: [string, () => Promise<unknown>][] = [
      ['memjs Promise.all(100 × get)', () => Promise.all(keys.map((k) => client.get(k)))],
      ['MemcacheStore raw multi-get (GETKQ×100 + NOOP)', () => store.read(keys)],
      ['MemcacheStore.batchGet(100) incl. decoding', () => store.batchGet(Foo, queries)],
      ['memjs get (1 key)', () => client.get(keys[0]!)],
      ['MemcacheStore.get (1 key)', () => store.get(Foo, queries[0]!)],
    ];
    const check = await store.batchGet(Foo, queries);
    if (check.some((f, i) => f?.id !== foos[i]!.id)) throw new Error('batchGet returned wrong objects');
    for (const [, fn] of contenders) await timePerBatch(fn); // warm-up
    const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
    for (let run = 0; run < RUNS; run++) {
      // interleaved, so drift in the machine's load hits every contender alike
      for (const [name, fn] of contenders) samples.get(name)!.push(await timePerBatch(fn));
    }
    const raw = median(samples.get(contenders[0]![0])!);
    const single = median(samples.get(contenders[3]![0])!);
    console.log(`median of ${RUNS} runs × ${ITERATIONS} calls, ${BATCH} keys of ~330 bytes, memcached ${servers}`);
    for (const [name] of contenders) {
      const ms = median(samples.get(name)!);
      const against = name.includes('1 key') ? single : raw;
      console.log(`${name.padEnd(50)} ${ms.toFixed(3).padStart(8)} ms   ×${(ms / against).toFixed(2)} of memjs`);
    }
  } finally {
    client.close();
    await store.release();
    await service?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
