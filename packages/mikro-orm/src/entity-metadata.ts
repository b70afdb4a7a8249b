import type { EntityMetadata } from '@mikro-orm/core';
import { registerMetadataResolver, type Class, type ResolvedClassInfo } from '@stockpyle/core';
import { decoratorMetadataReader } from './decorator-metadata';
import { entitySerializer } from './entity-serializer';

type Prototype = { __meta?: EntityMetadata } | undefined;

/**
 * The metadata an ORM discovered for exactly this class (MikroORM puts it on the prototype at
 * discovery), or `undefined` for embeddables, undiscovered classes and undecorated subclasses.
 */
export function discoveredMetadata(cls: unknown): EntityMetadata | undefined {
  if (typeof cls !== 'function') return undefined;
  const meta = (cls.prototype as Prototype)?.__meta;
  return meta !== undefined && meta.class === cls && !meta.embeddable && !meta.virtual ? meta : undefined;
}

/** What MikroORM's decorators recorded on exactly this class, before any ORM discovered it. */
function decoratorMetadata(cls: Function): EntityMetadata | undefined {
  return decoratorMetadataReader().read(cls);
}

/** True for a class that MikroORM maps as an entity (decorated, or discovered from a schema). */
export function isEntityClass(cls: unknown): boolean {
  if (discoveredMetadata(cls) !== undefined) return true;
  if (typeof cls !== 'function') return false;
  const meta = decoratorMetadata(cls);
  return meta !== undefined && meta.class === cls && !meta.embeddable;
}

/** Primary key property names, from discovered metadata or else from the decorators up the class chain. */
export function primaryKeyOf(cls: Function): string[] | undefined {
  const discovered = discoveredMetadata(cls);
  if (discovered !== undefined && discovered.primaryKeys.length > 0) return [...discovered.primaryKeys];
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const meta = decoratorMetadata(c);
    if (meta === undefined) continue;
    const keys = Object.values(meta.properties)
      .filter((p) => p.primary)
      .map((p) => p.name as string);
    if (keys.length > 0) return keys;
  }
  return undefined;
}

/**
 * Tells stockpyle about MikroORM entities: `@Stockpyle()` without keys means the primary key, and
 * the codec caches an entity's own state only (see `entity-serializer.ts`).
 */
function resolveEntity(cls: Class): ResolvedClassInfo | undefined {
  if (!isEntityClass(cls)) return undefined;
  const pk = primaryKeyOf(cls);
  return { keys: pk === undefined ? undefined : [pk], serializer: entitySerializer };
}

registerMetadataResolver(resolveEntity);
