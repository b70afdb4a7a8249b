import type { BenchCase } from '../case';
import { databaseStack } from '../database-stack';
import { Row } from '../entities';
import { KEY_COUNT, blocks, shuffledIds } from '../fixtures';
import { atLeast, exactly, med, measureRows, sequentialMicros } from '../harness';

const BURST = 100;

/** Case 5: 100 `get`s issued in the same tick on a cold chain are one batch per tier. */
export const coalescing: BenchCase = {
  id: 5,
  title: `Coalescing: ${BURST} gets issued in one tick on a cold chain`,
  needs: ['memcached', 'postgres'],
  async run(ctx) {
    const stack = await databaseStack(ctx);
    const groups = blocks(shuffledIds(KEY_COUNT, 777), BURST).slice(0, ctx.quick ? 5 : 10);
    const n = groups.length;
    const burst = (chain: ReturnType<typeof stack.chain>, ids: readonly number[]) => Promise.all(ids.map((id) => chain.get(Row, { id })));

    const count = async (coalesce: boolean): Promise<number> => {
      await stack.flush();
      const before = stack.db.queries();
      const found = await burst(stack.chain({ coalesce }), groups[0]!);
      if (found.some((r) => r === undefined)) throw new Error('a row was not found');
      return stack.db.queries() - before;
    };
    const together = await count(true);
    const apart = await count(false);

    const rows = await measureRows(
      [
        {
          id: 'coalesced',
          label: `stockpyle ${BURST} \`chain.get(Row, { id })\` in one tick (coalesce: true, the default)`,
          unit: 'µs/op',
          async run() {
            await stack.flush();
            const chain = stack.chain();
            return sequentialMicros(n, (i) => burst(chain, groups[i]!));
          },
        },
        {
          id: 'separate',
          label: `the same ${BURST} gets as separate trips (coalesce: false)`,
          unit: 'µs/op',
          async run() {
            await stack.flush();
            const chain = stack.chain({ coalesce: false });
            return sequentialMicros(n, (i) => burst(chain, groups[i]!));
          },
        },
      ],
      ctx.runs,
    );
    return {
      rows,
      checks: [
        exactly(`SQL queries for ${BURST} same-tick gets, coalesced`, together, 1),
        { label: `SQL queries for the same gets as separate trips`, value: apart, kind: 'count' },
        atLeast(`separate trips / coalesced`, med(rows, 'separate') / med(rows, 'coalesced'), 5),
      ],
      notes: [`${n} bursts per run, each of ${BURST} distinct cold keys; memcached flushed and memory empty before each run`],
    };
  },
};
