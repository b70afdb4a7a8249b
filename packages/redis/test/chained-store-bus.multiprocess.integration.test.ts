import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { RedisBus, RedisStore } from '@stockpyle/redis';
import { eventually } from '../../../test-support/eventually';
import { serviceUrl } from '../../../test-support/test-environment';

jest.setTimeout(60_000);

@Stockpyle({ keys: ['id'], name: 'test.multiproc.User' })
class User {
  constructor(
    public id: number,
    public version: number,
  ) {}
}

const REDIS_URL = serviceUrl('redis');
const ROOT = join(__dirname, '..', '..', '..');

interface Reply {
  ok?: boolean;
  version?: number;
  sharedReads?: number;
  ready?: boolean;
}

/** This jest process is one process; a child (packages/redis/test/support/bus-child.ts, run with tsx) is the other. */
describe('ChainedStore with a RedisBus across two OS processes', () => {
  const prefix = `multiproc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let child: ChildProcess;
  let replies: Reply[] = [];
  let redis: RedisStore;
  let bus: RedisBus;
  let chain: ChainedStore;

  const ask = async (op: 'read' | 'held' | 'quit', id = 0): Promise<Reply> => {
    const before = replies.length;
    child.send({ op, id });
    await eventually(async () => expect(replies.length).toBeGreaterThan(before), 20_000, 20);
    return replies[before]!;
  };

  beforeAll(async () => {
    redis = new RedisStore({ url: REDIS_URL, prefix });
    bus = new RedisBus({ url: REDIS_URL, prefix, name: 'bus-parent' });
    chain = new ChainedStore([new ProcessMemoryStore(), redis], { bus });
    child = fork(join(__dirname, 'support', 'bus-child.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), CHILD_REDIS_URL: REDIS_URL, CHILD_PREFIX: prefix },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let ready = false;
    child.on('message', (m: Reply) => (m.ready === true ? (ready = true) : replies.push(m)));
    await eventually(async () => expect(ready).toBe(true), 30_000, 50);
    replies = [];
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ op: 'quit', id: 0 });
      await exited;
    }
    await chain.release();
    await Promise.all([bus.release(), redis.release()]);
  });

  it('a write in this process drops the child\'s memory copy; its next read is one Redis read of the new version', async () => {
    await chain.put(new User(1, 1));
    // The put's own message may reach the child after its first read and drop what it filled.
    await eventually(async () => {
      expect((await ask('read', 1)).version).toBe(1);
      expect((await ask('held', 1)).version).toBe(1);
    }, 10_000, 20);
    await chain.put(new User(1, 2));
    await eventually(async () => expect((await ask('held', 1)).version).toBeUndefined(), 10_000, 20);
    const read = await ask('read', 1);
    expect(read).toEqual({ ok: true, version: 2, sharedReads: 1 });
    // Filled again: the next read is a memory hit.
    expect(await ask('read', 1)).toEqual({ ok: true, version: 2, sharedReads: 0 });
  });

  it('a delete reaches the child too', async () => {
    await chain.put(new User(2, 1));
    await eventually(async () => {
      expect((await ask('read', 2)).version).toBe(1);
      expect((await ask('held', 2)).version).toBe(1);
    }, 10_000, 20);
    await chain.delete(new User(2, 1));
    await eventually(async () => expect((await ask('held', 2)).version).toBeUndefined(), 10_000, 20);
    expect((await ask('read', 2)).version).toBeUndefined();
  });
});
