import type { BenchCase } from '../case';
import { databaseStack } from '../database-stack';
import { Row } from '../entities';
import { KEY_COUNT, shuffledIds } from '../fixtures';
import { context, exactly, med, measureRows, now } from '../harness';

const CALLERS = 1_000;

/** Case 6: 1,000 concurrent gets of one cold key run one SQL query (single-flight). */
export const stampede: BenchCase = {
  id: 6,
  title: `Stampede: ${CALLERS.toLocaleString('en')} concurrent gets of one cold key`,
  needs: ['memcached', 'postgres'],
  async run(ctx) {
    const stack = await databaseStack(ctx);
    const ids = shuffledIds(KEY_COUNT, 4242);
    let next = 0;
    // Every stampede hits a key no earlier one touched, with memcached flushed and memory empty.
    const once = async (coalesce: boolean): Promise<{ ms: number; sql: number }> => {
      await stack.flush();
      const chain = stack.chain({ coalesce });
      const id = ids[next++ % ids.length]!;
      const before = stack.db.queries();
      const start = now();
      const found = await Promise.all(Array.from({ length: CALLERS }, () => chain.get(Row, { id })));
      const ms = (now() - start) / 1e6;
      if (found.some((r) => r?.id !== id)) throw new Error('a caller got the wrong row');
      return { ms, sql: stack.db.queries() - before };
    };
    const counted = await once(true);
    const unshared = await once(false);
    const rows = await measureRows(
      [
        {
          id: 'shared',
          label: `stockpyle ${CALLERS.toLocaleString('en')} concurrent \`chain.get(Row, { id })\` of one cold key`,
          unit: 'ms/op',
          run: async () => (await once(true)).ms,
        },
        {
          id: 'unshared',
          label: 'the same with coalesce: false (every caller its own trip)',
          unit: 'ms/op',
          run: async () => (await once(false)).ms,
        },
      ],
      ctx.runs,
    );
    return {
      rows,
      checks: [
        exactly(`SQL queries for ${CALLERS.toLocaleString('en')} concurrent gets of one key`, counted.sql, 1),
        { label: 'SQL queries for the same with coalesce: false', value: unshared.sql, kind: 'count' },
        context('coalesce: false / single-flight', med(rows, 'unshared') / med(rows, 'shared')),
      ],
      notes: ['one stampede per run on a key no earlier run touched; memcached flushed and memory empty first'],
    };
  },
};
