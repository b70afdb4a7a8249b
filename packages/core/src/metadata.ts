import { ConfigurationError, DuplicateNameError, NotStockpyleClassError, UnknownKeyError } from './errors';
import type { Class } from './types';

/** What `@Stockpyle()` accepts. */
export interface StockpyleOptions {
  /**
   * The attributes that identify an instance: each entry is one attribute or a tuple of attributes.
   * Omitted: inherited from a decorated base class, or the primary key of an ORM entity.
   */
  keys?: readonly (string | readonly string[])[];
  /** The name used in cache keys and by the codec. @default the class name */
  name?: string;
  /**
   * ORM collections cached as their members' keys per owner (the MikroORM integration's collection
   * entries); the integration validates them against the ORM's metadata. @default none
   */
  collections?: readonly string[];
}

/** How an integration (e.g. the MikroORM package) turns instances into plain data and back. */
export interface ClassSerializer {
  /** Plain data to encode; must not include cycles or other entities' graphs. */
  toPlain(obj: object): Record<string, unknown>;
  /** Builds an instance from decoded data without running the constructor. */
  fromPlain(cls: Class, data: Record<string, unknown>): object;
  /**
   * A detached copy holding what an out-of-process tier would give back (`fromPlain` of a deep copy
   * of `toPlain`), made without encoding: what in-process tiers keep. Without it they keep a codec
   * round trip.
   */
  copy?(obj: object): object;
}

/** What a metadata resolver may contribute for a class the user left incomplete. */
export interface ResolvedClassInfo {
  keys?: readonly (readonly string[])[];
  serializer?: ClassSerializer;
}

/** Fills in what a decorator left out, e.g. an ORM entity's primary key. */
export type MetadataResolver = (cls: Class) => ResolvedClassInfo | undefined;

/** One declared key: its attributes as declared and sorted, and a stable id for lookups. */
export interface KeyShape {
  /** Attributes in declaration order, as the user wrote them. */
  readonly declared: readonly string[];
  /** Attributes sorted, the order used in cache keys. */
  readonly attrs: readonly string[];
  /** `attrs` joined by commas: the shape's identity. */
  readonly id: string;
  /** Position among the class's declared keys; 0 is the primary key. */
  readonly index: number;
}

/** Everything stockpyle knows about one class, resolved once and then reused on every call. */
export interface ClassMetadata {
  readonly cls: Class;
  readonly name: string;
  readonly keys: readonly KeyShape[];
  /** Decorated ancestors, nearest first: a polymorphic store also indexes instances under theirs. */
  readonly bases: readonly ClassMetadata[];
  readonly serializer: ClassSerializer | undefined;
  /** Collections declared with `@Stockpyle({ collections })`, inherited from the nearest decorated base. */
  readonly collections: readonly string[];
  /** Finds the key shape a query names; throws `UnknownKeyError`. */
  shapeFor(query: object): KeyShape;
}

interface Declaration {
  readonly cls: Class;
  readonly name: string;
  readonly keys: readonly (readonly string[])[] | undefined;
  readonly collections: readonly string[] | undefined;
}

interface Registry {
  declarations: Map<Class, Declaration>;
  byName: Map<string, Class>;
  resolved: Map<Class, ClassMetadata>;
  resolvers: MetadataResolver[];
  /** The metadata last asked for (`undefined` once anything changes): the hot path. */
  last?: ClassMetadata | undefined;
}

// Kept on globalThis under a registered symbol so two copies of the package share one registry.
const REGISTRY = Symbol.for('stockpyle.metadata.v1');
const globalSlot = globalThis as unknown as { [REGISTRY]?: Registry };

// The registry object is never replaced once made (clearing empties it), so each copy may keep it.
let shared: Registry | undefined;

function registry(): Registry {
  return (shared ??= globalSlot[REGISTRY] ??= {
    declarations: new Map(),
    byName: new Map(),
    resolved: new Map(),
    resolvers: [],
  });
}

