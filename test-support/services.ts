/**
 * Real servers for integration tests: memcached, redis-server (standalone and cluster) and
 * PostgreSQL from the system, each on a free 127.0.0.1 port in its own temp dir, dying with this
 * process. Used by scripts/test.mjs for the shared servers and by tests that need private ones
 * to kill, pause or restart.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './eventually';
import { ensureInstalled, findPgBinDir, isRoot, userIds, which, type ServiceKind } from './internal/install';
import { isPortFree, ManagedServer, type ServiceHandle } from './internal/managed-server';
import { memcachedVersion, pgQuery, redisClusterInfo, redisCommand } from './internal/probes';

export { ensureInstalled, memcachedVersion, pgQuery, redisClusterInfo, redisCommand };
export type { ServiceHandle, ServiceKind };

const HOST = '127.0.0.1';
const execFileAsync = promisify(execFile);

/** Options every `start*()` takes. */
export interface StartOptions {
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Appended to the server's command line. */
  extraArgs?: string[];
}

/**
 * Ports this process has handed out: the services start concurrently, and the OS may hand the same
 * free port to two of them (or one's cluster bus port to another) before either has bound it.
 */
const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1, as the OS hands one out for port 0, never one handed out before here. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await osFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('the OS kept handing out ports already in use by this process');
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function binary(command: string): string {
  const path = which(command);
  if (!path) throw new Error(`${command} is not installed; run ensureInstalled() as root or apt-get install it`);
  return path;
}

const DIR_PREFIX = 'stockpyle-service-';
let swept = false;

