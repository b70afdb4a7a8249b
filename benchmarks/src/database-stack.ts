import memjs from 'memjs';
import { ChainedStore, ProcessMemoryStore, type ChainedStoreOptions } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { MikroOrmStore } from '@stockpyle/mikro-orm';
import type { BenchContext } from './case';
import { openOrm, type BenchOrm } from './entities';
import { KEY_COUNT } from './fixtures';

/**
 * What the cases through the database share: one ORM with the rows, one MikroOrmStore, one
 * MemcacheStore and a raw memjs client on the same memcached. Opened once per benchmark run.
 */
export interface DatabaseStack {
  readonly db: BenchOrm;
  readonly database: MikroOrmStore;
  readonly memcache: MemcacheStore;
  readonly memjs: memjs.Client;
  /** `[memory (new, empty), memcached, database]`: a cold chain, once memcached is flushed. */
  chain(options?: ChainedStoreOptions): ChainedStore;
  /** Empties memcached, so the next reads are cold. */
  flush(): Promise<void>;
}

let opened: Promise<DatabaseStack> | undefined;
let close: (() => Promise<void>) | undefined;

/** The shared stack, opened on first use. */
export function databaseStack(ctx: BenchContext): Promise<DatabaseStack> {
  opened ??= (async () => {
    const db = await openOrm(ctx.urls.postgres!);
    const memcache = new MemcacheStore({ servers: [ctx.urls.memcached!] });
    const client = memjs.Client.create(ctx.urls.memcached!, { logger: { log: () => undefined }, retries: 0 });
    const database = new MikroOrmStore({ orm: db.orm });
    close = async () => {
      client.close();
      await memcache.release();
      await database.release();
      await db.close();
    };
    return {
      db,
      database,
      memcache,
      memjs: client,
      chain: (options) => new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 }), memcache, database], options),
      flush: async () => {
        await client.flush();
      },
    };
  })();
  return opened;
}

/** Closes the shared stack if a case opened it. */
export async function closeDatabaseStack(): Promise<void> {
  if (opened === undefined) return;
  await opened.catch(() => undefined);
  await close?.();
  opened = undefined;
  close = undefined;
}
