import { ReferenceKind, Utils, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import { getMetadata, isStockpyleClass, Stockpyle, type Class } from '@stockpyle/core';
import { CollectionDeclarationError } from './errors';

/**
 * A declared collection of one owner, as a cache tier holds it: its members' primary keys, in the
 * order the database gave them (Hibernate's collection cache). It is a stockpyle object of its
 * own, keyed by one string naming the owner's class, the property and the owner's primary key, so
 * it goes through the chain's protocol like any entity: reservations, settled tombstones after a
 * commit, conditional fills (docs/ARCHITECTURE.md, "Entities in a MikroORM application").
 */
@Stockpyle({ keys: ['key'], name: 'stockpyle.Collection' })
export class CollectionEntry {
  constructor(
    /** `Owner.prop:<owner primary key as JSON>` (see `collectionKey`). */
    public key: string,
    /** The members' primary keys (an array for a composite key), in load order. */
    public members: unknown[],
  ) {}
}

/** The entry's key: the owner's stockpyle name (never a class name two classes could share), the property and its primary key. */
export function collectionKey(owner: EntityMetadata, prop: string, ownerPk: unknown): string {
  return `${getMetadata(owner.class as Class).name}.${prop}:${JSON.stringify(ownerPk)}`;
}

/** What an entry's key names, or `undefined` when it names no declared collection of this ORM. */
export function parseCollectionKey(key: string, find: (name: string) => EntityMetadata | undefined): { owner: EntityMetadata; prop: EntityProperty; ownerPk: unknown } | undefined {
  const colon = key.indexOf(':');
  const dot = key.lastIndexOf('.', colon);
  if (colon < 0 || dot < 0) return undefined;
  const owner = find(key.slice(0, dot));
  const prop = owner?.properties[key.slice(dot + 1, colon) as never] as EntityProperty | undefined;
  if (owner === undefined || prop === undefined || !declaredCollections(owner).includes(prop.name)) return undefined;
  try {
    return { owner, prop, ownerPk: JSON.parse(key.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

const checked = new WeakMap<EntityMetadata, readonly string[]>();

/**
 * The collections of an entity class declared with `@Stockpyle({ collections })`, checked once
 * against the ORM's metadata: each must be a `@OneToMany` or `@ManyToMany` whose members are
 * `@Stockpyle` entities keyed by their primary key.
 */
export function declaredCollections(meta: EntityMetadata): readonly string[] {
  let props = checked.get(meta);
  if (props !== undefined) return props;
  props = isStockpyleClass(meta.class) ? getMetadata(meta.class as Class).collections : [];
  for (const name of props) {
    const prop = meta.properties[name as never] as EntityProperty | undefined;
    if (prop === undefined || (prop.kind !== ReferenceKind.ONE_TO_MANY && prop.kind !== ReferenceKind.MANY_TO_MANY)) {
      throw CollectionDeclarationError.notACollection(meta.className, name);
    }
    const target = prop.targetMeta;
    if (target === undefined || !isStockpyleClass(target.class) || !Utils.equals(getMetadata(target.class as Class).keys[0]!.attrs, [...target.primaryKeys].sort())) {
      throw CollectionDeclarationError.membersNotCached(meta.className, name, prop.type);
    }
  }
  checked.set(meta, props);
  return props;
}
