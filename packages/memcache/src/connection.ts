import type { Socket } from 'node:net';
import { TierUnavailableError, TimeoutError, chunkIndexes, runBounded, withDeadline } from '@stockpyle/core';
import type { Response, Server } from 'memjs';
import { assertSafeKey, encodeBatch, type WireReply, type WireRequest } from './binary-protocol';

/**
 * What this package reads of a memjs 1.3 `Server` beyond its typed surface: the live socket, so a
 * socket given up on can be destroyed and kept from disturbing its successor (see `guard`).
 */
interface ServerInternals {
  _socket?: Socket;
  connected: boolean;
  timeoutSet: boolean;
  /** Hands one parsed reply to the callback registered under its opaque. */
  respond(response: Response): void;
  requestTimeouts: number[];
  errorCallbacks: Record<number, unknown>;
}

const internals = (server: Server): ServerInternals => server as unknown as ServerInternals;

// memjs numbers its own requests from 1 upwards in a signed 32-bit counter; this package takes its
// opaques from the upper half of the unsigned range, so the two never answer each other's callbacks.
const OPAQUE_BASE = 0x8000_0000;
const OPAQUE_SPAN = 0x8000_0000;
let nextOpaque = 0;

function allocateOpaques(count: number): number {
  if (nextOpaque + count > OPAQUE_SPAN) nextOpaque = 0;
  const first = OPAQUE_BASE + nextOpaque;
  nextOpaque += count;
  return first;
}

/** A batch waiting for its NOOP: its replies land in `replies`, indexed by opaque minus `first`. */
interface PendingBatch {
  readonly first: number;
  readonly noop: number;
  readonly replies: (WireReply | undefined)[];
  readonly done: () => void;
}

const pendingBatches = new WeakMap<Server, PendingBatch[]>();

/**
 * The batches in flight on `server`. The first call routes the server's replies with opaques of
 * this package's half to them, by range; memjs's own replies go on to memjs. (Registering a memjs
 * callback per request costs two dictionary writes and two deletes each.)
 */
function batchesOf(server: Server): PendingBatch[] {
  const known = pendingBatches.get(server);
  if (known !== undefined) return known;
  const batches: PendingBatch[] = [];
  pendingBatches.set(server, batches);
  const state = internals(server);
  const respond = state.respond;
  state.respond = function (this: Server, response: Response): void {
    const opaque = response.header.opaque;
    const batch = opaque < OPAQUE_BASE ? undefined : batches.find((b) => opaque >= b.first && opaque <= b.noop);
    // memjs's own requests; and replies to batches given up on (timed out, failed), which memjs drops.
    if (batch === undefined) return respond.call(this, response);
    if (opaque !== batch.noop) {
      batch.replies[opaque - batch.first] = { status: response.header.status, value: response.val, cas: response.header.cas };
      return;
    }
    // What memjs does for a request's last reply: its write's timeout entry and error callback go.
    state.requestTimeouts.shift();
    delete state.errorCallbacks[opaque];
    forget(batches, batch);
    batch.done();
  };
  return batches;
}

function forget(batches: PendingBatch[], batch: PendingBatch): void {
  const i = batches.indexOf(batch);
  if (i >= 0) batches.splice(i, 1);
}

const guarded = new WeakSet<Socket>();
const troubleAt = new WeakMap<Server, number>();

/**
 * When a connection to `server` last broke (closed, failed or timed out), in epoch ms; `undefined`
 * if never. Tombstones written around then may be gone (a restarted memcached is empty) or may
 * still land late (a frozen one applies what was queued when it resumes).
 */
export function lastTrouble(server: Server): number | undefined {
  return troubleAt.get(server);
}

/**
 * memjs's 'close' handler clears `server._socket` unconditionally, so a socket that closes after
 * memjs already opened its successor orphans the new one (left open forever), and it never fails
 * the requests that were waiting on the closed socket. This replaces it with one that acts only
 * while the socket is still the server's current one, and then fails what waited on it at once.
 */
function guard(server: Server, socket: Socket | undefined): void {
  if (socket === undefined || guarded.has(socket)) return;
  guarded.add(socket);
  socket.removeAllListeners('close');
  socket.on('close', () => {
    troubleAt.set(server, Date.now());
    const state = internals(server);
    if (state._socket !== socket) return;
    state.connected = false;
    state.timeoutSet = false;
    state._socket = undefined;
    server.error(new Error('memcached closed the connection'));
  });
}

/**
 * Gives up on a socket: fails every request still waiting on it (their answers would come on a
 * connection nobody reads) and destroys it. A newer socket of the same server is left alone.
 */
export function retire(server: Server, socket: Socket | undefined, error: Error): void {
  if (socket === undefined) return;
  troubleAt.set(server, Date.now());
  guard(server, socket);
  if (internals(server)._socket === socket) server.error(error);
  socket.destroy();
}

