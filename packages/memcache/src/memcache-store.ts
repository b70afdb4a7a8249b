import { Buffer } from 'node:buffer';
import { BaseCacheStore, TierUnavailableError, decodeRecord, metadataOf, type RawSwap, type RawWrite } from '@stockpyle/core';
import type { Server } from 'memjs';
import { Opcode, Status, statusName, type WireReply, type WireRequest } from './binary-protocol';
import { describeServer, disconnect, exchange, lastTrouble } from './connection';
import { toMemcachedExpiry } from './memcached-expiry';
import { createClient, parseMemcacheOptions, type MemcacheSettings, type MemcacheStoreOptions, type MemjsClient } from './options';

/**
 * The memcached tier, on memjs. Holds the codec's envelopes; every batch is one round trip per
 * server (quiet binary-protocol requests closed by a NOOP, below memjs's one-key API); fills are
 * `add`s and write-through commits are compare-and-swap, so neither overwrites a newer write or a
 * deletion; every round trip has a deadline, after which the connection is reset.
 */
export class MemcacheStore extends BaseCacheStore<string> {
  readonly #settings: MemcacheSettings;
  #created: MemjsClient | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: MemcacheStoreOptions) {
    super(options);
    this.#settings = parseMemcacheOptions(this.name, options ?? {});
  }

  /** Closes the client the store created (never a given one) once calls in flight settle; the next call opens a new one. */
  async release(): Promise<void> {
    const client = this.#created;
    if (client === undefined) return;
    this.#created = undefined;
    await Promise.allSettled([...this.#inFlight]);
    for (const server of client.servers) disconnect(server, new TierUnavailableError(`${this.name} was released`));
  }

  /**
   * No fill trusts tombstones when a connection to memcached broke within a tombstone's lifetime
   * before the fill's read began: a restart may have emptied the tombstones that would block an
   * outdated fill, and a frozen server may still apply writes queued before it stopped.
   */
  protected override trustsTombstones(readStartedAt: number): boolean {
    const since = readStartedAt - this.tombstoneMs;
    return super.trustsTombstones(readStartedAt) && !this.#client().servers.some((server) => (lastTrouble(server) ?? -Infinity) > since);
  }

  /** GETKQ replies carry each item's CAS unique: kept in `versions`, so a fill swaps in one round trip. */
  protected async readRaw(keys: readonly string[], versions: unknown[]): Promise<readonly (string | undefined)[]> {
    const replies = await this.#send(keys.map((key) => ({ opcode: Opcode.GETKQ, key })));
    return replies.map((reply, i) => {
      if (reply === undefined) return undefined;
      versions[i] = this.#found(reply).cas;
      return reply.value.toString('utf8');
    });
  }

  protected async writeRaw(writes: readonly RawWrite<string>[], mode: 'set' | 'add'): Promise<void> {
    const now = Date.now();
    const requests: WireRequest[] = [];
    for (const w of writes) {
      const exptime = toMemcachedExpiry(w.expiresAt, now);
      const fits = this.#fits(w.raw);
      if (exptime !== undefined && fits) {
        requests.push({ opcode: mode === 'set' ? Opcode.SETQ : Opcode.ADDQ, key: w.key, exptime, value: w.raw });
      } else if (mode === 'set') {
        // What this set leaves is "nothing there": the previous version must not stay behind.
        requests.push({ opcode: Opcode.DELETEQ, key: w.key });
      }
    }
    const replies = await this.#send(requests);
    replies.forEach((reply, i) => {
      if (reply === undefined) return;
      const { opcode } = requests[i]!;
      if (opcode === Opcode.ADDQ && (reply.status === Status.KEY_EEXISTS || reply.status === Status.NOT_STORED)) return;
      if (opcode === Opcode.DELETEQ && reply.status === Status.KEY_ENOENT) return;
      // memcached also drops the previous version when a set is too large.
      if (reply.status === Status.E2BIG) return this.#skipTooLarge(requests[i]!.value as string);
      throw this.#refused(reply.status, opcode === Opcode.ADDQ ? 'add' : opcode === Opcode.SETQ ? 'set' : 'delete');
    });
  }

  /**
   * A `cas` store per swap. Where the read before gave no CAS unique (a commit replacing its own
   * reservation), one round trip first reads each key with its unique and keeps those that still
   * hold `expected`.
   */
  protected async swapRaw(swaps: readonly RawSwap<string>[]): Promise<readonly boolean[]> {
    const uniques: (Buffer | undefined)[] = swaps.map((w) => (Buffer.isBuffer(w.version) ? w.version : undefined));
    const unread = swaps.flatMap((w, i) => (uniques[i] === undefined ? [i] : []));
    if (unread.length > 0) {
      const current = await this.#send(unread.map((i) => ({ opcode: Opcode.GETKQ, key: swaps[i]!.key })));
      unread.forEach((i, j) => {
        const reply = current[j];
        if (reply !== undefined && this.#found(reply).value.equals(Buffer.from(swaps[i]!.expected, 'utf8'))) uniques[i] = reply.cas;
      });
    }
    const now = Date.now();
    const requests: WireRequest[] = [];
    const asked: number[] = [];
    swaps.forEach((w, i) => {
      const cas = uniques[i];
      if (cas === undefined || !this.#fits(w.raw)) return;
      const exptime = toMemcachedExpiry(w.expiresAt, now);
      // An expiry already past replaces the entry with nothing, still only if it is the one expected.
      requests.push(exptime === undefined ? { opcode: Opcode.DELETEQ, key: w.key, cas } : { opcode: Opcode.SETQ, key: w.key, exptime, value: w.raw, cas });
      asked.push(i);
    });
    const swapped = new Array<boolean>(swaps.length).fill(false);
    const replies = await this.#send(requests);
    replies.forEach((reply, j) => {
      const i = asked[j]!;
      if (reply === undefined) swapped[i] = true;
      else if (reply.status === Status.E2BIG) this.#skipTooLarge(swaps[i]!.raw);
      // KEY_EEXISTS: another write changed the key since the read; KEY_ENOENT: it expired or was evicted.
      else if (reply.status !== Status.KEY_EEXISTS && reply.status !== Status.KEY_ENOENT) throw this.#refused(reply.status, 'compare-and-swap');
    });
    return swapped;
  }

  protected async removeRaw(keys: readonly string[]): Promise<void> {
    const replies = await this.#send(keys.map((key) => ({ opcode: Opcode.DELETEQ, key })));
    for (const reply of replies) {
      if (reply !== undefined && reply.status !== Status.KEY_ENOENT) throw this.#refused(reply.status, 'delete');
    }
  }

  #client(): MemjsClient {
    return this.#settings.client ?? (this.#created ??= createClient(this.#settings));
  }

  /** Sends each server its share of `requests` as one batch, all servers at once; replies in request order. */
  async #send(requests: readonly WireRequest[]): Promise<(WireReply | undefined)[]> {
    if (requests.length === 0) return [];
    const client = this.#client();
    const { timeout } = this.#settings;
    if (client.servers.length === 1) {
      const server = this.#serverFor(client, requests[0]!.key);
      return this.#track(exchange(server, requests, timeout, describeServer(this.name, server)));
    }
    const groups = new Map<Server, number[]>();
    requests.forEach((request, i) => {
      const server = this.#serverFor(client, request.key);
      const group = groups.get(server);
      if (group === undefined) groups.set(server, [i]);
      else group.push(i);
    });
    const replies = new Array<WireReply | undefined>(requests.length);
    await this.#track(
      Promise.all(
        [...groups].map(async ([server, indexes]) => {
          const got = await exchange(server, indexes.map((i) => requests[i]!), timeout, describeServer(this.name, server));
          indexes.forEach((i, j) => (replies[i] = got[j]));
        }),
      ),
    );
    return replies;
  }

  #serverFor(client: MemjsClient, key: string): Server {
    const server = client.server(key);
    if (server === undefined || server === null) throw new TierUnavailableError(`${this.name}: no memcached server is available`);
    return server;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = (): void => void this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** A GETKQ reply is a hit; any other status means the server refused the read. */
  #found(reply: WireReply): WireReply {
    if (reply.status !== Status.OK) throw this.#refused(reply.status, 'get');
    return reply;
  }

  #fits(raw: string): boolean {
    // A string's UTF-8 size is at most three bytes per UTF-16 unit: skip counting for small values.
    if (raw.length * 3 <= this.#settings.maxValueBytes || Buffer.byteLength(raw, 'utf8') <= this.#settings.maxValueBytes) return true;
    this.#skipTooLarge(raw);
    return false;
  }

  #skipTooLarge(raw: string): void {
    if (!this.counted('skip', 1)) return;
    // Rare, so decoding once to name the class in the event is affordable.
    const record = decodeRecord(raw, Number.MAX_SAFE_INTEGER);
    const className = record.kind === 'value' ? metadataOf(record.obj).name : record.kind === 'unknown-class' ? record.name : 'unknown';
    const bytes = Buffer.byteLength(raw, 'utf8');
    this.notify({ type: 'skip', store: this.name, className, reason: `value of ${bytes} bytes exceeds memcached's item size limit` });
  }

  #refused(status: number, operation: string): TierUnavailableError {
    return new TierUnavailableError(`${this.name}: memcached refused a ${operation}: ${statusName(status)}`);
  }
}
