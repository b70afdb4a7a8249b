import { createHash } from 'node:crypto';
import { ConfigurationError, UnknownKeyError } from './errors';
import type { ClassMetadata, KeyShape } from './metadata';

/** Bumped whenever the layout of keys or envelopes changes, so old entries are simply never read. */
export const FORMAT_VERSION = 1;
const MAX_KEY_BYTES = 250;
const MAX_PREFIX_LENGTH = 64;
/** Length of a SHA-256 digest in base64url, as hashed keys end. */
const DIGEST_LENGTH = 43;
/** Room for an escaped prefix such that even `<namespace>#<digest>` fits in a key. */
const MAX_ESCAPED_PREFIX = MAX_KEY_BYTES - `stockpyle:${FORMAT_VERSION}::#`.length - DIGEST_LENGTH;
const SAFE = /^[A-Za-z0-9_.~-]*$/;

/**
 * Escapes a string so the result is printable ASCII with no spaces and none of the delimiters
 * `:`, `,`, `=`, `#`: percent-encoded UTF-8, or UTF-16 code units for strings with lone surrogates
 * (which UTF-8 cannot carry without collisions).
 */
function escapeText(s: string): string {
  if (SAFE.test(s)) return `s${s}`;
  if (!s.isWellFormed()) {
    let out = 'u';
    for (let i = 0; i < s.length; i++) out += s.charCodeAt(i).toString(16).padStart(4, '0');
    return out;
  }
  return `s${encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * One key value as a type-tagged token: the number `1` and the string `'1'` differ, and no token
 * contains a delimiter, so joined tokens are injective.
 */
export function encodeKeyValue(value: unknown, className: string, attr: string): string {
  switch (typeof value) {
    case 'number':
      if (Number.isNaN(value)) throw UnknownKeyError.forValue(className, attr, value);
      return `n${value}`;
    case 'string':
      return escapeText(value);
    case 'bigint':
      return `b${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'object':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return `d${value.getTime()}`;
      break;
    default:
      break;
  }
  throw UnknownKeyError.forValue(className, attr, value);
}

function escapeName(name: string): string {
  return escapeText(name).slice(1);
}

/**
 * The topmost decorated class of `meta`'s hierarchy: `clear(Class)` clears a whole hierarchy, as a
 * polymorphic tier finds subclass instances under their bases' keys.
 */
export function rootOf(meta: ClassMetadata): ClassMetadata {
  const bases = meta.bases;
  return bases.length === 0 ? meta : bases[bases.length - 1]!;
}

// Keys remembered per key shape (single-attribute keys only); past this the memo starts over.
const MEMO_SIZE = 16_384;

/** What a builder keeps per key shape: the fixed start of its keys, and recent keys by value. */
interface ShapeKeys {
  readonly head: string;
  readonly memo: Map<number | string, string>;
}

/**
 * Key heads and memos by namespace, shared by every builder of that namespace: the stores of a chain
 * (and the chain itself) build each key once, not once per tier.
 */
const SHARED = new Map<string, WeakMap<KeyShape, ShapeKeys>>();

/**
 * Builds cache keys for one store. The namespace (`stockpyle:1:` plus the store's prefix) is fixed
 * at construction; each class's key heads are computed once and cached. Keys of single-attribute
 * shapes are remembered (a bounded memo shared by the builders of one namespace), so a repeated
 * lookup returns the very string an in-process map holds: no string building, and a map lookup that
 * compares one pointer.
 */
export class KeyBuilder {
  readonly namespace: string;
  readonly #shapes: WeakMap<KeyShape, ShapeKeys>;
  #lastShape: KeyShape | undefined;
  #lastKeys: ShapeKeys | undefined;