/** Destroys the server's current socket, if any; the next request opens a new one. */
export function disconnect(server: Server, error: Error): void {
  retire(server, internals(server)._socket, error);
}

/** Where a batch went, for error messages: never credentials, never keys or values. */
export function describeServer(storeName: string, server: Server): string {
  return `${storeName}: memcached ${server.host}:${server.port}`;
}

/**
 * Requests per round trip, and the bytes of their keys and values. memcached itself serves a
 * connection a few requests per event (`-R`, 20 by default) and so stays fair to other clients
 * within any batch, but a round trip must also fit the deadline, and memjs buffers what is sent
 * and received: a 100,000-object batch goes out as a hundred round trips of 1,000.
 */
export const MAX_REQUESTS_PER_ROUND_TRIP = 1_000;
export const MAX_ROUND_TRIP_BYTES = 1024 * 1024;
/** Round trips of one batch in flight at once on one server (one memjs connection). */
export const ROUND_TRIPS_IN_FLIGHT = 2;

/**
 * Sends `requests` to one server and resolves with the replies, indexed like the requests:
 * `undefined` where a quiet request said nothing (a miss for GETKQ, success for the others). A
 * batch within `MAX_REQUESTS_PER_ROUND_TRIP` and `MAX_ROUND_TRIP_BYTES` is one round trip;
 * a larger one is cut into chunks sent `ROUND_TRIPS_IN_FLIGHT` at a time, each with a deadline of
 * its own. The first failed round trip fails the batch (see `exchangeOnce`).
 */
export async function exchange(
  server: Server,
  requests: readonly WireRequest[],
  timeoutMs: number,
  what: string,
): Promise<(WireReply | undefined)[]> {
  const chunks = chunkIndexes(requests.length, { maxItems: MAX_REQUESTS_PER_ROUND_TRIP, maxBytes: MAX_ROUND_TRIP_BYTES }, (i) => requestBytes(requests[i]!));
  if (chunks.length === 1) return exchangeOnce(server, requests, timeoutMs, what);
  for (const request of requests) assertSafeKey(request.key); // nothing is sent if one key is unsafe
  const replies: (WireReply | undefined)[] = new Array(requests.length).fill(undefined);
  await runBounded(chunks.length, ROUND_TRIPS_IN_FLIGHT, async (c) => {
    const chunk = chunks[c]!;
    const got = await exchangeOnce(server, chunk.map((i) => requests[i]!), timeoutMs, what);
    chunk.forEach((i, j) => (replies[i] = got[j]));
  });
  return replies;
}

function requestBytes(request: WireRequest): number {
  const value = request.value;
  return request.key.length + (value === undefined ? 0 : value.length);
}

/**
 * Sends `requests` to one server as a single write, closed by a NOOP, and resolves when the NOOP's
 * answer arrives: one round trip whatever the batch size. Replies are indexed like the requests;
 * `undefined` where a quiet request said nothing (a miss for GETKQ, success for the others).
 * Rejects with `TimeoutError` after `timeoutMs` — then the socket is destroyed, so what was queued
 * on it is failed too — or with `TierUnavailableError` when the connection fails.
 */
async function exchangeOnce(
  server: Server,
  requests: readonly WireRequest[],
  timeoutMs: number,
  what: string,
): Promise<(WireReply | undefined)[]> {
  const first = allocateOpaques(requests.length + 1);
  const noop = first + requests.length;
  const bytes = encodeBatch(requests, first); // throws before anything is registered or sent
  const replies: (WireReply | undefined)[] = new Array(requests.length).fill(undefined);
  const batches = batchesOf(server);
  let pending: PendingBatch | undefined;
  const unregister = (): void => {
    if (pending !== undefined) forget(batches, pending);
    delete internals(server).errorCallbacks[noop];
  };
  let socket: Socket | undefined;
  const answered = new Promise<void>((resolve, reject) => {
    pending = { first, noop, replies, done: resolve };
    batches.push(pending);
    server.onError(noop, (error: unknown) => {
      unregister();
      retire(server, socket, asError(error));
      // Reset because another call on this connection timed out: this one got no answer in time either.
      if (error instanceof TimeoutError) reject(TimeoutError.after(what, timeoutMs));
      else reject(new TierUnavailableError(`${what} failed: ${reasonOf(error)}`, { cause: error }));
    });
    server.write(bytes);
    socket = internals(server)._socket;
    guard(server, socket);
  });
  try {
    await withDeadline(answered, timeoutMs, what);
  } catch (error) {
    if (error instanceof TimeoutError) {
      unregister();
      retire(server, socket, error);
    }
    throw error;
  }
  return replies;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

// memjs reports some failures as bare strings ('Memcached server authentication failed!').
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
