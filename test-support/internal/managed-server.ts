/**
 * One server process owned by the harness: started in its own temp dir, tied to this process's
 * life, probed until it answers, and stopped, signalled or restarted on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { wrapCommand } from './install';

/** A server started by the harness. Every server listens on 127.0.0.1 only. */
export interface ServiceHandle {
  /** What runs: `memcached`, `redis`, `redis-cluster-node`, `postgres`. */
  readonly name: string;
  /** Pid of the server process (it changes on `restart()`). */
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** How a client reaches it: `127.0.0.1:P`, `redis://127.0.0.1:P`, `postgresql://postgres@127.0.0.1:P/db`. */
  readonly url: string;
  /** The server's private temp dir (data, sockets, `server.log`); removed by `stop()`. */
  readonly dir: string;
  /** The server's stdout and stderr, for diagnosing a failure. */
  readonly logFile: string;
  /** Asks the server to shut down, waits, SIGKILLs it after a timeout, then removes its dir. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL) to the server. SIGKILL, SIGSTOP and SIGCONT, which a process
   * cannot handle itself, go to its child processes too, so a crash or hang hits the whole server.
   */
  kill(signal?: NodeJS.Signals): void;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void;
  /** Undoes `pause()` (SIGCONT). */
  resume(): void;
  /** Stops the server (or reaps it if it was killed) and starts it again on the same port. */
  restart(): Promise<void>;
}

/** How to launch and probe one server; see `ManagedServer`. */
export interface LaunchSpec {
  name: string;
  command: string;
  args: string[];
  /** OS user to run as (only when this process is root). */
  user?: string;
  port: number;
  url: string;
  dir: string;
  /** Signal that shuts the server down (SIGINT is PostgreSQL's "fast" shutdown). @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
  /** Resolves once the server answers; throws (to be retried) while it does not yet. */
  probe(): Promise<void>;
  /** @default 20_000 */
  readyTimeoutMs?: number;
  /** @default 10_000 */
  stopTimeoutMs?: number;
}

const HOST = '127.0.0.1';
const live = new Set<ManagedServer>();

/** Last resort when this process exits with servers still running: kill them and their dirs. */
function killAllOnExit(): void {
  for (const server of live) server.destroySync();
}

function track(server: ManagedServer): void {
  if (live.size === 0) process.on('exit', killAllOnExit);
  live.add(server);
}

function untrack(server: ManagedServer): void {
  live.delete(server);
  if (live.size === 0) process.off('exit', killAllOnExit);
}

/** `pid` and all its descendants, read from /proc (PostgreSQL backends are children of the postmaster). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Waits (blocking, at most `ms`) until the kernel reports each process stopped (`T` in
 * /proc/PID/stat): SIGSTOP is delivered asynchronously, and a worker thread may still answer a
 * request sent right after the signal.
 */
function waitUntilStopped(pids: readonly number[], ms: number): void {
  const deadline = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const stopped = (pid: number): boolean => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return true; // gone
    }
    return tasks.every((task) => {
      try {
        const state = readFileSync(`/proc/${pid}/task/${task}/stat`, 'latin1').replace(/^.*\) /s, '')[0];
        return state === 'T' || state === 't';
      } catch {
        return true;
      }
    });
  };
  // Every thread: memcached's workers answer requests, and a group stop reaches each on its own.
  while (!pids.every(stopped) && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
}

/** Whether 127.0.0.1:`port` can be listened on right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** The last lines of a log file, for error messages. */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A server process described by a `LaunchSpec`; implements `ServiceHandle`. */
export class ManagedServer implements ServiceHandle {
  readonly name: string;
  readonly host = HOST;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly logFile: string;
  #spec: LaunchSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #running = false;
  #dirRemoved = false;

  constructor(spec: LaunchSpec) {
    this.#spec = spec;
    this.name = spec.name;
    this.port = spec.port;
    this.url = spec.url;
    this.dir = spec.dir;
    this.logFile = join(spec.dir, 'server.log');
  }

  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  /** Spawns the server and waits until its probe succeeds; on failure kills it and throws with its log. */
  async start(): Promise<void> {
    const spec = this.#spec;
    // Otherwise the probe could get its answer from whatever holds the port.
    if (!(await isPortFree(this.port))) throw new Error(`${this.name}: port ${this.port} on ${HOST} is already in use`);
    const [command, ...args] = wrapCommand([spec.command, ...spec.args], spec.user);
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // detached: its own process group, so a Ctrl-C meant for the test runner does not hit it
      // before the runner can shut it down in order.
      child = spawn(command, args, { cwd: this.dir, detached: true, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.#child = child;
    this.#running = true;
    track(this);
    let exitReason: string | undefined;
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        exitReason = error.message;
        this.#running = false;
        resolve();
      });
      child.once('exit', (code, sig) => {
        exitReason = sig ? `signal ${sig}` : `code ${code}`;
        this.#running = false;
        resolve();
      });
    });
    child.unref(); // a forgotten server must not keep the process alive; the exit hook kills it

    const deadline = Date.now() + (spec.readyTimeoutMs ?? 20_000);
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!this.#running) {
        throw new Error(`${this.name} exited (${exitReason}) before it was ready:\n${tail(this.logFile)}`);
      }
      try {
        await spec.probe();
        return;
      } catch (error) {
        lastError = error;
        await sleep(25);
      }
    }
    await this.stop();
    throw new Error(
      `${this.name} on ${HOST}:${this.port} did not answer within ${spec.readyTimeoutMs ?? 20_000} ms ` +
        `(${(lastError as Error)?.message}):\n${tail(this.logFile)}`,
    );
  }

  async stop(): Promise<void> {
    await this.#shutdown();
    this.#removeDir();
    untrack(this);
  }

  kill(sig: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.#running) return;
    const wholeServer = sig === 'SIGKILL' || sig === 'SIGSTOP' || sig === 'SIGCONT';
    signal(wholeServer ? processTree(this.pid) : [this.pid], sig);
  }

  /** Returns once every process of the server is stopped: a request sent after it gets no answer. */
  pause(): void {
    if (!this.#running) return;
    const pids = processTree(this.pid);
    signal(pids, 'SIGSTOP');
    waitUntilStopped(pids, 1_000);
  }

  resume(): void {
    this.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.#shutdown();
    await this.start();
  }

  /** Synchronous kill and cleanup for the process 'exit' hook, where nothing async runs. */
  destroySync(): void {
    if (this.#running) signal(processTree(this.pid), 'SIGKILL');
    this.#removeDir();
  }

  /** Orderly shutdown with a SIGKILL fallback; keeps the dir so `restart()` can reuse it. */
  async #shutdown(): Promise<void> {
    if (!this.#running) return this.#exited;
    signal([this.pid], this.#spec.stopSignal ?? 'SIGTERM');
    signal(processTree(this.pid), 'SIGCONT'); // a paused server cannot act on the stop signal
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#spec.stopTimeoutMs ?? 10_000);
    });
    // The pending timer also keeps the process alive while we wait for the unref'd child.
    if (await Promise.race([this.#exited.then(() => false), timedOut])) signal(processTree(this.pid), 'SIGKILL');
    clearTimeout(timer);
    await this.#exited;
  }

  #removeDir(): void {
    if (this.#dirRemoved || !existsSync(this.dir)) return;
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    this.#dirRemoved = true;
  }
}
