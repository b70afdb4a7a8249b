import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { EventArgs, EventSubscriber, FlushEventArgs, TransactionEventArgs } from '@mikro-orm/core';
import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import { MikroOrmStore, StockpyleSubscriber } from '@stockpyle/mikro-orm';
import { Foo } from './support/entities';
import { MIKRO_ORM_MAJOR, openOrm, type TestOrm } from './support/orm';

/**
 * Pins down the order in which MikroORM 6.6 and 7.2 fire the events the subscriber relies on, with
 * the SQL in between, so an upgrade that changes it fails here first. What StockpyleSubscriber assumes:
 * - a plain `flush()` opens its own transaction and `afterTransactionCommit` (with `uow`) comes
 *   BEFORE `afterFlush`; so changes are collected in `onFlush` and acted on at that commit;
 * - inside `transactional()`/`begin()` a flush fires no transaction events, `afterFlush` runs
 *   inside the transaction, and the root transaction fires commit/rollback (MikroORM 6 without
 *   `uow`, 7 with it);
 * - savepoints (nested `transactional()`) fire no transaction events in MikroORM 6; in 7 they fire
 *   start, commit and rollback events like a root, whose `beforeTransactionStart` carries the
 *   enclosing transaction (what `transaction-tree.ts` pairs them by);
 * - `upsert` fires only `beforeUpsert`/`afterUpsert`.
 */
const onMikroOrm = <T>(by: { 6: T; 7: T }): T => by[MIKRO_ORM_MAJOR as 6 | 7];
const timeline: string[] = [];

class Recorder implements EventSubscriber {
  beforeFlush(): void {
    timeline.push('beforeFlush');
  }
  onFlush(): void {
    timeline.push('onFlush');
  }
  afterFlush(args: FlushEventArgs): void {
    timeline.push(`afterFlush${args.em.isInTransaction() ? ' (in transaction)' : ''}`);
  }
  afterUpdate(): void {
    timeline.push('afterUpdate');
  }
  afterUpsert(args: EventArgs<object>): void {
    timeline.push(`afterUpsert${args.em.isInTransaction() ? ' (in transaction)' : ''}`);
  }
  beforeTransactionStart(): void {
    timeline.push('beforeTransactionStart');
  }
  afterTransactionStart(): void {
    timeline.push('afterTransactionStart');
  }
  beforeTransactionCommit(): void {
    timeline.push('beforeTransactionCommit');
  }
  afterTransactionCommit(args: TransactionEventArgs): void {
    timeline.push(`afterTransactionCommit${args.uow === undefined ? '' : ' (uow)'}`);
  }
  beforeTransactionRollback(): void {
    timeline.push('beforeTransactionRollback');
  }
  afterTransactionRollback(args: TransactionEventArgs): void {
    timeline.push(`afterTransactionRollback${args.uow === undefined ? '' : ' (uow)'}`);
  }
}

