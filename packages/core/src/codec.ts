import { Buffer } from 'node:buffer';
import { FORMAT_VERSION } from './keys';
import { classByName, getMetadata } from './metadata';
import type { CacheRecord, MissRecord } from './record';
import type { Class } from './types';

/** Why a payload could not be decoded; each is a miss, and all but `unknown-class` are deleted. */
export type DecodeFailure =
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'unknown-class'; readonly name: string };

/** Payloads above this are refused on decode (a miss), whatever the tier allows. @default 16 MiB */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
const MAX_DEPTH = 64;
const TAG = '$t';
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

class CodecError extends Error {}

function encodeValue(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'num', v: String(value) };
    case 'bigint':
      return { [TAG]: 'big', v: value.toString() };
    case 'undefined':
      return { [TAG]: 'undef' };
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (value === null) return null;
  if (depth > MAX_DEPTH) throw new CodecError(`nesting deeper than ${MAX_DEPTH}`);
  const obj = value as object;
  if (seen.has(obj)) throw new CodecError('a cycle: the object refers to itself');
  seen.add(obj);
  try {
    if (obj instanceof Date) return { [TAG]: 'date', v: obj.getTime() };
    if (Buffer.isBuffer(obj)) return { [TAG]: 'buf', v: obj.toString('base64') };
    if (obj instanceof Uint8Array) return { [TAG]: 'u8', v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') };
    if (Array.isArray(obj)) return obj.map((v) => encodeValue(v, depth + 1, seen) ?? null);
    if (obj instanceof Map) {
      return { [TAG]: 'map', v: [...obj].map(([k, v]) => [encodeValue(k, depth + 1, seen), encodeValue(v, depth + 1, seen)]) };
    }
    if (obj instanceof Set) return { [TAG]: 'set', v: [...obj].map((v) => encodeValue(v, depth + 1, seen)) };
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = registeredName(obj.constructor as Class);
      if (name !== undefined) return { [TAG]: 'obj', c: name, v: encodeFields(toPlain(obj), depth, seen) };
    }
    const fields = encodeFields(obj as Record<string, unknown>, depth, seen);
    // A plain object that itself has a `$t` field is wrapped, so decoding stays unambiguous.
    return Object.prototype.hasOwnProperty.call(obj, TAG) ? { [TAG]: 'raw', v: fields } : fields;
  } finally {
    seen.delete(obj);
  }
}

function registeredName(cls: Class): string | undefined {
  try {
    return getMetadata(cls).name;
  } catch {
    return undefined;
  }
}

function toPlain(obj: object): Record<string, unknown> {
  const serializer = getMetadata(obj.constructor as Class).serializer;
  return serializer === undefined ? (obj as Record<string, unknown>) : serializer.toPlain(obj);
}

function encodeFields(obj: Record<string, unknown>, depth: number, seen: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    // Decoding refuses these names, so an object holding one is not cached rather than cached without it.
    if (FORBIDDEN.has(key)) throw new CodecError(`a field is named '${key}', which decoding refuses (it could pollute prototypes)`);
    const encoded = encodeValue(obj[key], depth + 1, seen);
    if (encoded !== undefined) out[key] = encoded;
  }
  return out;
}

