/**
 * Hostile-input cases that every out-of-process cache tier runs the same way against its real
 * server: key values of every kind end to end, and an object a caller mutates after reading it.
 */
import fc from 'fast-check';
import { ChainedStore, ProcessMemoryStore, type Store } from '@stockpyle/core';
import { VersionedDatabase } from './fault-load';

/** A class decorated with keys `['id', ['a', 'b']]`. */
export type KeyedClass = new (id: unknown, a: unknown, b: unknown) => { id: unknown };
/** A class decorated with keys `['id', 'slug']`. */
export type DocClass = new (id: number, slug: string, body?: unknown) => { id: number; slug: string; body: unknown };

export interface HostileSuiteOptions {
  /** The tier's name in test titles: `memcached`, `Redis`. */
  readonly label: string;
  /** Opens a new store of this tier (the tests release it). */
  readonly open: () => Store;
  readonly Keyed: KeyedClass;
  readonly Doc: DocClass;
  /** Objects with fast-check key values to store and find again. */
  readonly keyRuns: number;
  /** A fresh id for each object written. */
  readonly nextId: () => number;
  /** Where the suite's figures go, for the file's summary line. */
  readonly figures: string[];
}

export function describeHostileKeysAndMutation(options: HostileSuiteOptions): void {
  const { label, open, Keyed, Doc, keyRuns, nextId, figures } = options;

  describe('hostile key values end to end', () => {
    it(`every key value reaches ${label} and finds its object again by each key (${keyRuns} objects)`, async () => {
      const store = open();
      const value = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
        fc.string({ maxLength: 8 }).map((s) => `${s}\uD800`),
        fc.string({ unit: 'binary', minLength: 250, maxLength: 2000, size: 'max' }),
        fc.integer(),
        fc.double({ noNaN: true }),
        fc.integer().map(String),
        fc.bigInt(),
        fc.boolean(),
        fc.date({ noInvalidDate: true }),
      );
      let stored = 0;
      try {
        await fc.assert(
          fc.asyncProperty(value, value, value, async (id, a, b) => {
            const obj = new Keyed(id, a, b);
            await store.put(obj);
            stored++;
            const byId = await store.get(Keyed, { id } as never);
            const byPair = await store.get(Keyed, { a, b } as never);
            await store.delete(obj);
            const same = (x: { id: unknown } | undefined): boolean =>
              x !== undefined && (x.id === obj.id || (x.id instanceof Date && x.id.getTime() === (obj.id as Date).getTime()));
            return same(byId) && same(byPair);
          }),
          { numRuns: keyRuns },
        );
      } finally {
        await store.release();
      }
      figures.push(`${stored} objects with hostile key values stored and found by both keys`);
    }, 120_000);
  });

  describe('an object a caller mutates', () => {
    it(`never changes what another chain reads from ${label} unless it is put back`, async () => {
      const db = new VersionedDatabase(0);
      const chain = (): ChainedStore => new ChainedStore([new ProcessMemoryStore(), open(), db]);
      const first = chain();
      const second = chain();
      try {
        const id = nextId();
        await first.put(new Doc(id, `doc-${id}`, { tags: ['a'] }));
        const mine = (await first.get(Doc, { id }))!;
        (mine.body as { tags: string[] }).tags.push('mutated');
        mine.slug = 'changed';
        // The first chain's process memory returns the very instance it holds, by design (core
        // README): its own later reads see the mutation. The tier holds an encoded copy, so other
        // chains do not.
        expect(await first.get(Doc, { id })).toBe(mine);
        expect(await second.get(Doc, { id })).toMatchObject({ slug: `doc-${id}`, body: { tags: ['a'] } });
        await first.put(mine);
        await second.stores[0]!.delete(mine); // the second process's own memory tier: bounded by its lifetime
        expect(await second.get(Doc, { id })).toMatchObject({ slug: 'changed', body: { tags: ['a', 'mutated'] } });
      } finally {
        await Promise.all([first.release(), second.release()]);
      }
    });
  });
}
