import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');

/** Every published entry point: each package's `exports` subpaths but ./package.json. */
function entryPoints(): string[] {
  return readdirSync(join(root, 'packages'))
    .map((dir) => join(root, 'packages', dir, 'package.json'))
    .filter((file) => existsSync(file))
    .flatMap((file) => {
      const { name, exports } = JSON.parse(readFileSync(file, 'utf8')) as { name: string; exports?: Record<string, unknown> };
      return Object.keys(exports ?? { '.': null })
        .filter((subpath) => subpath !== './package.json')
        .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`));
    });
}

describe('packaging', () => {
  it('npm pack of every package installs into one empty project, works from require and import, and type-checks there', () => {
    const out = execFileSync(process.execPath, [join(root, 'scripts/pack-check.mjs')], { encoding: 'utf8' });
    const lines = out.split('\n');
    const entries = entryPoints();
    expect(entries).toEqual(expect.arrayContaining(['@stockpyle/core', '@stockpyle/core/testing', '@stockpyle/memcache', '@stockpyle/redis', '@stockpyle/mikro-orm', '@stockpyle/nestjs']));
    for (const entry of entries) {
      for (const mode of ['require', 'import']) {
        expect(lines).toContain(`pack-check: ${entry} works from ${mode}`);
        expect(lines).toContain(`pack-check: ${entry} type-checks from ${mode}`);
      }
    }
  }, 600_000);
});
