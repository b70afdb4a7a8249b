import { ChangeSetType, helper, Reference, ReferenceKind, type EntityMetadata, type EntityProperty, type UnitOfWork } from '@mikro-orm/core';

/** One owner's declared collection whose member list a flush may change. */
export interface CollectionChange {
  readonly owner: EntityMetadata;
  readonly ownerPk: unknown;
  readonly prop: string;
}

type Row = Record<string, unknown>;

/**
 * A stand-in until `collection-changes.ts` lands (same signature): at `onFlush` (before commit),
 * the (owner, prop) pairs among the props `declared(meta)` lists whose members may differ once the
 * flush commits. It covers a one-to-many member created, deleted or moved to another owner (its
 * foreign key changed), an owner deleted, and many-to-many collections changed on either side.
 */
export function collectionChanges(uow: UnitOfWork, declared: (meta: EntityMetadata) => readonly string[]): CollectionChange[] {
  const out = new Map<string, CollectionChange>();
  const add = (owner: EntityMetadata, ownerPk: unknown, prop: string): void => {
    if (ownerPk === null || ownerPk === undefined || !declared(owner).includes(prop)) return;
    out.set(`${owner.className}\u0000${prop}\u0000${JSON.stringify(ownerPk)}`, { owner, ownerPk, prop });
  };
  const ownerPk = (value: unknown): unknown => {
    const ref = Reference.unwrapReference(value as object);
    if (ref === null || ref === undefined) return undefined;
    return typeof ref === 'object' ? helper(ref).getPrimaryKey() : ref;
  };
  for (const cs of uow.getChangeSets()) {
    const meta = helper(cs.entity).__meta;
    if (cs.type === ChangeSetType.DELETE) for (const prop of declared(meta)) add(meta, helper(cs.entity).getPrimaryKey(), prop);
    for (const prop of meta.relations) {
      if (prop.kind !== ReferenceKind.MANY_TO_ONE) continue;
      for (const inverse of inversesOf(prop, meta)) {
        const target = prop.targetMeta!;
        const now = ownerPk((cs.entity as Row)[prop.name]);
        const before = ownerPk((cs.originalEntity as Row | undefined)?.[prop.name] ?? (helper(cs.entity).__originalEntityData as Row | undefined)?.[prop.name]);
        if (cs.type === ChangeSetType.CREATE || cs.type === ChangeSetType.DELETE) {
          add(target, now ?? before, inverse.name);
        } else if (prop.name in cs.payload) {
          add(target, now, inverse.name);
          add(target, before, inverse.name);
        }
      }
    }
  }
  for (const coll of uow.getCollectionUpdates()) {
    const prop = coll.property;
    if (prop.kind !== ReferenceKind.MANY_TO_MANY) continue;
    const ownerMeta = helper(coll.owner).__meta;
    add(ownerMeta, helper(coll.owner).getPrimaryKey(), prop.name);
    const other = prop.owner ? prop.inversedBy : prop.mappedBy;
    if (other === undefined) continue;
    const items = new Set<object>([...coll.getItems(false), ...((coll.getSnapshot() as object[] | undefined) ?? [])]);
    for (const item of items) add(prop.targetMeta!, helper(item).getPrimaryKey(), other);
  }
  return [...out.values()];
}

/** The one-to-many collections of the target that a many-to-one property of `meta` is the owning side of. */
function inversesOf(prop: EntityProperty, meta: EntityMetadata): EntityProperty[] {
  const target = prop.targetMeta;
  if (target === undefined) return [];
  return target.relations.filter((p) => p.kind === ReferenceKind.ONE_TO_MANY && p.mappedBy === prop.name && p.targetMeta?.root === meta.root);
}
