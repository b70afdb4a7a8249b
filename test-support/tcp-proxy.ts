/**
 * A loopback TCP proxy for fault tests: sits between a client and a real server and, switched at
 * run time, passes bytes, delays them, black-holes them, resets connections or cuts one direction.
 * Unlike killing or freezing the server, it hits the network path only, so the server keeps
 * answering every other client.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

const HOST = '127.0.0.1';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * What the proxy does with traffic:
 * - `pass`: forwards both ways. A side that closes (FIN) is closed on the other side once what it
 *   sent before has been delivered, as TCP would; a reset (RST) is passed on at once.
 * - `latency`: forwards both ways, each chunk `ms` later than it arrived (order is kept).
 * - `drop`: accepts connections and reads their bytes but forwards nothing, either way, like a
 *   network that lost every packet. A connection that lost bytes is broken (its stream has a
 *   gap), so it is reset when the proxy leaves this mode.
 * - `reset`: resets every open connection (TCP RST, on both sides) and each new one at once.
 * - `half-open`: forwards one direction only — `to-server` keeps requests flowing and drops the
 *   replies (the server acts, the client never hears), `to-client` the reverse. Connections that
 *   lost bytes are reset when the proxy leaves this mode.
 */
export type ProxyMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'latency'; readonly ms: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'half-open'; readonly forward: 'to-server' | 'to-client' };

type Direction = 'to-server' | 'to-client';

/** One client connection and its upstream twin. */
class Link {
  readonly #proxy: TcpProxy;
  readonly client: Socket;
  /** Not connected for a link accepted in `drop` mode: nothing may reach the server. */
  readonly upstream: Socket | undefined;
  /** Bytes were dropped on this link: its streams have a gap and it must not be used again. */
  broken = false;
  readonly #queues: Record<Direction, { at: number; data: Buffer }[]> = { 'to-server': [], 'to-client': [] };
  readonly #timers: Record<Direction, NodeJS.Timeout | undefined> = { 'to-server': undefined, 'to-client': undefined };
  /** The sending side closed its half (FIN): pass it on once what it sent before is delivered. */
  readonly #ending: Record<Direction, boolean> = { 'to-server': false, 'to-client': false };
  #upstreamReady = false;
  #closed = false;

  constructor(proxy: TcpProxy, client: Socket, target: { host: string; port: number } | undefined) {
    this.#proxy = proxy;
    this.client = client;
    client.setNoDelay(true);
    client.on('data', (data) => this.#receive('to-server', data));
    client.on('end', () => this.#end('to-server'));
    client.on('error', () => this.close(true));
    client.on('close', () => this.#maybeDone());
    if (target === undefined) {
      this.broken = true;
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.once('connect', () => {
      this.#upstreamReady = true;
      this.#pump('to-server');
    });
    upstream.on('data', (data) => this.#receive('to-client', data));
    // Whatever the server does (end, reset), the client gets the same — except in `drop` mode,
    // where the client can no more hear of it than of anything else.
    upstream.on('end', () => (this.#proxy.mode.kind === 'drop' ? (this.broken = true) : this.#end('to-client')));
    upstream.on('error', () => (this.#proxy.mode.kind === 'drop' ? (this.broken = true) : this.close(true)));
    upstream.on('close', () => this.#maybeDone());
  }

  #receive(direction: Direction, data: Buffer): void {
    const mode = this.#proxy.mode;
    if (mode.kind === 'drop' || (mode.kind === 'half-open' && mode.forward !== direction)) {
      this.broken = true;
      this.#proxy.dropped += data.length;
      return;
    }
    const delay = mode.kind === 'latency' ? mode.ms : 0;
    this.#queues[direction].push({ at: Date.now() + delay, data });
    this.#pump(direction);
  }

  #end(direction: Direction): void {
    this.#ending[direction] = true;
    this.#pump(direction);
  }

  /** Writes what is due in `direction`, in arrival order, and waits for the rest; then passes on a FIN. */
  #pump(direction: Direction): void {
    if (this.#closed || this.#timers[direction] !== undefined) return;
    if (direction === 'to-server' && !this.#upstreamReady) {
      if (this.#ending[direction] && this.upstream === undefined) this.close(false);
      return;
    }
    const queue = this.#queues[direction];
    const out = direction === 'to-server' ? this.upstream! : this.client;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { data } = queue.shift()!;
      out.write(data);
      this.#proxy.forwarded += data.length;
    }
    if (queue.length > 0) {
      this.#timers[direction] = setTimeout(() => {
        this.#timers[direction] = undefined;
        this.#pump(direction);
      }, queue[0]!.at - now);
    } else if (this.#ending[direction] && !out.writableEnded) {
      out.end();
    }
  }

  #maybeDone(): void {
    if (this.client.destroyed && (this.upstream === undefined || this.upstream.destroyed)) this.close(false);
  }

  /** Closes both sides at once: with an RST when `reset` (queued bytes are lost), else with a FIN. */
  close(reset: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of Object.values(this.#timers)) if (timer !== undefined) clearTimeout(timer);
    for (const socket of [this.client, this.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      if (reset && socket.readyState !== 'opening') socket.resetAndDestroy();
      else socket.destroy();
    }
    this.#proxy.forget(this);
  }
}

/** A running proxy; see `ProxyMode`. Listens on 127.0.0.1 only and forwards only to loopback. */
export class TcpProxy {
  readonly host = HOST;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
  /** Bytes forwarded and dropped so far, both directions. */
  forwarded = 0;
  dropped = 0;
  #mode: ProxyMode = { kind: 'pass' };
  readonly #server: Server;
  readonly #links = new Set<Link>();

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    this.target = target;
  }

  /** Starts a proxy on 127.0.0.1 (a free port) in `pass` mode, forwarding to `target` on loopback. */
  static async start(target: { host?: string; port: number }): Promise<TcpProxy> {
    const host = target.host ?? HOST;
    if (!LOOPBACK.has(host)) throw new Error(`TcpProxy forwards to loopback only, not ${host}`);
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new Error(`TcpProxy: bad target port ${target.port}`);
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const proxy = new TcpProxy(server, { host, port: target.port });
    server.on('connection', (socket) => proxy.#accept(socket));
    return proxy;
  }

  /** `127.0.0.1:PORT`, as memcached clients take it. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Connections open through the proxy now. */
  get connections(): number {
    return this.#links.size;
  }

  /** Switches mode for open and new connections; leaving `drop`/`half-open` resets links that lost bytes. */
  setMode(mode: ProxyMode): void {
    if (mode.kind === 'latency' && !(mode.ms >= 0)) throw new Error('TcpProxy: latency needs ms >= 0');
    this.#mode = mode;
    if (mode.kind === 'reset') {
      for (const link of [...this.#links]) link.close(true);
    } else {
      for (const link of [...this.#links]) if (link.broken) link.close(true);
    }
  }

  /** Stops listening and closes every connection with an RST. */
  async close(): Promise<void> {
    for (const link of [...this.#links]) link.close(true);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    if (this.#mode.kind === 'reset') {
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    this.#links.add(new Link(this, socket, this.#mode.kind === 'drop' ? undefined : this.target));
  }

  /** Called by a link when it closes. */
  forget(link: Link): void {
    this.#links.delete(link);
  }
}
