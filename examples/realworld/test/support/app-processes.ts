import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AppProcessReply } from './app-process';

const HOOKS = join(__dirname, 'swc-hooks.cjs');
const ENTRY = join(__dirname, 'app-process.ts');

/** One app process (test/support/app-process.ts) on a loopback port, started and asked over IPC. */
export class AppProcess {
  readonly #child: ChildProcess;
  readonly #replies: AppProcessReply[] = [];
  readonly #waiting: ((reply: AppProcessReply) => void)[] = [];
  readonly #exited: Promise<number | null>;
  #url = '';

  private constructor(readonly name: string, env: Record<string, string>) {
    // The Node the tests run on, without jest's NODE_OPTIONS (vm modules), with swc compiling the TypeScript.
    this.#child = fork(ENTRY, [], {
      execPath: process.execPath,
      execArgv: ['--require', HOOKS],
      env: { ...process.env, NODE_OPTIONS: '', ...env, HOST: '127.0.0.1', PORT: '0' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply: AppProcessReply) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#replies.push(reply);
      else waiter(reply);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** Starts the app with these environment variables (see src/app-config.ts) and waits until it listens. */
  static async start(name: string, env: Record<string, string>): Promise<AppProcess> {
    const app = new AppProcess(name, env);
    const first = await Promise.race([app.#next(), app.#exited.then((code) => ({ exited: code }))]);
    if (!('ready' in first)) throw new Error(`app process ${name} did not start: ${JSON.stringify(first)}`);
    app.#url = first.url;
    return app;
  }

  /** The API's base URL, http://127.0.0.1:<port>/api. */
  get url(): string {
    return this.#url;
  }

  /** SQL statements by kind since the last call; the count restarts. */
  async queries(): Promise<Record<string, number>> {
    this.#child.send({ op: 'queries' });
    const reply = await this.#next();
    if (!('queries' in reply)) throw new Error(`app process ${this.name} answered ${JSON.stringify(reply)}`);
    return reply.queries;
  }

  /**
   * Closes the app and waits for the process to end by itself: it must, with nothing left open
   * (server, Redis, bus, pool). After 15 s it is killed and this throws.
   */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.send({ op: 'quit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    const code = await this.#exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`app process ${this.name} did not end by itself after closing (exit ${code})`);
  }

  #next(): Promise<AppProcessReply> {
    const queued = this.#replies.shift();
    return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => this.#waiting.push(resolve));
  }
}
