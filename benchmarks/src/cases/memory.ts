import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchCase } from '../case';
import { atMost, measureRows } from '../harness';

const MB = 1024 * 1024;
const run = promisify(execFile);

interface ChildReport {
  growth: number;
  peak: number;
  buffers: number;
  entries: number;
  calculatedSize: number;
  putMicros: number;
}

/** Case 7: a million puts of 1 KB objects stay within `maxSize` on the real heap. */
export const memoryBound: BenchCase = {
  id: 7,
  title: 'Memory: puts of 1 KB objects into ProcessMemoryStore({ maxSize })',
  needs: [],
  async run(ctx) {
    const puts = ctx.quick ? 100_000 : 1_000_000;
    const maxSize = (ctx.quick ? 8 : 64) * MB;
    // max (entries) as high as the puts, so that maxSize alone bounds the store.
    const max = puts;
    const benchDir = join(__dirname, '..', '..');
    const reports: ChildReport[] = [];
    const once = async (): Promise<ChildReport> => {
      const { stdout } = await run(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join('src', 'memory-child.ts'), String(puts), String(maxSize), String(max)],
        { cwd: benchDir, env: { ...process.env, TSX_TSCONFIG_PATH: join(benchDir, 'tsconfig.json') }, maxBuffer: 1 << 20 },
      );
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport;
      reports.push(report);
      return report;
    };
    const runs = ctx.quick ? 1 : 3;
    const rows = await measureRows(
      [
        {
          id: 'growth',
          label: `heap growth after ${puts.toLocaleString('en')} puts, maxSize ${maxSize / MB} MB (after GC)`,
          unit: 'MB',
          run: async () => (await once()).growth / MB,
        },
      ],
      runs,
      0,
    );
    const last = reports[reports.length - 1]!;
    const growth = rows[0]!.median * MB;
    return {
      rows,
      checks: [atMost('heap growth / maxSize', growth / maxSize, 1.5)],
      notes: [
        `${runs} run(s), each in a fresh \`node --expose-gc\`; max: ${max.toLocaleString('en')} entries so that maxSize alone bounds the store`,
        `last run: ${last.entries.toLocaleString('en')} entries held, estimated ${(last.calculatedSize / MB).toFixed(1)} MB, ` +
          `peak growth before GC ${(last.peak / MB).toFixed(0)} MB, ArrayBuffers +${(last.buffers / MB).toFixed(1)} MB, ${last.putMicros.toFixed(2)} µs per put`,
      ],
    };
  },
};
