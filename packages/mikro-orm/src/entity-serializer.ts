import { Buffer } from 'node:buffer';
import { helper, Reference, ReferenceKind, ScalarReference, type EntityFactory, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import type { Class, ClassSerializer } from '@stockpyle/core';

type Row = Record<string, unknown>;
type FactoryPrototype = { __factory?: EntityFactory; __meta?: EntityMetadata } | undefined;

/**
 * What a cache tier keeps of an entity: the row it maps to, in JavaScript values. Scalars (dates,
 * buffers, JSON), embeddables as plain objects, and each to-one relation that owns its foreign key
 * as the related primary key. Collections, inverse sides and anything not persisted are left out,
 * so a cached entity never drags its loaded graph along.
 */
export function entityToPlain(entity: object, meta: EntityMetadata): Row {
  const out: Row = {};
  for (const prop of cachedProps(meta)) {
    const raw = (entity as Row)[prop.name];
    // Most properties are plain scalars: no reference to unwrap, no relation to follow.
    const value = prop.kind === ReferenceKind.SCALAR && (raw === null || typeof raw !== 'object') ? raw : plainValue(prop, raw);
    if (value !== undefined) out[prop.name] = value;
  }
  return out;
}

const cachedPropsOf = new WeakMap<EntityMetadata, readonly EntityProperty[]>();

/** The properties `entityToPlain` may keep, worked out once per entity class (metadata is fixed once discovered). */
function cachedProps(meta: EntityMetadata): readonly EntityProperty[] {
  let props = cachedPropsOf.get(meta);
  if (props === undefined) {
    props = meta.props.filter((prop) => prop.persist !== false && prop.embedded === undefined && isCachedKind(prop));
    cachedPropsOf.set(meta, props);
  }
  return props;
}

function isCachedKind(prop: EntityProperty): boolean {
  switch (prop.kind) {
    case ReferenceKind.SCALAR:
    case ReferenceKind.EMBEDDED:
    case ReferenceKind.MANY_TO_ONE:
      return true;
    case ReferenceKind.ONE_TO_ONE:
      return prop.owner === true;
    default:
      return false;
  }
}

function plainValue(prop: EntityProperty, raw: unknown): unknown {
  switch (prop.kind) {
    case ReferenceKind.SCALAR: {
      if (!ScalarReference.isScalarReference(raw)) return raw;
      return raw.isInitialized() ? raw.unwrap() : undefined;
    }
    case ReferenceKind.EMBEDDED:
      if (raw === null || raw === undefined) return raw;
      return Array.isArray(raw) ? raw.map((e) => embeddableToPlain(e as object, prop)) : embeddableToPlain(raw as object, prop);
    case ReferenceKind.MANY_TO_ONE:
    case ReferenceKind.ONE_TO_ONE: {
      if (prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner) return undefined;
      const target = Reference.unwrapReference(raw as object);
      if (target === null || target === undefined || prop.mapToPk) return target;
      return helper(target).getPrimaryKey();
    }
    default:
      return undefined;
  }
}

function embeddableToPlain(value: object, prop: EntityProperty): Row {
  // A polymorphic embeddable is serialized by its own class, whose discriminator comes along.
  const meta = (Object.getPrototypeOf(value) as FactoryPrototype)?.__meta ?? prop.targetMeta;
  return meta === undefined ? { ...(value as Row) } : entityToPlain(value, meta);
}

/**
 * Rebuilds an instance of `cls` from `entityToPlain` data the way MikroORM's own result cache does
 * (its entity factory, no constructor, relations as unloaded references), attached to nothing.
 */
export function plainToEntity(cls: Class, data: Row): object {
  const factory = (cls.prototype as FactoryPrototype)?.__factory;
  if (factory === undefined) return Object.assign(Object.create(cls.prototype as object) as object, data);
  return factory.create(cls as never, data as never, { merge: false, newEntity: false, initialized: true, convertCustomTypes: false });
}

/** A deep copy of plain data: new Dates, Buffers, arrays and objects, so two copies share nothing mutable. */
export function cloneRow(value: unknown): unknown {
  return clonePlain(value);
}

function clonePlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map(clonePlain);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, clonePlain(v)]));
  if (value instanceof Set) return new Set([...value].map(clonePlain));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Row = {};
  for (const key of Object.keys(value)) out[key] = clonePlain((value as Row)[key]);
  return out;
}

/** A detached copy of an entity holding exactly what a cache tier would hold. */
export function copyEntity(entity: object, meta: EntityMetadata): object {
  return plainToEntity(meta.class as Class, clonePlain(entityToPlain(entity, meta)) as Row);
}

function metaOf(cls: unknown): EntityMetadata | undefined {
  const meta = (typeof cls === 'function' ? (cls.prototype as FactoryPrototype) : undefined)?.__meta;
  return meta !== undefined && meta.class === cls ? meta : undefined;
}

/**
 * The codec's serializer for entity classes. Until an ORM has discovered a class in this process
 * there is no metadata to go by, and an instance is kept as its own enumerable fields.
 */
export const entitySerializer: ClassSerializer = {
  toPlain(obj) {
    const meta = metaOf(obj.constructor);
    return meta === undefined ? { ...(obj as Row) } : entityToPlain(obj, meta);
  },
  fromPlain(cls, data) {
    return plainToEntity(cls, data);
  },
  copy(obj) {
    return plainToEntity(obj.constructor as Class, clonePlain(entitySerializer.toPlain(obj)) as Row);
  },
};