// Decoding works in place on what `JSON.parse` just built (fresh arrays and plain objects nobody
// else holds): only tagged values and class instances are replaced, so a typical entity costs the
// parse and one copy of its own fields into the instance.
function decodeValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new CodecError(`nesting deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v !== null && typeof v === 'object') value[i] = decodeValue(v, depth + 1);
    }
    return value;
  }
  const tagged = value as Record<string, unknown>;
  const tag = tagged[TAG];
  if (tag === undefined) return checkFields(tagged, depth);
  const v = tagged.v;
  switch (tag) {
    case 'num':
      return Number(v);
    case 'big':
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new CodecError('bad bigint');
      return BigInt(v);
    case 'undef':
      return undefined;
    case 'date':
      if (typeof v !== 'number') throw new CodecError('bad date');
      return new Date(v);
    case 'buf':
    case 'u8': {
      if (typeof v !== 'string') throw new CodecError('bad bytes');
      const buf = Buffer.from(v, 'base64');
      return tag === 'buf' ? buf : new Uint8Array(buf);
    }
    case 'map':
      if (!Array.isArray(v)) throw new CodecError('bad map');
      return new Map(v.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw new CodecError('bad map entry');
        return [decodeValue(pair[0], depth + 1), decodeValue(pair[1], depth + 1)] as const;
      }));
    case 'set':
      if (!Array.isArray(v)) throw new CodecError('bad set');
      return new Set(v.map((x) => decodeValue(x, depth + 1)));
    case 'raw':
      return checkFields(asRecord(v), depth);
    case 'obj': {
      const cls = typeof tagged.c === 'string' ? classByName(tagged.c) : undefined;
      // A nested instance of a class this process does not know stays plain data.
      return cls === undefined ? checkFields(asRecord(v), depth) : instantiate(cls, asRecord(v), depth);
    }
    default:
      throw new CodecError(`unknown tag ${String(tag)}`);
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CodecError('expected an object');
  return v as Record<string, unknown>;
}

// JSON.parse makes `__proto__` an own property; copying it with assignment would set a prototype,
// and an own `constructor.prototype` is what a later deep merge pollutes through. The encoder never
// writes these names, so a payload holding one was tampered with: corrupt, not silently trimmed.
function forbidden(key: string): boolean {
  return FORBIDDEN.has(key);
}

/** A parsed plain object, its fields decoded in place. */
function checkFields(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (forbidden(key)) throw new CodecError(`a field is named '${key}'`);
    const v = obj[key];
    if (v !== null && typeof v === 'object') obj[key] = decodeValue(v, depth + 1);
  }
  return obj;
}

/** Parsed fields decoded into `out` (an instance), assigned as `Object.assign` would. */
function decodeFields(obj: Record<string, unknown>, depth: number, out: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (forbidden(key)) throw new CodecError(`a field is named '${key}'`);
    const v = obj[key];
    out[key] = v !== null && typeof v === 'object' ? decodeValue(v, depth + 1) : v;
  }
  return out;
}

/**
 * Builds an instance of `cls` from encoded fields without running its constructor: decoded straight
 * into the instance (assigned as `Object.assign` would), or handed to the class's serializer.
 */
function instantiate(cls: Class, data: Record<string, unknown>, depth: number): object {
  const serializer = getMetadata(cls).serializer;
  if (serializer !== undefined) return serializer.fromPlain(cls, checkFields(data, depth));
  return decodeFields(data, depth, Object.create(cls.prototype as object) as Record<string, unknown>);
}

/**
 * Encodes a record as the versioned envelope out-of-process tiers hold. Throws on values that
 * cannot be encoded (cycles, excessive depth); the caller reports and skips them.
 */
export function encodeRecord(record: CacheRecord): string {
  if (record.kind === 'tomb') return encodeTomb(record.token, record.expiresAt, record.settled === true, record.leaseUntil);
  if (record.kind === 'ptr') return `{"f":${FORMAT_VERSION},"k":"p","p":${JSON.stringify(record.key)},"e":${record.expiresAt}}`;
  if (record.kind === 'miss') return `{"f":${FORMAT_VERSION},"k":"m","t":${JSON.stringify(record.token)},"e":${record.expiresAt}${held(record.holdUntil)}${generation(record.gen)}}`;
  const meta = getMetadata(record.obj.constructor as Class);
  const data = encodeFields(toPlain(record.obj), 0, new Set([record.obj]));
  const hold = record.holdUntil === undefined ? '' : `${held(record.holdUntil)},"t":${JSON.stringify(record.token ?? '')}`;
  return `{"f":${FORMAT_VERSION},"k":"v","c":${JSON.stringify(meta.name)},"e":${record.expiresAt}${hold}${generation(record.gen)},"d":${JSON.stringify(data)}}`;
}

/** The class generation an entry belongs to (`clear(Class)`); a decoder of the previous release ignores it. */
function generation(gen: string | undefined): string {
  return gen === undefined ? '' : `,"g":${JSON.stringify(gen)}`;
}

function held(holdUntil: number | undefined): string {
  return holdUntil === undefined ? '' : `,"h":${holdUntil}`;
}

/**
 * A tombstone's envelope; deterministic, so a tier can compare it byte for byte (CAS, Lua). A
 * settled one carries `"s":1`, which a decoder of the previous release ignores: to it, every
 * tombstone still blocks every fill, the conservative reading during a rolling upgrade.
 */
export function encodeTomb(token: string, expiresAt: number, settled = false, leaseUntil?: number): string {
  const lease = leaseUntil === undefined ? '' : `,"l":${leaseUntil}`;
  return `{"f":${FORMAT_VERSION},"k":"t","t":${JSON.stringify(token)},"e":${expiresAt}${settled ? ',"s":1' : ''}${lease}}`;
}

/** Decodes an envelope: a record, or why it is a miss. Never throws. */
export function decodeRecord(payload: string | Buffer | Uint8Array, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): CacheRecord | DecodeFailure {
  try {
    const size = typeof payload === 'string' ? payload.length : payload.byteLength;
    if (size > maxBytes) return { kind: 'corrupt', reason: `payload of ${size} bytes exceeds ${maxBytes}` };
    const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    const env = JSON.parse(text) as Record<string, unknown>;
    if (env === null || typeof env !== 'object' || env.f !== FORMAT_VERSION) {
      return { kind: 'corrupt', reason: 'not a stockpyle envelope of this format version' };
    }
    const expiresAt = env.e;
    if (typeof expiresAt !== 'number') return { kind: 'corrupt', reason: 'no expiry' };
    if (env.k === 't') {
      if (typeof env.t !== 'string') return { kind: 'corrupt', reason: 'bad tombstone' };
      if (env.s !== 1) return { kind: 'tomb', token: env.t, expiresAt };
      return typeof env.l === 'number' ? { kind: 'tomb', token: env.t, expiresAt, settled: true, leaseUntil: env.l } : { kind: 'tomb', token: env.t, expiresAt, settled: true };
    }
    const holdUntil = env.h;
    if (holdUntil !== undefined && (typeof holdUntil !== 'number' || typeof env.t !== 'string')) return { kind: 'corrupt', reason: 'bad hold' };
    const gen = env.g;
    if (gen !== undefined && typeof gen !== 'string') return { kind: 'corrupt', reason: 'bad generation' };
    if (env.k === 'm') {
      if (typeof env.t !== 'string') return { kind: 'corrupt', reason: 'bad miss' };
      const miss: MissRecord = holdUntil === undefined ? { kind: 'miss', token: env.t, expiresAt } : { kind: 'miss', token: env.t, expiresAt, holdUntil };
      return gen === undefined ? miss : { ...miss, gen };
    }
    if (env.k === 'p') {
      if (typeof env.p !== 'string') return { kind: 'corrupt', reason: 'bad pointer' };
      return { kind: 'ptr', key: env.p, expiresAt };
    }
    if (env.k !== 'v' || typeof env.c !== 'string') return { kind: 'corrupt', reason: 'bad envelope kind' };
    const cls = classByName(env.c);
    if (cls === undefined) return { kind: 'unknown-class', name: env.c };
    const obj = instantiate(cls, asRecord(env.d), 0);
    if (holdUntil === undefined) return gen === undefined ? { kind: 'value', obj, expiresAt } : { kind: 'value', obj, expiresAt, gen };
    return { kind: 'value', obj, expiresAt, holdUntil, token: env.t as string, ...(gen === undefined ? {} : { gen }) };
  } catch (error) {
    // JSON.parse quotes the payload in its message: stored bytes must not reach events or logs.
    if (error instanceof SyntaxError) return { kind: 'corrupt', reason: 'not JSON' };
    return { kind: 'corrupt', reason: error instanceof Error ? error.message : 'undecodable' };
  }
}

/** True when `decodeRecord` failed. */
export function isDecodeFailure(result: CacheRecord | DecodeFailure): result is DecodeFailure {
  return result.kind === 'corrupt' || result.kind === 'unknown-class';
}