function forgetResolved(reg: Registry, cls?: Class): void {
  if (cls === undefined) reg.resolved.clear();
  else reg.resolved.delete(cls);
  reg.last = undefined;
}

function normalizeKeys(clsName: string, keys: unknown): (readonly string[])[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigurationError(`@Stockpyle on ${clsName}: keys must be a non-empty array of attribute names or tuples`);
  }
  const seen = new Set<string>();
  return keys.map((entry: unknown) => {
    const attrs = typeof entry === 'string' ? [entry] : entry;
    if (!Array.isArray(attrs) || attrs.length === 0 || !attrs.every((a) => typeof a === 'string' && a.length > 0)) {
      throw new ConfigurationError(
        `@Stockpyle on ${clsName}: each key must be an attribute name or a non-empty tuple of names, got ${JSON.stringify(entry)}`,
      );
    }
    if (new Set(attrs).size !== attrs.length) {
      throw new ConfigurationError(`@Stockpyle on ${clsName}: key [${attrs.join(', ')}] names an attribute twice`);
    }
    const id = [...attrs].sort().join(',');
    if (seen.has(id)) throw new ConfigurationError(`@Stockpyle on ${clsName}: key [${attrs.join(', ')}] is declared twice`);
    seen.add(id);
    return Object.freeze([...attrs]);
  });
}

function normalizeCollections(clsName: string, collections: unknown): readonly string[] {
  if (!Array.isArray(collections) || !collections.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new ConfigurationError(`@Stockpyle on ${clsName}: collections must be an array of property names, got ${JSON.stringify(collections)}`);
  }
  return Object.freeze([...new Set(collections as string[])]);
}

function claimName(reg: Registry, name: string, cls: Class): void {
  const owner = reg.byName.get(name);
  if (owner !== undefined && owner !== cls) throw DuplicateNameError.forName(name);
  reg.byName.set(name, cls);
}

/**
 * Declares which attributes identify instances of the class. Records metadata only; everything
 * else is resolved on first use, so decorator order relative to ORM decorators does not matter.
 */
export function Stockpyle(options: StockpyleOptions = {}): ClassDecorator {
  return (target) => {
    const cls = target as unknown as Class;
    const name = options.name ?? cls.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigurationError('@Stockpyle: an anonymous class needs a name: @Stockpyle({ name: "..." })');
    }
    const keys = options.keys === undefined ? undefined : normalizeKeys(name, options.keys);
    const collections = options.collections === undefined ? undefined : normalizeCollections(name, options.collections);
    const reg = registry();
    claimName(reg, name, cls);
    reg.declarations.set(cls, { cls, name, keys, collections });
    forgetResolved(reg, cls);
  };
}

/** Lets an integration supply keys or a serializer for classes it knows (first answer wins). */
export function registerMetadataResolver(resolver: MetadataResolver): void {
  const reg = registry();
  if (!reg.resolvers.includes(resolver)) reg.resolvers.push(resolver);
  forgetResolved(reg);
}

function nearestDeclared(cls: Class): Declaration | undefined {
  const reg = registry();
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const decl = reg.declarations.get(c as Class);
    if (decl !== undefined) return decl;
  }
  return undefined;
}

function resolveInfo(cls: Class): ResolvedClassInfo {
  const merged: ResolvedClassInfo = {};
  for (const resolver of registry().resolvers) {
    const info = resolver(cls);
    if (info === undefined) continue;
    merged.keys ??= info.keys;
    merged.serializer ??= info.serializer;
  }
  return merged;
}

function buildShapes(keys: readonly (readonly string[])[]): KeyShape[] {
  return keys.map((declared, index) => {
    const attrs = Object.freeze([...declared].sort());
    return Object.freeze({ declared, attrs, id: attrs.join(','), index });
  });
}

