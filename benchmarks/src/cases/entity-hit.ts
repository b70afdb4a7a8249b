import { ChainedStore, ProcessMemoryStore } from '@stockpyle/core';
import type { BenchCase } from '../case';
import { databaseStack } from '../database-stack';
import { Row } from '../entities';
import { KEY_COUNT, shuffledIds } from '../fixtures';
import { context, med, measureRows, sequentialMicros } from '../harness';

const KEYS = 2_000;

/**
 * Case 8 (context, no target in the issue): what a first-tier hit of a MikroORM entity costs when
 * `MikroOrmStore` is below it, as in an application's chain: the store's adopt hook hands the caller
 * a copy attached to a fresh fork (no query, not dirty), where a chain without an adopting store
 * returns the in-process tier's own detached copy.
 */
export const entityHit: BenchCase = {
  id: 8,
  title: 'Hit in the first tier of a MikroORM entity, with MikroOrmStore below (adopt)',
  needs: ['memcached', 'postgres'],
  async run(ctx) {
    const stack = await databaseStack(ctx);
    const ids = shuffledIds(KEY_COUNT).slice(0, KEYS);
    const queries = ids.map((id) => ({ id }));
    const chain = stack.chain();
    const entities = (await chain.batchGet(Row, queries)) as Row[];
    if (entities.some((e) => e === undefined)) throw new Error('a row was not found');
    const plain = new ChainedStore([new ProcessMemoryStore({ max: KEY_COUNT * 2 })]);
    await plain.batchPut(entities);
    const hits = ctx.quick ? 5_000 : 20_000;
    const finds = ctx.quick ? 200 : 500;
    const rows = await measureRows(
      [
        {
          id: 'adopted',
          label: 'stockpyle `chain.get(Row, { id })` hit, [memory, memcached, MikroOrmStore]: a copy merged into a fork',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, (i) => chain.get(Row, queries[i % KEYS]!)),
        },
        {
          id: 'plain',
          label: 'stockpyle `chain.get(Row, { id })` hit, [memory] only: the tier\'s detached copy, no adopt',
          unit: 'µs/op',
          run: () => sequentialMicros(hits, (i) => plain.get(Row, queries[i % KEYS]!)),
        },
        {
          id: 'find',
          label: 'MikroORM `em.fork().findOne(Row, { id })` (PostgreSQL, loopback)',
          unit: 'µs/op',
          run: () => sequentialMicros(finds, (i) => stack.db.orm.em.fork().findOne(Row, { id: ids[i % KEYS]! })),
        },
      ],
      ctx.runs,
    );
    return {
      rows,
      checks: [
        context('findOne / adopted chain.get hit', med(rows, 'find') / med(rows, 'adopted')),
        context('adopted hit / hit without adopt (the cost of a managed, isolated copy)', med(rows, 'adopted') / med(rows, 'plain')),
      ],
      notes: [`${KEYS.toLocaleString('en')} entities in the first tier, visited in a shuffled order; every call awaited`],
    };
  },
};
