import 'reflect-metadata';
import { Stockpyle } from '@stockpyle/core';
import { RedisStore } from '@stockpyle/redis';
import { Redis, Cluster } from 'ioredis';

@Stockpyle({ keys: ['id'], name: 'bench.Item' })
class Item { constructor(public id: number, public label: string, public price: number, public tags: string[]) {} }
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
async function time(fn: () => Promise<unknown>, runs = 21, inner = 50) {
  for (let i = 0; i < 50; i++) await fn();
  const xs: number[] = [];
  for (let r = 0; r < runs; r++) { const t = performance.now(); for (let i = 0; i < inner; i++) await fn(); xs.push((performance.now() - t) / inner); }
  return median(xs);
}
async function bench(name: string, client: Redis | Cluster) {
  await (client as Redis).connect();
  const store = new RedisStore({ client, prefix: 'bench' });
  const objs = Array.from({ length: 100 }, (_, i) => new Item(i, `item ${i}`, i * 1.5, ['a', 'b']));
  await store.batchPut(objs);
  const queries = objs.map((o) => ({ id: o.id }));
  const keys = objs.map((o) => `stockpyle:1:bench:bench.Item:id=n${o.id}`);
  const env = (await client.get(keys[0]!))!;
  const tagged = objs.map((o) => `rawbench:{x}${o.id}`);
  for (const k of tagged) await client.set(k, env);
  const ours = await time(() => store.batchGet(Item, queries));
  const rawRead = await time(() => (store as any).readRaw(keys));
  const out = [`${name}: batchGet(100) ${ours.toFixed(2)} ms`, `readRaw(100) ${rawRead.toFixed(2)} ms`];
  if (name === 'standalone') out.push(`raw MGET(100) ${(await time(() => (client as Redis).mget(keys))).toFixed(2)} ms`);
  else {
    out.push(`raw MGET(100, one slot) ${(await time(() => (client as Cluster).mget(tagged))).toFixed(2)} ms`);
    out.push(`raw 100 GETs ${(await time(() => Promise.all(keys.map((k) => client.get(k))))).toFixed(2)} ms`);
  }
  out.push(`get() ${(await time(() => store.get(Item, { id: 7 }))).toFixed(3)} ms`, `raw GET ${(await time(() => client.get(keys[7]!))).toFixed(3)} ms`);
  console.log(out.join(' | '));
  await client.quit();
}
(async () => {
  await bench('standalone', new Redis('redis://127.0.0.1:46379', { lazyConnect: true }));
  await bench('cluster', new Cluster(['127.0.0.1:47001'], { lazyConnect: true }));
})();