describe('MikroORM transaction and flush events, as StockpyleSubscriber relies on them', () => {
  let db: TestOrm;
  beforeAll(async () => {
    db = await openOrm('events', {
      subscribers: [new Recorder()],
      extra: {
        logger: (message: string) => {
          const text = message.replace(/\x1b\[[0-9;]*m/g, '');
          const m = /^\[query\] (rollback to savepoint|release savepoint|savepoint|begin|commit|rollback|update|insert|select)\b/.exec(text);
          if (m !== null) timeline.push(`SQL ${m[1]}`);
        },
      },
    });
    const em = db.orm.em.fork();
    em.create(Foo, { id: 1, zap: 1, bar: 'a' });
    em.create(Foo, { id: 2, zap: 2, bar: 'b' });
    await em.flush();
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    timeline.length = 0;
  });

  it('a plain flush: its own transaction commits before afterFlush', async () => {
    const em = db.orm.em.fork();
    const foo = await em.findOneOrFail(Foo, 1);
    foo.bar = 'plain';
    timeline.length = 0;
    await em.flush();
    expect(timeline).toEqual([
      'beforeFlush',
      'onFlush',
      'beforeTransactionStart',
      'SQL begin',
      'afterTransactionStart',
      'SQL update',
      'afterUpdate',
      'beforeTransactionCommit',
      'SQL commit',
      'afterTransactionCommit (uow)',
      'afterFlush',
    ]);
  });

  it('transactional() with a nested transactional(): one root commit event, and on MikroORM 7 the savepoint\'s own', async () => {
    await db.orm.em.fork().transactional(async (tx) => {
      (await tx.findOneOrFail(Foo, 1)).bar = 'outer';
      await tx.flush();
      await tx.transactional(async (nested) => {
        (await nested.findOneOrFail(Foo, 2)).bar = 'inner';
      });
    });
    expect(timeline).toEqual([
      'beforeTransactionStart',
      'SQL begin',
      'afterTransactionStart',
      'SQL select',
      'beforeFlush',
      'onFlush',
      'SQL update',
      'afterUpdate',
      'afterFlush (in transaction)',
      ...onMikroOrm({ 6: ['SQL savepoint'], 7: ['beforeTransactionStart', 'SQL savepoint', 'afterTransactionStart'] }),
      'SQL select',
      'beforeFlush',
      'onFlush',
      'SQL update',
      'afterUpdate',
      'afterFlush (in transaction)',
      ...onMikroOrm({ 6: ['SQL release savepoint'], 7: ['beforeTransactionCommit', 'SQL release savepoint', 'afterTransactionCommit (uow)'] }),
      'beforeFlush',
      'onFlush',
      'afterFlush (in transaction)',
      'beforeTransactionCommit',
      'SQL commit',
      onMikroOrm({ 6: 'afterTransactionCommit', 7: 'afterTransactionCommit (uow)' }),
    ]);
  });

  it('a rolled back savepoint fires nothing on MikroORM 6 (a rollback event on 7); the root still commits', async () => {
    await db.orm.em.fork().transactional(async (tx) => {
      await tx
        .transactional(async (nested) => {
          (await nested.findOneOrFail(Foo, 2)).bar = 'never';
          await nested.flush();
          throw new Error('inner');
        })
        .catch(() => undefined);
    });
    expect(timeline).toEqual([
      'beforeTransactionStart',
      'SQL begin',
      'afterTransactionStart',
      ...onMikroOrm({ 6: ['SQL savepoint'], 7: ['beforeTransactionStart', 'SQL savepoint', 'afterTransactionStart'] }),
      'SQL select',
      'beforeFlush',
      'onFlush',
      'SQL update',
      'afterUpdate',
      'afterFlush (in transaction)',
      ...onMikroOrm({ 6: ['SQL rollback to savepoint'], 7: ['beforeTransactionRollback', 'SQL rollback to savepoint', 'afterTransactionRollback (uow)'] }),
      'beforeFlush',
      'onFlush',
      'afterFlush (in transaction)',
      'beforeTransactionCommit',
      'SQL commit',
      onMikroOrm({ 6: 'afterTransactionCommit', 7: 'afterTransactionCommit (uow)' }),
    ]);
  });

  it('a rolled back transactional(): a rollback event and no commit', async () => {
    await db.orm.em
      .fork()
      .transactional(async (tx) => {
        (await tx.findOneOrFail(Foo, 1)).bar = 'rolled back';
        await tx.flush();
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(timeline).toEqual([
      'beforeTransactionStart',
      'SQL begin',
      'afterTransactionStart',
      'SQL select',
      'beforeFlush',
      'onFlush',
      'SQL update',
      'afterUpdate',
      'afterFlush (in transaction)',
      'beforeTransactionRollback',
      'SQL rollback',
      onMikroOrm({ 6: 'afterTransactionRollback', 7: 'afterTransactionRollback (uow)' }),
    ]);
  });

  it('upsert fires only afterUpsert (here outside any transaction)', async () => {
    await db.orm.em.fork().upsert(Foo, { id: 1, zap: 1, bar: 'upserted' });
    expect(timeline).toEqual(['SQL insert', 'afterUpsert']);
  });
});

describe('StockpyleSubscriber with disableTransactions (a flush opens no transaction, fires no transaction event)', () => {
  let db: TestOrm;
  beforeAll(async () => {
    db = await openOrm('notx', { extra: { disableTransactions: true } });
  });
  afterAll(async () => {
    await db.close();
  });

  it('invalidates at afterFlush, when the writes are already committed', async () => {
    const memory = new ProcessMemoryStore();
    const chain = new ChainedStore([memory, new MikroOrmStore({ orm: db.orm })]);
    db.orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
    await chain.put(new Foo(1, 1, 'a'));
    expect(await memory.get(Foo, { id: 1 })).toMatchObject({ bar: 'a' });
    const em = db.orm.em.fork();
    (await em.findOneOrFail(Foo, 1)).bar = 'b';
    await em.flush();
    expect(db.log.statements.some((s) => /^begin/.test(s))).toBe(false);
    expect(await memory.get(Foo, { id: 1 })).toBeUndefined();
    expect(await chain.get(Foo, { id: 1 })).toMatchObject({ bar: 'b' });
  });
});