/** Whether the process that made a server dir is gone (not merely unknown or another user's). */
function ownerIsGone(dir: string): boolean {
  try {
    process.kill(Number(readFileSync(join(dir, 'owner.pid'), 'utf8')), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes dirs left by harness processes that were SIGKILLed (their servers died with them). */
function sweepStaleDirs(): void {
  swept = true;
  for (const entry of readdirSync(tmpdir()).filter((name) => name.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), entry);
    try {
      if (ownerIsGone(dir)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours to remove
    }
  }
}

/** A private temp dir for one server, tagged with our pid so a later run can clean up after a crash. */
function makeDir(name: string): string {
  if (!swept) sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${name}-`));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

/** Runs a tool to completion (as `user` when root); rejects with its output, which it otherwise hides. */
async function runTool(argv: string[], user?: string): Promise<void> {
  const [command, ...args] = user && isRoot() ? ['runuser', '-u', user, '--', ...argv] : argv;
  try {
    await execFileAsync(command, args, { timeout: 60_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${argv.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Starts the server and, if it never becomes ready, removes its dir before rethrowing. */
async function launch(server: ManagedServer): Promise<ManagedServer> {
  try {
    await server.start();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** memcached on 127.0.0.1 (TCP only); ready once it answers `version`. URL: `127.0.0.1:PORT`. */
export async function startMemcached(options: StartOptions = {}): Promise<ServiceHandle> {
  const port = options.port ?? (await freePort());
  const args = ['-l', HOST, '-p', String(port), '-U', '0', ...(isRoot() ? ['-u', 'root'] : [])];
  return launch(
    new ManagedServer({
      name: 'memcached',
      command: binary('memcached'),
      args: [...args, ...(options.extraArgs ?? [])],
      port,
      url: `${HOST}:${port}`,
      dir: makeDir('memcached'),
      // memcached acts on SIGTERM only at its next one-second clock tick, and has nothing to save
      stopSignal: 'SIGKILL',
      probe: () => memcachedVersion(HOST, port, 500).then(() => undefined),
    }),
  );
}

/** redis-server arguments shared by standalone and cluster nodes: loopback, nothing persisted. */
function redisArgs(port: number, dir: string): string[] {
  return [
    ...['--bind', HOST, '--port', String(port), '--dir', dir, '--daemonize', 'no'],
    ...['--save', '', '--appendonly', 'no'],
  ];
}

async function redisPing(port: number): Promise<void> {
  const reply = await redisCommand(HOST, port, ['PING'], 500);
  if (reply !== 'PONG') throw new Error(`redis answered ${String(reply)} to PING`);
}

/** A standalone redis-server that persists nothing; ready once it answers PING. URL: `redis://127.0.0.1:PORT`. */
export async function startRedis(options: StartOptions = {}): Promise<ServiceHandle> {
  const command = binary('redis-server');
  const port = options.port ?? (await freePort());
  const dir = makeDir('redis');
  return launch(
    new ManagedServer({
      name: 'redis',
      command,
      args: [...redisArgs(port, dir), ...(options.extraArgs ?? [])],
      port,
      url: `redis://${HOST}:${port}`,
      dir,
      probe: () => redisPing(port),
    }),
  );
}

/** A running Redis cluster: its master nodes and how to stop them all. */
export interface RedisClusterHandle {
  readonly name: 'redis-cluster';
  readonly nodes: ServiceHandle[];
  /** Seed list as in STOCKPYLE_REDIS_CLUSTER_NODES: `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`. */
  readonly url: string;
  /** Waits until every node reports `cluster_state:ok` (e.g. after restarting one). */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Number of master nodes (no replicas); redis-cli needs at least 3. @default 3 */
  masters?: number;
  /** Appended to every node's command line. */
  extraArgs?: string[];
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535 || taken.has(port) || taken.has(port + 10_000) || handedOut.has(port + 10_000)) continue;
    if (!(await isPortFree(port + 10_000))) continue;
    handedOut.add(port + 10_000);
    return port;
  }
  throw new Error('found no free port pair for a Redis cluster node');
}

async function clusterOk(port: number): Promise<void> {
  const info = await redisClusterInfo(HOST, port, 500);
  if (info.cluster_state !== 'ok') throw new Error(`cluster_state is ${info.cluster_state} on port ${port}`);
}

/**
 * `masters` redis-server nodes joined by `redis-cli --cluster create` (no replicas); ready once
 * every node reports `cluster_state:ok`. A restarted node keeps its nodes.conf and rejoins.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const [command, cli] = [binary('redis-server'), binary('redis-cli')];
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  let formed = false;
  const started = await Promise.allSettled(
    ports.map((port) => {
      const dir = makeDir('redis-cluster');
      return launch(
        new ManagedServer({
          name: 'redis-cluster-node',
          command,
          args: [
            ...redisArgs(port, dir),
            ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
            ...['--cluster-node-timeout', '5000'],
            ...(options.extraArgs ?? []),
          ],
          port,
          url: `redis://${HOST}:${port}`,
          dir,
          // before the cluster is formed a node is ready when it answers; after, when it is back in the cluster
          probe: () => (formed ? clusterOk(port) : redisPing(port)),
        }),
      );
    }),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  const waitUntilHealthy = (timeoutMs = 20_000): Promise<void> =>
    eventually(
      async () => {
        await Promise.all(ports.map(clusterOk));
      },
      timeoutMs,
      50,
    );
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const seeds = ports.map((port) => `${HOST}:${port}`);
    await runTool([cli, '--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes']);
    await waitUntilHealthy();
    formed = true;
  } catch (error) {
    await stop();
    throw error;
  }
  const url = ports.map((port) => `${HOST}:${port}`).join(',');
  return { name: 'redis-cluster', nodes, url, waitUntilHealthy, stop };
}

export interface PostgresOptions extends StartOptions {
  /** Database created for the tests. @default 'stockpyle_test' */
  database?: string;
}

/** OS user that owns the cluster when we are root (initdb and postgres refuse to run as root). */
const PG_OS_USER = 'postgres';

/**
 * A throwaway PostgreSQL cluster: initdb (trust auth, superuser `postgres`) into a temp dir,
 * durability off for speed, unix socket in that dir; ready once it accepts a login, then
 * `database` is created. URL: `postgresql://postgres@127.0.0.1:PORT/stockpyle_test`.
 * Unlike the caches, a restarted PostgreSQL keeps its data, as a real one would.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<ServiceHandle> {
  const bin = findPgBinDir();
  if (!bin) {
    throw new Error('PostgreSQL is not installed: run ensureInstalled() or apt-get install postgresql');
  }
  const asRoot = isRoot();
  const owner = asRoot ? userIds(PG_OS_USER) : undefined;
  const port = options.port ?? (await freePort());
  const database = options.database ?? 'stockpyle_test';
  const dir = makeDir('postgres');
  const data = join(dir, 'data');
  const server = new ManagedServer({
    name: 'postgres',
    command: join(bin, 'postgres'),
    args: [
      ...['-D', data, '-p', String(port), '-c', `listen_addresses=${HOST}`, '-c', `unix_socket_directories=${dir}`],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...(options.extraArgs ?? []),
    ],
    user: asRoot ? PG_OS_USER : undefined,
    port,
    url: `postgresql://postgres@${HOST}:${port}/${database}`,
    dir,
    stopSignal: 'SIGINT', // "fast" shutdown: SIGTERM would wait for every client to disconnect
    probe: () => pgQuery(HOST, port, { user: 'postgres', database: 'postgres', sql: 'SELECT 1', timeoutMs: 1_000 }),
  });
  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const initdb = join(bin, 'initdb');
    const initdbArgs = ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-locale'];
    await runTool([initdb, ...initdbArgs], PG_OS_USER);
    await server.start();
    await pgQuery(HOST, port, { user: 'postgres', database: 'postgres', sql: `CREATE DATABASE "${database}"` });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
