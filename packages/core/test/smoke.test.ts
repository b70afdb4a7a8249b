import 'reflect-metadata';
import { ChainedStore, ProcessMemoryStore, Stockpyle, DictionaryStore } from '@stockpyle/core';

@Stockpyle({ keys: ['id', ['zap', 'bar']] })
class Foo {
  constructor(public id: number, public zap: number, public bar: string) {}
}

test('smoke', async () => {
  const mem = new ProcessMemoryStore();
  const dict = new DictionaryStore(new Map());
  const chain = new ChainedStore([mem, dict]);
  const foo = new Foo(1, 2, 'x');
  await chain.put(foo);
  expect(await mem.get(Foo, { id: 1 })).toBe(foo);
  expect(await dict.get(Foo, { bar: 'x', zap: 2 })).toEqual(foo);
  expect(await dict.get(Foo, { bar: 'x', zap: 2 })).toBeInstanceOf(Foo);
  mem.clear();
  expect(await chain.get(Foo, { id: 1 })).toEqual(foo);
  expect(await mem.get(Foo, { id: 1 })).toEqual(foo);
  expect(await chain.batchGet(Foo, [{ id: 1 }, { id: 9 }])).toEqual([foo, undefined]);
  await chain.delete(foo);
  expect(await chain.get(Foo, { id: 1 })).toBeUndefined();
});
