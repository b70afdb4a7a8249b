import 'reflect-metadata';
import { AsyncLocalStore, ConfigurationError, ProcessMemoryStore, Stockpyle, estimateSize, registerMetadataResolver } from '@stockpyle/core';

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'inproc.Foo' })
class Foo {
  constructor(public id: number, public zap = 0, public bar = 'x', public blob = '') {}
}

describe('ProcessMemoryStore', () => {
  describe('constructor', () => {
    it.each([
      ['max of 0', { max: 0 }],
      ['a fractional max', { max: 1.5 }],
      ['a negative maxSize', { maxSize: -1 }],
      ['a lifetime that is not a function', { lifetime: 5 }],
      ['polymorphic that is not a boolean', { polymorphic: 'yes' }],
      ['a zero tombstoneLifetime', { tombstoneLifetime: 0 }],
    ])('throws ConfigurationError for %s', (_label, options) => {
      expect(() => new ProcessMemoryStore(options as never)).toThrow(ConfigurationError);
    });
  });

  describe('bounds', () => {
    it('evicts the least recently used entries beyond max', async () => {
      const store = new ProcessMemoryStore({ max: 4 });
      for (let i = 0; i < 4; i++) await store.put(new Foo(i, i));
      expect(store.size).toBe(4);
      await store.get(Foo, { id: 0 });
      await store.put(new Foo(9, 9));
      expect(store.size).toBe(4);
      expect(await store.get(Foo, { id: 9 })).toBeDefined();
    });

    it('keeps its estimated size under maxSize', async () => {
      const store = new ProcessMemoryStore({ max: 100_000, maxSize: 50_000 });
      for (let i = 0; i < 500; i++) await store.put(new Foo(i, i, 'b', 'y'.repeat(500)));
      expect(store.calculatedSize).toBeLessThanOrEqual(50_000);
      expect(store.calculatedSize).toBeGreaterThan(40_000);
      expect(await store.get(Foo, { id: 499 })).toBeDefined();
      expect(await store.get(Foo, { id: 0 })).toBeUndefined();
    });

    it('estimateSize counts string bytes, nested objects and collections', () => {
      expect(estimateSize('abcd')).toBeGreaterThan(estimateSize('ab'));
      expect(estimateSize({ a: { b: 'x'.repeat(100) } })).toBeGreaterThan(200);
      expect(estimateSize(new Map([[1, 'x'.repeat(100)]]))).toBeGreaterThan(200);
    });
  });

  describe('get()', () => {
    it('returns the very instance stored, and reports hits and misses', async () => {
      const store = new ProcessMemoryStore();
      const events: string[] = [];
      store.on('hit', (e) => events.push(`hit:${e.count}`)).on('miss', (e) => events.push(`miss:${e.count}`));
      const foo = new Foo(1);
      await store.put(foo);
      expect(await store.get(Foo, { id: 1 })).toBe(foo);
      expect(await store.get(Foo, { id: 2 })).toBeUndefined();
      expect(events).toEqual(['hit:1', 'miss:1']);
    });

    it('an object reached through a pointer must still carry the queried values', async () => {
      const store = new ProcessMemoryStore();
      const foo = new Foo(1, 2, 'a');
      await store.put(foo);
      foo.zap = 3;
      expect(await store.get(Foo, { zap: 2, bar: 'a' })).toBeUndefined();
    });
  });
});

describe('AsyncLocalStore', () => {
  it('holds nothing outside a context', async () => {
    const store = new AsyncLocalStore();
    expect(store.active).toBe(false);
    await store.put(new Foo(1));
    expect(await store.get(Foo, { id: 1 })).toBeUndefined();
  });

  it('keeps objects for the life of one context and drops them after', async () => {
    const store = new AsyncLocalStore();
    await store.run(async () => {
      await store.put(new Foo(1));
      await new Promise((r) => setImmediate(r));
      expect(await store.get(Foo, { id: 1 })).toBeDefined();
    });
    await store.run(async () => {
      expect(await store.get(Foo, { id: 1 })).toBeUndefined();
    });
  });

  it('keeps concurrent contexts apart', async () => {
    const store = new AsyncLocalStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = store.run(async () => {
      await store.put(new Foo(1, 0, 'from-a'));
      await gate;
      return (await store.get(Foo, { id: 1 }))?.bar;
    });
    const b = store.run(async () => {
      const before = await store.get(Foo, { id: 1 });
      await store.put(new Foo(1, 0, 'from-b'));
      release();
      return [before, (await store.get(Foo, { id: 1 }))?.bar];
    });
    expect(await a).toBe('from-a');
    expect(await b).toEqual([undefined, 'from-b']);
  });

  it('one context serves every instance', async () => {
    const one = new AsyncLocalStore();
    const two = new AsyncLocalStore();
    await AsyncLocalStore.run(async () => {
      await one.put(new Foo(1));
      expect(two.active).toBe(true);
      expect(await two.get(Foo, { id: 1 })).toBeUndefined();
      expect(await one.get(Foo, { id: 1 })).toBeDefined();
    });
  });
});

describe('in-process stores and serialized classes (ORM entities)', () => {
  class Row {
    constructor(public id: number, public title: string) {}
  }
  Stockpyle({ keys: ['id'], name: 'inproc.Row' })(Row);
  registerMetadataResolver((cls) =>
    cls === Row
      ? {
          serializer: {
            toPlain: (obj) => ({ ...(obj as Row) }),
            fromPlain: (c, data) => Object.assign(Object.create(c.prototype as object) as object, data),
          },
        }
      : undefined,
  );

  it.each([
    ['ProcessMemoryStore', () => new ProcessMemoryStore()],
    ['AsyncLocalStore', () => new AsyncLocalStore()],
  ])('%s keeps a detached copy: changing the object put does not change what readers get', async (_name, make) => {
    const store = make();
    await AsyncLocalStore.run(async () => {
      const row = new Row(1, 'first');
      await store.put(row);
      row.title = 'changed, not saved';
      const got = await store.get(Row, { id: 1 });
      expect(got).toBeInstanceOf(Row);
      expect(got).not.toBe(row);
      expect(got!.title).toBe('first');
    });
  });
});
