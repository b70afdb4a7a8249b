/**
 * Raw-protocol probes: each speaks just enough of a server's wire protocol over one short TCP
 * connection to tell whether it answers, with no client library, so the harness and tests can
 * check a server without depending on the code under test.
 */
import { connect } from 'node:net';

const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * Opens one connection, writes `request`, and resolves with what `complete` returns once that is
 * not `undefined` (it sees all bytes read so far and may write more, for multi-step exchanges);
 * rejects on a socket error, early close or timeout.
 */
function converse<T>(
  host: string,
  port: number,
  request: Buffer | string,
  complete: (received: Buffer, write: (data: Buffer | string) => void) => T | undefined,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(value as T);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${host}:${port} did not answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`${host}:${port} closed the connection before answering`)));
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const value = complete(received, (data) => socket.write(data));
        if (value !== undefined) finish(undefined, value);
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/** Asks memcached for its `version` (text protocol); resolves with e.g. `"1.6.18"`. */
export function memcachedVersion(host: string, port: number, timeoutMs?: number): Promise<string> {
  return converse(
    host,
    port,
    'version\r\n',
    (received) => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n');
      if (end < 0) return undefined;
      const line = text.slice(0, end);
      if (!line.startsWith('VERSION ')) throw new Error(`memcached answered ${JSON.stringify(line)} to version`);
      return line.slice('VERSION '.length);
    },
    timeoutMs,
  );
}

/** A RESP reply as far as the probes need one: simple/bulk string, integer or nil. */
export type RespValue = string | number | null;

/** Parses one RESP2 reply from the start of `buffer`; `undefined` while it is incomplete. */
function parseResp(buffer: Buffer): RespValue | undefined {
  const end = buffer.indexOf('\r\n');
  if (end < 0) return undefined;
  const line = buffer.toString('latin1', 1, end);
  switch (String.fromCharCode(buffer[0])) {
    case '+':
      return line;
    case '-':
      throw new Error(`redis replied with an error: ${line}`);
    case ':':
      return Number(line);
    case '$': {
      const length = Number(line);
      if (length < 0) return null;
      const start = end + 2;
      if (buffer.length < start + length + 2) return undefined;
      return buffer.toString('utf8', start, start + length);
    }
    default:
      throw new Error(`unexpected RESP reply ${JSON.stringify(buffer.toString('latin1', 0, end))}`);
  }
}

/** Sends one command to Redis in raw RESP and resolves with its (non-array) reply. */
export function redisCommand(host: string, port: number, args: string[], timeoutMs?: number): Promise<RespValue> {
  const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return converse(host, port, request, parseResp, timeoutMs);
}

/** Reads `CLUSTER INFO` from one Redis cluster node as a key/value record. */
export async function redisClusterInfo(
  host: string,
  port: number,
  timeoutMs?: number,
): Promise<Record<string, string>> {
  const reply = await redisCommand(host, port, ['CLUSTER', 'INFO'], timeoutMs);
  const info: Record<string, string> = {};
  for (const line of String(reply).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) info[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return info;
}

/** Builds one PostgreSQL frontend message: type byte (none for the startup message), length, body. */
function pgMessage(type: string | undefined, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([type ? Buffer.from(type, 'latin1') : Buffer.alloc(0), length, body]);
}

/** The `M` (message) field of a PostgreSQL ErrorResponse body. */
function pgErrorText(body: Buffer): string {
  const fields = body.toString('utf8').split('\0');
  const message = fields.find((field) => field.startsWith('M'));
  const code = fields.find((field) => field.startsWith('C'));
  return `${message ? message.slice(1) : 'unknown error'}${code ? ` (SQLSTATE ${code.slice(1)})` : ''}`;
}

/**
 * Logs in to PostgreSQL with trust authentication and runs one simple-protocol query (results
 * are discarded). Rejects with the server's message when it refuses, e.g. while starting up.
 */
export function pgQuery(
  host: string,
  port: number,
  options: { user: string; database: string; sql: string; timeoutMs?: number },
): Promise<void> {
  const startup = Buffer.alloc(4);
  startup.writeInt32BE(196608); // protocol 3.0
  const parameters = Buffer.from(`user\0${options.user}\0database\0${options.database}\0\0`, 'utf8');
  let offset = 0;
  let querySent = false;
  return converse<true>(
    host,
    port,
    pgMessage(undefined, Buffer.concat([startup, parameters])),
    (received, write) => {
      while (received.length >= offset + 5) {
        const type = String.fromCharCode(received[offset]);
        const length = received.readInt32BE(offset + 1);
        if (received.length < offset + 1 + length) return undefined;
        const body = received.subarray(offset + 5, offset + 1 + length);
        offset += 1 + length;
        if (type === 'E') throw new Error(`postgres at ${host}:${port}: ${pgErrorText(body)}`);
        if (type === 'R' && body.readInt32BE(0) !== 0) {
          throw new Error(`postgres at ${host}:${port} asks for a password; the harness expects trust authentication`);
        }
        if (type === 'Z') {
          if (querySent) return true;
          querySent = true;
          write(pgMessage('Q', Buffer.from(`${options.sql}\0`, 'utf8')));
        }
      }
      return undefined;
    },
    options.timeoutMs,
  ).then(() => undefined);
}
