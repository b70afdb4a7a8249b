#!/usr/bin/env node
// Packs @stockpyle/core, installs the tarball into an empty project in a temp dir, and checks that
// it works there from `require` and from `import`, including the `testing` subpath.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const dir = mkdtempSync(join(tmpdir(), 'stockpyle-pack-'));
try {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'core'], { stdio: 'inherit' });
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', dir], join(root, 'packages/core')).trim().split('\n').pop();
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-check', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--silent', join(dir, tarball)], dir);
  const body = (load) => `${load}
const { Stockpyle, ProcessMemoryStore, ChainedStore } = core;
class Foo { constructor(id, zap, bar) { Object.assign(this, { id, zap, bar }); } }
Stockpyle({ keys: ['id', ['zap', 'bar']] })(Foo);
const store = new ChainedStore([new ProcessMemoryStore(), new ProcessMemoryStore()]);
await store.put(new Foo(1, 2, 'x'));
const got = await store.get(Foo, { bar: 'x', zap: 2 });
if (!(got instanceof Foo) || got.id !== 1) throw new Error('round trip failed');
if (typeof testing.CountingStore.wrap !== 'function') throw new Error('testing subpath missing');
console.log('ok');`;
  writeFileSync(join(dir, 'check.cjs'), `(async () => {\n${body("const core = require('@stockpyle/core'); const testing = require('@stockpyle/core/testing');")}\n})().catch((e) => { console.error(e); process.exit(1); });`);
  writeFileSync(join(dir, 'check.mjs'), body("import * as core from '@stockpyle/core'; import * as testing from '@stockpyle/core/testing';"));
  for (const file of ['check.cjs', 'check.mjs']) {
    const out = run(process.execPath, [file], dir).trim();
    if (out !== 'ok') throw new Error(`${file} printed ${out}`);
    console.log(`pack-check: @stockpyle/core works from ${file.endsWith('.cjs') ? 'require' : 'import'}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
