/**
 * Type tests: compiled by `npm run typecheck` (part of `npm test`), never run. Each
 * `@ts-expect-error` fails the build if the line below it stops being a type error.
 */
import { ChainedStore, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';

@Stockpyle({ keys: ['id', ['zap', 'bar']] })
class Foo {
  constructor(
    public id: number,
    public zap: number,
    public bar: string,
  ) {}
  describe(): string {
    return `${this.id}`;
  }
}

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T): void => undefined;

export async function typeTests(store: Store): Promise<void> {
  const one = await store.get(Foo, { id: 1 });
  assertType<Equals<typeof one, Foo | undefined>>();

  const many = await store.batchGet(Foo, [{ id: 1 }, { zap: 2, bar: 'x' }]);
  assertType<Equals<typeof many, (Foo | undefined)[]>>();

  // @ts-expect-error a misspelt attribute is a compile error
  await store.get(Foo, { idd: 1 });

  // @ts-expect-error an attribute's value must have the attribute's type
  await store.get(Foo, { id: 'one' });

  // @ts-expect-error methods are not key attributes
  await store.get(Foo, { describe: 'x' });

  // @ts-expect-error a class is required, not an instance
  await store.get(new Foo(1, 2, 'x'), { id: 1 });

  const chain: Store = new ChainedStore([new ProcessMemoryStore(), new ProcessMemoryStore()]);
  const viaChain = await chain.get(Foo, { bar: 'x', zap: 2 });
  assertType<Equals<typeof viaChain, Foo | undefined>>();

  // @ts-expect-error put returns nothing to use
  const nothing: number = await store.put(new Foo(1, 2, 'x'));
  void nothing;
}