function makeShapeLookup(name: string, shapes: readonly KeyShape[]): (query: object) => KeyShape {
  const byId = new Map(shapes.map((s) => [s.id, s]));
  // Most lookups name the first key, most first keys are one attribute: checked without a map.
  const first = shapes[0]!.attrs.length === 1 ? shapes[0]! : undefined;
  const firstAttr = first?.attrs[0];
  return (query) => {
    if (query === null || typeof query !== 'object') {
      throw new UnknownKeyError(`A query for ${name} must be an object such as { ${shapes[0]!.declared.join(': ..., ')}: ... }`);
    }
    let id = '';
    let count = 0;
    for (const attr in query) {
      id = count === 0 ? attr : `${id}\u0000${attr}`;
      count++;
    }
    if (count === 1 && id === firstAttr) return first!;
    const shape = byId.get(count > 1 ? id.split('\u0000').sort().join(',') : id);
    if (shape === undefined) {
      throw UnknownKeyError.forQuery(name, Object.keys(query), shapes.map((s) => s.declared));
    }
    return shape;
  };
}

/**
 * The resolved metadata of a decorated class, or of an undecorated subclass of one (registered
 * under its own name when first seen). Throws `NotStockpyleClassError` for anything else.
 */
export function getMetadata(cls: Class): ClassMetadata {
  const reg = registry();
  const last = reg.last;
  if (last !== undefined && last.cls === cls) return last;
  const cached = reg.resolved.get(cls);
  if (cached !== undefined) return (reg.last = cached);
  if (typeof cls !== 'function') throw NotStockpyleClassError.forClass(cls);

  const own = reg.declarations.get(cls);
  const ancestor = own ?? nearestDeclared(cls);
  if (ancestor === undefined) throw NotStockpyleClassError.forClass(cls);

  const name = own?.name ?? cls.name;
  if (!name) throw new ConfigurationError('An anonymous subclass of a stockpyle class needs @Stockpyle({ name })');
  if (own === undefined) claimName(reg, name, cls);

  const parent = Object.getPrototypeOf(cls) as Class;
  const parentMeta = nearestDeclared(parent) === undefined ? undefined : getMetadata(parent);
  const info = resolveInfo(cls);
  const keys = own?.keys ?? parentMeta?.keys.map((s) => s.declared) ?? info.keys;
  if (keys === undefined || keys.length === 0) {
    throw new ConfigurationError(
      `${name} declares no keys: use @Stockpyle({ keys: [...] }), or import the ORM integration so its primary key is used`,
    );
  }
  const shapes = buildShapes(keys);
  const meta: ClassMetadata = Object.freeze({
    cls,
    name,
    keys: Object.freeze(shapes),
    bases: Object.freeze(parentMeta === undefined ? [] : [parentMeta, ...parentMeta.bases]),
    serializer: info.serializer ?? parentMeta?.serializer,
    collections: own?.collections ?? parentMeta?.collections ?? Object.freeze([]),
    shapeFor: makeShapeLookup(name, shapes),
  });
  reg.resolved.set(cls, meta);
  return meta;
}

/** The metadata of an instance's class. */
export function metadataOf(obj: object): ClassMetadata {
  if (obj === null || typeof obj !== 'object') {
    throw new NotStockpyleClassError(`Expected an instance of a stockpyle class, got ${obj === null ? 'null' : typeof obj}`);
  }
  return getMetadata(obj.constructor as Class);
}

/** True when the class (or an ancestor) is decorated. */
export function isStockpyleClass(cls: unknown): cls is Class {
  return typeof cls === 'function' && nearestDeclared(cls as Class) !== undefined;
}

/** The class registered under a name, if any: how the codec finds what to rebuild. */
export function classByName(name: string): Class | undefined {
  return registry().byName.get(name);
}

/** Forgets every declaration and resolver; for tests that declare classes again. */
export function clearMetadata(): void {
  const reg = registry();
  reg.declarations.clear();
  reg.byName.clear();
  forgetResolved(reg);
  reg.resolvers.length = 0;
}
