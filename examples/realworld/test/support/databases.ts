import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { KeyBuilder } from '@stockpyle/core';
import { Redis } from 'ioredis';
import { serviceUrl } from '../../../../test-support/test-environment';
import { ormConfig } from '../../src/orm-config';

/** The URL of a database of this name on the harness's PostgreSQL (`STOCKPYLE_PG_URL`). */
export function databaseUrl(name: string): string {
  const url = new URL(serviceUrl('postgres'));
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates the database when missing and gives it the app's tables, empty: every run starts equal. */
export async function freshDatabase(name: string): Promise<string> {
  const url = databaseUrl(name);
  const orm = await MikroORM.init(ormConfig(url, undefined));
  try {
    await orm.schema.refresh();
  } finally {
    await orm.close(true);
  }
  return url;
}

/** A Redis prefix no other run uses, so runs sharing the server never see each other's keys or bus. */
export function freshPrefix(label: string): string {
  return `realworld-${label}-${randomUUID().slice(0, 8)}`;
}

/** Deletes what a run left in Redis under its prefix (entries and tombstones). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(serviceUrl('redis'), { lazyConnect: true });
  await client.connect();
  try {
    const keys = await client.keys(`*${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    await client.quit();
  }
}

/** How many connections listen on the bus channel of this prefix (RedisBus's channel, classic pub/sub). */
export async function busSubscribers(prefix: string): Promise<number> {
  const client = new Redis(serviceUrl('redis'), { lazyConnect: true });
  await client.connect();
  try {
    const [, count] = (await client.call('PUBSUB', 'NUMSUB', `${new KeyBuilder(prefix).namespace}bus`)) as [string, number];
    return Number(count);
  } finally {
    await client.quit();
  }
}
