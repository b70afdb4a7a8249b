#!/usr/bin/env node
// Builds every package to its dist/ (JavaScript + declarations), dependencies first.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const order = ['core', 'memcache', 'redis', 'mikro-orm', 'nestjs'];
const only = process.argv.slice(2);

for (const name of order) {
  if (only.length > 0 && !only.includes(name)) continue;
  const dir = join(root, 'packages', name);
  if (!existsSync(join(dir, 'src', 'index.ts'))) continue;
  const started = performance.now();
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
  console.log(`built @stockpyle/${name} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
