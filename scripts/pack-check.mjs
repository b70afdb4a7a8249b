#!/usr/bin/env node
// Packs every package under packages/*, installs all the tarballs, with the peers each needs at the
// versions the root package-lock.json resolved (or, run on a stack that replaces some of them, the
// versions of that stack's lock: stacks/README.md), into one empty project in a temp dir with a
// plain `npm install`, and checks
// there that every entry point of every `exports` map works from `require` and from `import`, and
// that the published declarations type-check for a consumer under `--module nodenext` (an ES module
// and a CommonJS file each). Prints one `pack-check: <entry point> <what> from <mode>` line per check.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = performance.now();

/** Runs a command; a failure carries the command's whole output, and one that hangs is killed. */
function run(cmd, args, cwd, timeout = 300_000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const why = error.killed ? `killed after ${timeout / 1000}s (an open handle?)` : `exit code ${error.code}`;
      reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${why}\n${stdout}${stderr}`));
    });
  });
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const lock = readJson(join(root, 'package-lock.json'));
const stackDir = process.env.STOCKPYLE_STACK_DIR;
const stackLock = stackDir === undefined ? undefined : readJson(join(stackDir, 'package-lock.json'));
const packages = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir, json: readJson(join(root, 'packages', dir, 'package.json')) }));
const ours = new Set(packages.map((p) => p.json.name));

/** The version the root install resolved for `name` as `dir`'s dependency (its own copy, else the hoisted one). */
function resolvedVersion(dir, name) {
  const version =
    stackLock?.packages[`node_modules/${name}`]?.version ??
    (lock.packages[`packages/${dir}/node_modules/${name}`] ?? lock.packages[`node_modules/${name}`])?.version;
  if (version === undefined) throw new Error(`pack-check: package-lock.json resolves no ${name} (needed by packages/${dir})`);
  return version;
}

// core/testing's contract suite runs inside the consumer's test runner, which brings these.
const TEST_RUNNER_PEERS = new Set(['@jest/globals', 'fast-check']);
// What a TypeScript consumer of these packages has besides their peers: Node's types, and a MikroORM
// driver to build an ORM with (never connected).
const CONSUMER_EXTRAS = [['@types/node', 'core'], ['@mikro-orm/postgresql', 'mikro-orm']];
// MikroORM 7 moved its decorators out of core, to @mikro-orm/decorators (`/legacy` for experimentalDecorators).
const MIKRO_ORM_MAJOR = Number(resolvedVersion('mikro-orm', '@mikro-orm/core').split('.')[0]);
if (MIKRO_ORM_MAJOR >= 7) CONSUMER_EXTRAS.push(['@mikro-orm/decorators', 'mikro-orm']);
const DECORATORS = MIKRO_ORM_MAJOR >= 7 ? '@mikro-orm/decorators/legacy' : '@mikro-orm/core';
/** A check's imports of `@mikro-orm/core` and of the decorators, from wherever this major keeps them. */
const mikroOrm = (core, decorators) =>
  DECORATORS === '@mikro-orm/core' ? { '@mikro-orm/core': [...core, ...decorators] } : { '@mikro-orm/core': core, [DECORATORS]: decorators };

/**
 * What each package's checks import and run, in a fresh process per package and mode. `body` runs
 * at the top level of an async function; `loopback()` is a TCP server on 127.0.0.1 that counts the
 * connections it gets, so a store can be shown to be released without ever connecting.
 * `types` is a consumer's TypeScript, compiled as .mts and .cts; its `@ts-expect-error` lines fail
 * the compile if a declaration resolved to `any`.
 */
const checks = {
  '@stockpyle/core': {
    imports: {
      '@stockpyle/core': ['Stockpyle', 'ProcessMemoryStore', 'DictionaryStore', 'ChainedStore', 'ConfigurationError', 'UnknownKeyError'],
      '@stockpyle/core/testing': ['CountingStore', 'FaultyStore', 'describeStoreContract', 'defaultFixtures'],
      '@stockpyle/core/opentelemetry': ['instrumentOpenTelemetry'],
    },
    body: `
      class Foo { constructor(id, zap, bar) { Object.assign(this, { id, zap, bar }); } }
      Stockpyle({ keys: ['id', ['zap', 'bar']] })(Foo);
      // The dictionary holds the codec's envelopes: the second chain decodes one and pulls it into memory.
      const dictionary = new DictionaryStore(new Map());
      await new ChainedStore([new ProcessMemoryStore(), dictionary]).put(new Foo(1, 2, 'x'));
      const memory = CountingStore.wrap(new ProcessMemoryStore());
      const chain = new ChainedStore([memory, dictionary]);
      const got = await chain.get(Foo, { bar: 'x', zap: 2 });
      assert.ok(got instanceof Foo && got.id === 1 && got.bar === 'x', 'round trip through the chain');
      assert.ok(memory.calls() > 0, 'CountingStore counted the chain\\'s calls');
      assert.equal((await memory.get(Foo, { id: 1 }))?.zap, 2, 'pulled into the memory tier');
      await assert.rejects(chain.get(Foo, { nope: 1 }), UnknownKeyError);
      assert.throws(() => new ChainedStore([]), ConfigurationError);
      assert.equal(typeof FaultyStore, 'function');
      assert.equal(typeof describeStoreContract, 'function');
      assert.equal(typeof defaultFixtures, 'object');
      // Against the global no-op provider of the optional peer @opentelemetry/api.
      const stopMetrics = instrumentOpenTelemetry(chain);
      assert.equal(typeof stopMetrics, 'function');
      stopMetrics();
      await chain.release();`,
    types: `
      import { ChainedStore, ConfigurationError, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';
      import { CountingStore, type ContractFixtures } from '@stockpyle/core/testing';
      import { instrumentOpenTelemetry } from '@stockpyle/core/opentelemetry';
      @Stockpyle({ keys: ['id'] })
      export class Foo { constructor(public id: number) {} }
      const memory = CountingStore.wrap(new ProcessMemoryStore());
      export const store: Store = new ChainedStore([memory]);
      export const one: Promise<Foo | undefined> = store.get(Foo, { id: 1 });
      export const calls: number = memory.calls('get');
      export const error: Error = new ConfigurationError('x');
      export type Fixtures = ContractFixtures;
      export const stopMetrics: () => void = instrumentOpenTelemetry(store);
      // @ts-expect-error a misspelt attribute is a compile error
      store.get(Foo, { idd: 1 });`,
  },
  '@stockpyle/memcache': {
    imports: {
      memjs: 'memjs',
      '@stockpyle/core': ['BaseCacheStore', 'ConfigurationError', 'StockpyleError', 'NEVER'],
      '@stockpyle/memcache': ['MemcacheStore', 'toMemcachedExpiry', 'MAX_RELATIVE_EXPIRY', 'DEFAULT_TIMEOUT_MS', 'DEFAULT_MAX_VALUE_BYTES', 'UnsafeKeyError'],
    },
    body: `
      const server = await loopback();
      try {
        const store = new MemcacheStore({ servers: [server.address] });
        assert.ok(store instanceof BaseCacheStore, 'one @stockpyle/core, shared with the consumer');
        await store.release();
        const client = memjs.Client.create(server.address, { retries: 0, logger: { log() {} } });
        await new MemcacheStore({ client }).release();
        client.close();
        assert.throws(() => new MemcacheStore({}), ConfigurationError);
        assert.throws(() => new MemcacheStore({ servers: ['127.0.0.1:99999'] }), /servers\\[0\\]/);
        assert.ok(UnsafeKeyError.prototype instanceof StockpyleError);
        assert.equal(toMemcachedExpiry(NEVER, Date.now()), 0);
        assert.equal(MAX_RELATIVE_EXPIRY, 30 * 24 * 60 * 60);
        assert.ok(DEFAULT_TIMEOUT_MS > 0 && DEFAULT_MAX_VALUE_BYTES > 0);
        assert.equal(server.connections(), 0, 'no store connected');
      } finally {
        await server.close();
      }`,
    types: `
      import type { Store } from '@stockpyle/core';
      import { Client } from 'memjs';
      import { DEFAULT_TIMEOUT_MS, MemcacheStore, toMemcachedExpiry, type MemcacheStoreOptions, type MemjsClient } from '@stockpyle/memcache';
      const options: MemcacheStoreOptions = { servers: ['127.0.0.1:11211'], timeout: DEFAULT_TIMEOUT_MS, lifetime: () => ({ minutes: 5 }) };
      export const store: Store = new MemcacheStore(options);
      export const client: MemjsClient = Client.create('127.0.0.1:11211');
      export const given: Store = new MemcacheStore({ client });
      export const expiry: number | undefined = toMemcachedExpiry(0, Date.now());
      // @ts-expect-error servers are 'host:port' strings
      export const bad: MemcacheStoreOptions = { servers: [11211] };`,
  },
  '@stockpyle/redis': {
    imports: {
      ioredis: ['Redis', 'Cluster'],
      '@stockpyle/core': ['BaseCacheStore', 'ConfigurationError'],
      '@stockpyle/redis': ['RedisStore', 'failFastOptions', 'failFastClusterOptions'],
    },
    body: `
      const server = await loopback();
      try {
        const store = new RedisStore({ url: 'redis://' + server.address });
        assert.ok(store instanceof BaseCacheStore, 'one @stockpyle/core, shared with the consumer');
        assert.ok(store.client instanceof Redis, 'one ioredis, shared with the consumer');
        await store.release();
        const cluster = new RedisStore({ url: [server.address] });
        assert.ok(cluster.client instanceof Cluster);
        await cluster.release();
        const client = new Redis('redis://' + server.address, failFastOptions());
        await new RedisStore({ client }).release();
        client.disconnect();
        assert.throws(() => new RedisStore({}), ConfigurationError);
        assert.throws(() => new RedisStore({ url: 'redis://' + server.address, timeout: 0 }), ConfigurationError);
        assert.equal(failFastClusterOptions().lazyConnect, true);
        assert.equal(server.connections(), 0, 'no store connected');
      } finally {
        await server.close();
      }`,
    types: `
      import type { Store } from '@stockpyle/core';
      import { Cluster, Redis } from 'ioredis';
      import { failFastClusterOptions, failFastOptions, RedisStore, type RedisStoreOptions } from '@stockpyle/redis';
      export const store = new RedisStore({ client: new Redis(failFastOptions()) });
      export const asStore: Store = store;
      export const client: Redis | Cluster = store.client;
      export const cluster: Store = new RedisStore({ client: new Cluster(['127.0.0.1:7000'], failFastClusterOptions()) });
      // @ts-expect-error timeout is a number of milliseconds
      export const bad: RedisStoreOptions = { url: 'redis://127.0.0.1', timeout: '500' };`,
  },
  '@stockpyle/mikro-orm': {
    imports: {
      ...mikroOrm(['MikroORM'], ['Entity', 'PrimaryKey', 'Property']),
      '@mikro-orm/postgresql': ['PostgreSqlDriver'],
      '@stockpyle/core': ['Stockpyle', 'getMetadata', 'ChainedStore', 'ProcessMemoryStore', 'ConfigurationError'],
      '@stockpyle/mikro-orm': ['MikroOrmStore', 'StockpyleSubscriber', 'UnloadedEntityError'],
    },
    body: `
      class Book {}
      PrimaryKey({ type: 'integer' })(Book.prototype, 'id');
      Property({ type: 'string' })(Book.prototype, 'title');
      Entity({ tableName: 'pack_check_book' })(Book);
      Stockpyle()(Book);
      assert.deepEqual(getMetadata(Book).keys.map((k) => k.attrs), [['id']], 'no keys: the primary key, from @stockpyle/mikro-orm');
      const orm = await MikroORM.init({
        driver: PostgreSqlDriver, clientUrl: 'postgresql://nobody@127.0.0.1:1/none', entities: [Book], connect: false, allowGlobalContext: false,
      });
      try {
        const database = new MikroOrmStore({ orm });
        const memory = new ProcessMemoryStore();
        const subscriber = new StockpyleSubscriber({ store: new ChainedStore([memory, database]) });
        orm.em.getEventManager().registerSubscriber(subscriber);
        assert.ok(orm.em.getEventManager().getSubscribers().has(subscriber));
        const book = orm.em.fork().create(Book, { id: 7, title: 'Dune' });
        await memory.put(book);
        const got = await memory.get(Book, { id: 7 });
        assert.ok(got instanceof Book && got.title === 'Dune', 'an entity round trip by its primary key');
        assert.throws(() => new MikroOrmStore({}), ConfigurationError);
        assert.throws(() => new MikroOrmStore({ em: {} }), /not an EntityManager/);
        assert.throws(() => new StockpyleSubscriber({ store: database }), ConfigurationError);
        assert.equal(typeof UnloadedEntityError, 'function');
      } finally {
        await orm.close(true);
      }`,
    types: `
      import { MikroORM } from '@mikro-orm/core';
      import { Entity, PrimaryKey } from '${DECORATORS}';
      import { ChainedStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
      import { MikroOrmStore, StockpyleSubscriber, type MikroOrmStoreOptions } from '@stockpyle/mikro-orm';
      @Stockpyle()
      @Entity()
      export class Book {
        @PrimaryKey()
        id!: number;
      }
      export function wire(orm: MikroORM): Promise<Book | undefined> {
        const chain = new ChainedStore([new ProcessMemoryStore(), new MikroOrmStore({ orm })]);
        orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: chain }));
        return chain.get(Book, { id: 1 });
      }
      // @ts-expect-error em must be an EntityManager
      export const bad: MikroOrmStoreOptions = { em: 1 };`,
  },
  '@stockpyle/nestjs': {
    imports: {
      '@nestjs/common': ['Injectable', 'Module'],
      '@nestjs/core': ['NestFactory'],
      ...mikroOrm(['MikroORM'], ['Entity', 'PrimaryKey']),
      '@mikro-orm/nestjs': ['MikroOrmModule'],
      '@mikro-orm/postgresql': ['PostgreSqlDriver'],
      '@stockpyle/core': ['ProcessMemoryStore', 'ConfigurationError'],
      '@stockpyle/mikro-orm': ['StockpyleSubscriber'],
      '@stockpyle/nestjs': ['StockpyleModule', 'getStoreToken', 'InjectStore', 'DEFAULT_STORE_NAME', 'StockpyleRequestContextMiddleware'],
    },
    body: `
      const store = new ProcessMemoryStore();
      const sessions = new ProcessMemoryStore();
      const dynamic = StockpyleModule.forRoot({ stores: { default: store, sessions } });
      assert.equal(dynamic.module, StockpyleModule);
      const tokens = dynamic.providers.map((p) => p.provide);
      assert.ok(tokens.includes(getStoreToken()) && tokens.includes(getStoreToken('sessions')), 'a provider per store');
      assert.deepEqual(dynamic.exports, [getStoreToken(DEFAULT_STORE_NAME), getStoreToken('sessions')]);
      assert.throws(() => StockpyleModule.forRoot(null), ConfigurationError);
      assert.equal(typeof StockpyleRequestContextMiddleware, 'function');

      class Catalog { constructor(store) { this.store = store; } }
      InjectStore('sessions')(Catalog, undefined, 0);
      Injectable()(Catalog);
      class AppModule {}
      Module({ imports: [dynamic], providers: [Catalog] })(AppModule);
      const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
      assert.equal(app.get(getStoreToken()), store);
      assert.equal(app.get(Catalog).store, sessions, 'InjectStore(name)');
      await app.close();

      // The subscriber option loads @stockpyle/mikro-orm and MikroORM lazily, from the installed packages.
      class Widget {}
      PrimaryKey({ type: 'integer' })(Widget.prototype, 'id');
      Entity({ tableName: 'pack_check_widget' })(Widget);
      class OrmAppModule {}
      Module({
        imports: [
          MikroOrmModule.forRoot({ driver: PostgreSqlDriver, dbName: 'never_connected', entities: [Widget], connect: false, ensureDatabase: false, registerRequestContext: false }),
          StockpyleModule.forRootAsync({ useFactory: () => ({ stores: { default: new ProcessMemoryStore() } }), subscriber: {} }),
        ],
      })(OrmAppModule);
      const ormApp = await NestFactory.createApplicationContext(OrmAppModule, { logger: false });
      const subscribers = [...ormApp.get(MikroORM).em.getEventManager().getSubscribers()];
      assert.equal(subscribers.filter((s) => s instanceof StockpyleSubscriber).length, 1, 'StockpyleSubscriber registered on the ORM');
      await ormApp.close();`,
    types: `
      import { Injectable, Module, type DynamicModule } from '@nestjs/common';
      import { ProcessMemoryStore, type Store } from '@stockpyle/core';
      import { getStoreToken, InjectStore, StockpyleModule, type StockpyleModuleOptions } from '@stockpyle/nestjs';
      export const dynamic: DynamicModule = StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() } });
      export const token: symbol = getStoreToken('sessions');
      @Injectable()
      export class Catalog { constructor(@InjectStore('sessions') readonly store: Store) {} }
      @Module({
        imports: [StockpyleModule.forRootAsync({ names: ['default'], useFactory: () => ({ stores: { default: new ProcessMemoryStore() } }), subscriber: {} })],
        providers: [Catalog],
      })
      export class AppModule {}
      // @ts-expect-error stores are required
      export const bad: StockpyleModuleOptions = {};`,
  },
};

/** Code that both the .cjs and the .mjs check of a package start with. */
const PRELUDE = `
async function loopback() {
  let connections = 0;
  const server = net.createServer((socket) => { connections += 1; socket.destroy(); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: '127.0.0.1:' + server.address().port, connections: () => connections, close: () => new Promise((resolve) => server.close(resolve)) };
}`;

function checkSources({ imports, body }) {
  const all = { 'node:assert/strict': 'assert', 'node:net': 'net', ...imports };
  const required = Object.entries(all).map(([from, names]) =>
    typeof names === 'string' ? `const ${names} = require('${from}');` : `const { ${names.join(', ')} } = require('${from}');`,
  );
  const imported = Object.entries(all).map(([from, names]) =>
    typeof names === 'string' ? `import ${names} from '${from}';` : `import { ${names.join(', ')} } from '${from}';`,
  );
  const main = `${PRELUDE}\nasync function main() {${body}\n}\n`;
  const end = `.then(() => console.log('ok'), (e) => { console.error(e); process.exitCode = 1; });\n`;
  return { cjs: `${required.join('\n')}\n${main}main()${end}`, mjs: `${imported.join('\n')}\n${main}await main()${end}` };
}

/** The published entry points of a package (its `exports` keys but ./package.json), as specifiers. */
function entryPoints(json) {
  return Object.keys(json.exports ?? { '.': null })
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? json.name : `${json.name}/${subpath.slice(2)}`));
}

/**
 * Every file the package.json points at is in the tarball, every source map's sources too, and
 * nothing but the build, the sources it maps to and the docs.
 */
function checkTarball(json, files) {
  const targetsOf = (value) => (typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap(targetsOf));
  for (const target of [json.main, json.types, ...targetsOf(json.exports)].filter((t) => t !== undefined)) {
    const path = target.replace(/^\.\//, '');
    if (!files.includes(path)) throw new Error(`pack-check: ${json.name}'s tarball has no ${path}, which its package.json points at`);
  }
  const stray = files.filter((f) => !/^(dist|src)\//.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f));
  if (stray.length > 0) throw new Error(`pack-check: ${json.name}'s tarball holds ${stray.join(', ')} (only dist/, src/ and the docs belong)`);
  const pkgDir = join(root, 'packages', packages.find((p) => p.json.name === json.name).dir);
  for (const map of files.filter((f) => f.endsWith('.map'))) {
    const { sources = [], sourcesContent } = readJson(join(pkgDir, map));
    const absent = sources.filter((source, i) => sourcesContent?.[i] == null && !files.includes(posix.join(posix.dirname(map), source)));
    if (absent.length > 0) throw new Error(`pack-check: ${json.name}'s ${map} maps to ${absent.join(', ')}, which the tarball does not hold`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'stockpyle-pack-'));
try {
  for (const { json } of packages) {
    if (checks[json.name] === undefined) throw new Error(`pack-check: no check written for ${json.name}; add one to scripts/pack-check.mjs`);
    const covered = Object.keys(checks[json.name].imports);
    const missing = entryPoints(json).filter((entry) => !covered.includes(entry) || !checks[json.name].types.includes(`'${entry}'`));
    if (missing.length > 0) throw new Error(`pack-check: the check of ${json.name} leaves out ${missing.join(', ')}`);
  }
  process.stdout.write(await run(process.execPath, [join(root, 'scripts/build.mjs')], root));

  const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', dir, ...packages.map((p) => `--workspace=packages/${p.dir}`)], root));
  const tarballs = packages.map(({ json }) => {
    const found = packed.find((p) => p.name === json.name);
    checkTarball(json, found.files.map((f) => f.path));
    return join(dir, found.filename);
  });

  const peers = new Map();
  for (const { dir: pkgDir, json } of packages) {
    for (const name of Object.keys(json.peerDependencies ?? {})) {
      if (!ours.has(name) && !TEST_RUNNER_PEERS.has(name)) peers.set(name, resolvedVersion(pkgDir, name));
    }
  }
  for (const [name, pkgDir] of CONSUMER_EXTRAS) peers.set(name, resolvedVersion(pkgDir, name));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-check', private: true }));
  const installAt = performance.now();
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, ...[...peers].map(([name, v]) => `${name}@${v}`)], dir);
  console.log(`pack-check: installed ${tarballs.length} tarballs and ${peers.size} peers in ${((performance.now() - installAt) / 1000).toFixed(1)}s`);

  const jobs = [];
  for (const { json } of packages) {
    const { cjs, mjs } = checkSources(checks[json.name]);
    const base = json.name.replace('@stockpyle/', 'check-');
    writeFileSync(join(dir, `${base}.cjs`), cjs);
    writeFileSync(join(dir, `${base}.mjs`), mjs);
    writeFileSync(join(dir, `${base}.cts`), checks[json.name].types);
    writeFileSync(join(dir, `${base}.mts`), checks[json.name].types);
    for (const [ext, mode] of [['cjs', 'require'], ['mjs', 'import']]) {
      jobs.push(
        run(process.execPath, [`${base}.${ext}`], dir, 60_000).then((out) => {
          if (out.trim() !== 'ok') throw new Error(`pack-check: ${base}.${ext} printed ${out}`);
          return entryPoints(json).map((entry) => `pack-check: ${entry} works from ${mode}`);
        }),
      );
    }
  }
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const tsFiles = readdirSync(dir).filter((f) => f.endsWith('.cts') || f.endsWith('.mts'));
  const tsFlags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--experimentalDecorators', '--noUnusedLocals'];
  jobs.push(
    run(process.execPath, [tsc, ...tsFlags, ...tsFiles], dir).then(() =>
      packages.flatMap(({ json }) => entryPoints(json).flatMap((entry) => ['require', 'import'].map((mode) => `pack-check: ${entry} type-checks from ${mode}`))),
    ),
  );
  const results = await Promise.allSettled(jobs);
  for (const line of results.flatMap((r) => (r.status === 'fulfilled' ? r.value : [])).sort()) console.log(line);
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  if (failures.length > 0) throw new Error(`pack-check: ${failures.length} check(s) failed\n\n${failures.join('\n\n')}`);
  console.log(`pack-check: done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
} finally {
  // PACK_CHECK_KEEP=1 leaves the project behind, to rerun a check or tsc there by hand.
  if (process.env.PACK_CHECK_KEEP === '1') console.log(`pack-check: kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
