import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TcpProxy } from '../tcp-proxy';

/** An echo server on loopback that records what it received. */
async function echoServer(): Promise<{ server: Server; port: number; received: () => string; sockets: Set<Socket> }> {
  let received = '';
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      received += data.toString();
      socket.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received: () => received, sockets };
}

/** A client connection that collects what it reads and how it ended. */
function client(proxy: TcpProxy): { socket: Socket; read: () => string; ended: Promise<string> } {
  const socket = connect({ host: proxy.host, port: proxy.port });
  let read = '';
  socket.on('data', (data) => (read += data.toString()));
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.on('close', () => resolve('close'));
  });
  return { socket, read: () => read, ended };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('TcpProxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;
  const sockets: Socket[] = [];
  const open = (): ReturnType<typeof client> => {
    const c = client(proxy);
    sockets.push(c.socket);
    return c;
  };

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await TcpProxy.start({ port: echo.port });
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await proxy.close();
    for (const s of echo.sockets) s.destroy();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  it('start() refuses a target that is not on loopback', async () => {
    await expect(TcpProxy.start({ host: '10.0.0.1', port: 80 })).rejects.toThrow(/loopback/);
  });

  it('listens on 127.0.0.1 and forwards both ways in pass mode', async () => {
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
    const c = open();
    c.socket.write('hello');
    await until(() => c.read() === 'hello');
    expect(echo.received()).toBe('hello');
    expect(proxy.connections).toBe(1);
  });

  it('latency(ms) delays each direction by ms and keeps the byte order', async () => {
    proxy.setMode({ kind: 'latency', ms: 100 });
    const c = open();
    await new Promise((resolve) => c.socket.once('connect', resolve));
    const start = Date.now();
    c.socket.write('a');
    await sleep(10);
    c.socket.write('b');
    c.socket.write('c');
    await until(() => c.read() === 'abc');
    expect(Date.now() - start).toBeGreaterThanOrEqual(190); // 100 ms there, 100 ms back
    proxy.setMode({ kind: 'pass' });
    c.socket.write('d');
    await until(() => c.read() === 'abcd');
  });

  it('a client that closes (FIN) after writing still has its bytes delivered, late, and then the close', async () => {
    proxy.setMode({ kind: 'latency', ms: 100 });
    const c = open();
    await new Promise((resolve) => c.socket.once('connect', resolve));
    c.socket.end('sent before the close');
    await sleep(30);
    expect(echo.received()).toBe('');
    await until(() => echo.received() === 'sent before the close');
    expect(await c.ended).toBe('close');
  });

  it('drop accepts and reads but forwards nothing; leaving it resets the damaged connection, new ones work', async () => {
    const before = open();
    before.socket.write('x');
    await until(() => before.read() === 'x');
    proxy.setMode({ kind: 'drop' });
    const during = open();
    during.socket.write('lost');
    before.socket.write('lost too');
    await sleep(150);
    expect(during.read()).toBe('');
    expect(echo.received()).toBe('x');
    expect(proxy.dropped).toBeGreaterThan(0);
    proxy.setMode({ kind: 'pass' });
    expect(await before.ended).toBe('ECONNRESET');
    expect(await during.ended).toBe('ECONNRESET');
    const after = open();
    after.socket.write('back');
    await until(() => after.read() === 'back');
  });

  it('drop hides the server going away: the client hears nothing until the mode changes', async () => {
    const c = open();
    c.socket.write('x');
    await until(() => c.read() === 'x');
    proxy.setMode({ kind: 'drop' });
    for (const s of echo.sockets) s.destroy();
    await sleep(100);
    expect(c.socket.destroyed).toBe(false);
    proxy.setMode({ kind: 'pass' });
    expect(await c.ended).toBe('ECONNRESET');
  });

  it('reset resets open connections and every new one, until the mode changes', async () => {
    const c = open();
    c.socket.write('x');
    await until(() => c.read() === 'x');
    proxy.setMode({ kind: 'reset' });
    expect(await c.ended).toBe('ECONNRESET');
    const refused = open();
    expect(await refused.ended).toBe('ECONNRESET');
    proxy.setMode({ kind: 'pass' });
    const after = open();
    after.socket.write('ok');
    await until(() => after.read() === 'ok');
  });

  it('half-open to-server lets requests reach the server and drops its replies', async () => {
    const c = open();
    await new Promise((resolve) => c.socket.once('connect', resolve));
    proxy.setMode({ kind: 'half-open', forward: 'to-server' });
    c.socket.write('acted on');
    await until(() => echo.received() === 'acted on');
    await sleep(50);
    expect(c.read()).toBe('');
    proxy.setMode({ kind: 'pass' });
    expect(await c.ended).toBe('ECONNRESET');
  });

  it('half-open to-client drops requests', async () => {
    const c = open();
    await new Promise((resolve) => c.socket.once('connect', resolve));
    proxy.setMode({ kind: 'half-open', forward: 'to-client' });
    c.socket.write('never');
    await sleep(100);
    expect(echo.received()).toBe('');
    expect(c.read()).toBe('');
  });

  it('a server closing its side closes the client side too', async () => {
    const c = open();
    c.socket.write('x');
    await until(() => c.read() === 'x');
    for (const s of echo.sockets) s.end();
    expect(await c.ended).toBe('close');
    await until(() => proxy.connections === 0);
  });

  it('close() resets every connection and stops listening', async () => {
    const c = open();
    c.socket.write('x');
    await until(() => c.read() === 'x');
    await proxy.close();
    expect(await c.ended).toBe('ECONNRESET');
    const late = connect({ host: '127.0.0.1', port: proxy.port });
    const result = await new Promise<string>((resolve) => late.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')));
    expect(result).toBe('ECONNREFUSED');
    proxy = await TcpProxy.start({ port: echo.port }); // for afterEach
  });
});