  constructor(prefix?: string) {
    if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH)) {
      throw new ConfigurationError(`prefix must be a non-empty string of at most ${MAX_PREFIX_LENGTH} characters`);
    }
    const escaped = prefix === undefined ? undefined : escapeName(prefix);
    if (escaped !== undefined && escaped.length > MAX_ESCAPED_PREFIX) {
      throw new ConfigurationError(
        `prefix takes ${escaped.length} characters once escaped for cache keys, more than ${MAX_ESCAPED_PREFIX}: ` +
          'characters other than ASCII letters, digits and _.~- take 3 to 12 each; choose a shorter or an ASCII prefix',
      );
    }
    this.namespace = `stockpyle:${FORMAT_VERSION}:${escaped === undefined ? '' : `${escaped}:`}`;
    let shapes = SHARED.get(this.namespace);
    if (shapes === undefined) SHARED.set(this.namespace, (shapes = new WeakMap()));
    this.#shapes = shapes;
  }

  #keysFor(meta: ClassMetadata, shape: KeyShape): ShapeKeys {
    if (shape === this.#lastShape) return this.#lastKeys!;
    let keys = this.#shapes.get(shape);
    if (keys === undefined) {
      keys = { head: `${this.namespace}${escapeName(meta.name)}:${escapeName(shape.attrs[0]!)}=`, memo: new Map() };
      this.#shapes.set(shape, keys);
    }
    this.#lastShape = shape;
    this.#lastKeys = keys;
    return keys;
  }

  /**
   * The cache key for `source`'s values of `shape` (an object or a query), or `undefined` when any
   * of them is `null`/`undefined`: such an object is not indexed under that key.
   */
  build(meta: ClassMetadata, shape: KeyShape, source: object): string | undefined {
    const attrs = shape.attrs;
    const first = (source as Record<string, unknown>)[attrs[0]!];
    if (first === null || first === undefined) return undefined;
    const keys = this.#keysFor(meta, shape);
    if (attrs.length === 1 && (typeof first === 'number' || typeof first === 'string')) {
      let key = keys.memo.get(first);
      if (key === undefined) {
        key = this.#finish(meta, keys.head + encodeKeyValue(first, meta.name, attrs[0]!));
        if (keys.memo.size >= MEMO_SIZE) keys.memo.clear();
        keys.memo.set(first, key);
      }
      return key;
    }
    let key = keys.head + encodeKeyValue(first, meta.name, attrs[0]!);
    for (let i = 1; i < attrs.length; i++) {
      const attr = attrs[i]!;
      const value = (source as Record<string, unknown>)[attr];
      if (value === null || value === undefined) return undefined;
      key += `,${escapeName(attr)}=${encodeKeyValue(value, meta.name, attr)}`;
    }
    return this.#finish(meta, key);
  }

  #finish(meta: ClassMetadata, key: string): string {
    return key.length <= MAX_KEY_BYTES ? key : this.#hashed(meta, key);
  }

  // Keys are ASCII, so length is bytes. A long key keeps its class for readability and hashes the rest.
  #hashed(meta: ClassMetadata, key: string): string {
    return this.#hashedNamed(escapeName(meta.name), key);
  }

  #hashedNamed(escapedClass: string, key: string): string {
    const digest = createHash('sha256').update(key).digest('base64url');
    const readable = `${this.namespace}${escapedClass}:#${digest}`;
    return readable.length <= MAX_KEY_BYTES ? readable : `${this.namespace}#${digest}`;
  }

  /**
   * An object's declared keys (its own class's, anchor first) without the namespace and before any
   * hashing: the same in every process whatever each store's `prefix`, so they can travel on a bus
   * (docs/ARCHITECTURE.md, "The bus"). `relativeKey` turns one back into this builder's key.
   */
  relativeKeysOf(meta: ClassMetadata, obj: object): string[] {
    const out: string[] = [];
    for (const shape of meta.keys) {
      let key = `${escapeName(meta.name)}:`;
      let complete = true;
      shape.attrs.forEach((attr, i) => {
        const value = (obj as Record<string, unknown>)[attr];
        if (value === null || value === undefined) complete = false;
        else key += `${i === 0 ? '' : ','}${escapeName(attr)}=${encodeKeyValue(value, meta.name, attr)}`;
      });
      if (complete) out.push(key);
    }
    return out;
  }

  /** This builder's key for a key from `relativeKeysOf` (of any builder): the namespace prepended, hashed when too long. */
  relativeKey(relative: string): string {
    const key = this.namespace + relative;
    if (key.length <= MAX_KEY_BYTES) return key;
    // Escaped names hold no ':', so the class is what comes before the first one.
    return this.#hashedNamed(relative.slice(0, relative.indexOf(':')), key);
  }

  /**
   * Where a remote tier keeps the generation of `meta`'s class hierarchy (`clear(Class)`). No entry
   * key starts with `#` after the namespace except hashed ones, whose digest holds no `:`.
   */
  generationKey(meta: ClassMetadata): string {
    const key = `${this.namespace}#gen:${escapeName(rootOf(meta).name)}`;
    return key.length <= MAX_KEY_BYTES ? key : `${this.namespace}#gen#${createHash('sha256').update(key).digest('base64url')}`;
  }

  /**
   * Every cache key an object is indexed under: each declared key, and with `polymorphic` its bases'
   * keys. The first is the object's anchor, where cache tiers keep the value; the others point to it.
   */
  keysOf(meta: ClassMetadata, obj: object, polymorphic: boolean): string[] {
    const out: string[] = [];
    this.#collect(meta, obj, out);
    if (polymorphic) for (const base of meta.bases) this.#collect(base, obj, out);
    return out;
  }

  #collect(meta: ClassMetadata, obj: object, out: string[]): void {
    for (const shape of meta.keys) {
      const key = this.build(meta, shape, obj);
      if (key !== undefined) out.push(key);
    }
  }
}
