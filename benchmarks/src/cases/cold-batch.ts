import type { BenchCase } from '../case';
import { databaseStack } from '../database-stack';
import { Row } from '../entities';
import { KEY_COUNT, blocks, shuffledIds } from '../fixtures';
import { atMost, exactly, med, measureRows, sequentialMicros } from '../harness';

const BATCH = 100;

/** Case 4: `batchGet` of 100 cold keys through memory, memcached and the database. */
export const coldBatch: BenchCase = {
  id: 4,
  title: `batchGet of ${BATCH} cold keys through [memory, memcached, MikroORM]`,
  needs: ['memcached', 'postgres'],
  async run(ctx) {
    const stack = await databaseStack(ctx);
    const groups = blocks(shuffledIds(KEY_COUNT), BATCH).slice(0, ctx.quick ? 10 : 40);
    const queries = groups.map((g) => g.map((id) => ({ id })));
    const rawKeys = groups.map((g) => g.map((id) => `raw:row:${id}`));
    const n = groups.length;

    // One cold batch, counted apart from the timed runs.
    await stack.flush();
    const before = stack.db.queries();
    const found = await stack.chain().batchGet(Row, queries[0]!);
    const sql = stack.db.queries() - before;
    if (found.some((r) => r === undefined)) throw new Error('a row was not found');

    const rows = await measureRows(
      [
        {
          id: 'raw',
          label: `raw: ${BATCH} memjs \`get\`s (all miss) + one \`em.fork().find(Row, { id: { $in } })\``,
          unit: 'µs/op',
          run: () =>
            sequentialMicros(n, async (i) => {
              await Promise.all(rawKeys[i]!.map((key) => stack.memjs.get(key)));
              return stack.db.orm.em.fork().find(Row, { id: { $in: groups[i]! } });
            }),
        },
        {
          id: 'chain',
          label: `stockpyle \`chain.batchGet(Row, ${BATCH} queries)\`, all cold, fills memcached and memory`,
          unit: 'µs/op',
          async run() {
            await stack.flush();
            const chain = stack.chain();
            return sequentialMicros(n, (i) => chain.batchGet(Row, queries[i]!));
          },
        },
      ],
      ctx.runs,
    );
    return {
      rows,
      checks: [
        exactly(`SQL queries for one cold batchGet(${BATCH})`, sql, 1),
        atMost(`chain.batchGet(${BATCH}) cold / raw memjs gets + $in query`, med(rows, 'chain') / med(rows, 'raw'), 1.3),
      ],
      notes: [`${n} batches per run of ${BATCH} distinct keys; memcached flushed and memory empty before each run`],
    };
  },
};
