import { getMetadata, KeyBuilder, Stockpyle } from '@stockpyle/core';
import { Client } from 'memjs';
import { serviceUrl } from '../../../../test-support/test-environment';

/** The shared memcached of the test run (STOCKPYLE_MEMCACHE_SERVERS), as a `servers` list. */
export function sharedServers(): string[] {
  return serviceUrl('memcached').split(',');
}

/** A memjs client for looking at or tampering with what the store wrote; it logs nothing. */
export function rawClient(servers: readonly string[] = sharedServers()): Client {
  return Client.create(servers.join(','), { retries: 0, logger: { log: () => undefined } });
}

let seq = Math.floor(Math.random() * 1e9);
/** Ids no other test (or earlier run against the same server) uses. */
export function nextId(): number {
  return (seq += 1);
}

@Stockpyle({ keys: ['id', ['zap', 'bar']], name: 'memcache-test.Foo' })
export class Foo {
  constructor(
    public id: number,
    public zap: number,
    public bar: string,
    public note = '',
  ) {}
}

/** A Foo with fresh ids. */
export function newFoo(note = ''): Foo {
  const id = nextId();
  return new Foo(id, id + 1, `bar-${id}`, note);
}

/** The cache key of a Foo by its id, as the store builds it (no prefix). */
export function idKey(foo: Foo): string {
  const meta = getMetadata(Foo);
  return new KeyBuilder().build(meta, meta.keys[0]!, foo)!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
