import 'reflect-metadata';
import fc from 'fast-check';
import { ChainedStore, DictionaryStore, FORMAT_VERSION, KeyBuilder, ProcessMemoryStore, Stockpyle, getMetadata, type StoreEvent } from '@stockpyle/core';
import { hostilePayloads, prototypeSnapshot, prototypeUntouched } from '../../../test-support/hostile-payloads';
import { MemoryDatabase } from './support/memory-database';

// Hostile payloads in a tier that holds encoded envelopes (a DictionaryStore over a Map stands in
// for memcached and Redis; their own suites repeat this against the real servers): each must be a
// miss, be removed, be counted as 'corrupt', leave Object.prototype alone and never throw.

@Stockpyle({ keys: ['id', 'slug'], name: 'hostile.Doc' })
class Doc {
  constructor(public id: number, public slug: string, public body: unknown = '') {}
}

@Stockpyle({ keys: ['id'], name: 'hostile.Trap' })
class Trap {
  id = 0;
  set body(_v: unknown) {
    throw new Error('a setter ran');
  }
}
void Trap;

const PREFIX = 'hostile';
const meta = getMetadata(Doc);
const keys = new KeyBuilder(PREFIX);
const idKey = (id: number): string => keys.build(meta, meta.keys[0]!, { id })!;
const envelope = (d: string, c = 'hostile.Doc'): string => `{"f":${FORMAT_VERSION},"k":"v","c":"${c}","e":0,"d":${d}}`;

const pristine = prototypeSnapshot();
const untouched = (): boolean => prototypeUntouched(pristine);

/** The shared hostile payloads, as strings (a Map tier holds strings), and one a Map tier alone can hold. */
const HOSTILE_PAYLOADS: [string, string][] = [
  ...hostilePayloads('hostile.Doc', '"id":1,"slug":"doc-1"').map(([name, p]): [string, string] => [name, typeof p === 'string' ? p : p.toString('latin1')]),
  ['an empty string', ''],
  ['a class whose setter throws', envelope('{"id":1,"body":1}', 'hostile.Trap')],
];

describe('a cache tier holding hostile payloads', () => {
  let map: Map<string, string>;
  let tier: DictionaryStore;
  let corrupt: StoreEvent[];

  beforeEach(() => {
    map = new Map();
    tier = new DictionaryStore(map, { prefix: PREFIX });
    corrupt = [];
    tier.on('corrupt', (e) => corrupt.push(e));
  });

  it.each(HOSTILE_PAYLOADS)('%s: a miss, removed, counted, Object.prototype untouched', async (_name, payload) => {
    map.set(idKey(1), payload);
    await expect(tier.get(Doc, { id: 1 })).resolves.toBeUndefined();
    expect(map.has(idKey(1))).toBe(false);
    expect(corrupt).toHaveLength(1);
    expect(JSON.stringify(corrupt[0])).not.toContain('polluted');
    expect(untouched()).toBe(true);
  });

  it.each(HOSTILE_PAYLOADS)('%s: a chain serves the database\'s object and fills the tier with it', async (_name, payload) => {
    const db = new MemoryDatabase();
    await db.put(new Doc(1, 'doc-1', 'from the database'));
    const chain = new ChainedStore([tier, db]);
    map.set(idKey(1), payload);
    expect(await chain.get(Doc, { id: 1 })).toMatchObject({ body: 'from the database' });
    expect(corrupt).toHaveLength(1);
    expect(await tier.get(Doc, { id: 1 })).toMatchObject({ body: 'from the database' });
    expect(untouched()).toBe(true);
  });

  it('a 50 MB payload is refused without parsing it (decode stops at 16 MiB): a miss, removed, counted', async () => {
    map.set(idKey(1), envelope(`{"id":1,"slug":"doc-1","body":"${'x'.repeat(50 * 1024 * 1024)}"}`));
    const heapBefore = process.memoryUsage().heapUsed;
    await expect(tier.get(Doc, { id: 1 })).resolves.toBeUndefined();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024); // never parsed into objects
    expect(map.has(idKey(1))).toBe(false);
    expect(corrupt).toEqual([expect.objectContaining({ reason: expect.stringMatching(/exceeds/) })]);
  });

  it('a valid envelope of another object under this key is a miss, never the other object', async () => {
    map.set(idKey(1), envelope('{"id":2,"slug":"doc-2"}'));
    await expect(tier.get(Doc, { id: 1 })).resolves.toBeUndefined();
    map.set(keys.build(meta, meta.keys[1]!, { slug: 'doc-1' })!, `{"f":${FORMAT_VERSION},"k":"p","p":${JSON.stringify(idKey(2))},"e":0}`);
    map.set(idKey(2), envelope('{"id":2,"slug":"doc-2"}'));
    await expect(tier.get(Doc, { slug: 'doc-1' })).resolves.toBeUndefined(); // a pointer to the wrong anchor
  });

  it('random payloads and random data never throw, never pollute, and never decode as a Doc that was not written (2,000 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json().map((j) => envelope(j)),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        async (payload) => {
          map.set(idKey(1), payload);
          const got = await tier.get(Doc, { id: 1 });
          return untouched() && (got === undefined || (got instanceof Doc && got.id === 1));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('objects a tier cannot hold safely', () => {
  it('an object with a field named __proto__ or constructor is skipped by an encoding tier and served by the others', async () => {
    const map = new Map<string, string>();
    const tier = new DictionaryStore(map, { prefix: PREFIX });
    const skipped: StoreEvent[] = [];
    tier.on('skip', (e) => skipped.push(e));
    const memory = new ProcessMemoryStore();
    const db = new MemoryDatabase();
    const chain = new ChainedStore([memory, tier, db]);
    const doc = new Doc(3, 'doc-3', JSON.parse('{"__proto__":{"polluted":true},"constructor":"Bob"}'));
    await chain.put(doc);
    expect(skipped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/__proto__|constructor/) })]);
    expect(await tier.get(Doc, { id: 3 })).toBeUndefined();
    expect(await chain.get(Doc, { id: 3 })).toBe(doc); // the process memory holds the live object
    memory.clear();
    expect((await chain.get(Doc, { id: 3 }))?.body).toEqual(doc.body); // the database's copy
    expect(untouched()).toBe(true);
  });

  it('an object nested deeper than the codec allows is skipped by an encoding tier and served by the others', async () => {
    const map = new Map<string, string>();
    const tier = new DictionaryStore(map, { prefix: PREFIX });
    const skipped: StoreEvent[] = [];
    tier.on('skip', (e) => skipped.push(e));
    const db = new MemoryDatabase();
    const chain = new ChainedStore([tier, db]);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = [deep];
    await chain.put(new Doc(4, 'doc-4', deep));
    expect(skipped).toHaveLength(1);
    expect([...map].filter(([key]) => !key.includes('#gen:')).every(([, raw]) => raw.includes('"k":"t"'))).toBe(true); // only the write's tombstone
    expect(await chain.get(Doc, { id: 4 })).toMatchObject({ id: 4 });
  });
});
