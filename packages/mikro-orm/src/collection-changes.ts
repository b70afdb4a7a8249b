import { ChangeSetType, Reference, ReferenceKind, helper, type AnyEntity, type ChangeSet, type Collection, type EntityMetadata, type EntityProperty, type UnitOfWork } from '@mikro-orm/core';

/** One owner's declared collection whose member list a flush may change. */
export interface CollectionChange {
  readonly owner: EntityMetadata;
  /**
   * What `helper(owner).getPrimaryKey()` returns; for an owner known only by a foreign key, that
   * value. For an owner this flush inserts, read once the insert is done (a serial id is known then).
   */
  readonly ownerPk: unknown;
  readonly prop: string;
}

type Row = Record<string, unknown>;

/**
 * At onFlush (before commit): every (owner, prop) whose members may differ once this flush commits,
 * among the props `declared(meta)` lists. Conservative: where it cannot tell, it reports the
 * collection (an extra invalidation costs a read, a missed one a stale read). The rules are in
 * docs/ARCHITECTURE.md, "Which flushes change a collection".
 */
export function collectionChanges(uow: UnitOfWork, declared: (meta: EntityMetadata) => readonly string[]): CollectionChange[] {
  const out = new ChangeList(declared);
  const sets = changeSetsOf(uow);
  for (const collection of collectionUpdatesOf(uow)) dirtyCollection(uow, out, collection);
  for (const cs of sets) {
    const meta = cs.meta as EntityMetadata;
    const entity = cs.entity as object;
    if (cs.type === ChangeSetType.DELETE || cs.type === ChangeSetType.DELETE_EARLY) {
      // Every collection of a deleted owner is gone.
      for (const prop of out.declaredOn(meta)) out.add(meta, entity, prop);
    }
    for (const link of pivotLinks(meta)) pivotRowOf(uow, out, cs, link);
    for (const { meta: holderMeta, prop } of referencingCollections(meta)) {
      if (!out.declaredOn(holderMeta).includes(prop.name)) continue;
      if (prop.kind === ReferenceKind.ONE_TO_MANY) memberOf(uow, out, cs, holderMeta, prop);
      else if (cs.type === ChangeSetType.DELETE || cs.type === ChangeSetType.DELETE_EARLY) pivotRowsOf(uow, out, entity, holderMeta, prop);
    }
  }
  return out.list;
}

/**
 * A collection the flush writes (added to, removed from, `set`, `removeAll`): it changes, and on a
 * many-to-many so does the other side's collection of every member added or removed.
 */
function dirtyCollection(uow: UnitOfWork, out: ChangeList, collection: Collection<AnyEntity>): void {
  const owner = collection.owner as object;
  const prop = collection.property as EntityProperty;
  const ownerMeta = metaOf(owner);
  out.add(ownerMeta, owner, prop.name);
  if (prop.kind !== ReferenceKind.MANY_TO_MANY) return; // a 1:m member's foreign key moves: see memberOf
  const other = counterpartName(prop);
  const targetMeta = prop.targetMeta as EntityMetadata | undefined;
  if (other === undefined || targetMeta === undefined) return;
  // An unloaded collection holds only what was added to it since: exactly the added members.
  const now = collection.getItems(false) as object[];
  const before = snapshotOf(collection);
  if (before === undefined) {
    // The collection was replaced without being loaded: its earlier members are not known here.
    // Every member it has now, and every loaded entity whose other side lists the owner.
    for (const member of now) out.add(metaOf(member), member, other);
    for (const holder of holdersInIdentityMap(uow, targetMeta, other, owner)) out.add(metaOf(holder), holder, other);
    return;
  }
  const was = new Set(before);
  const is = new Set(now);
  for (const member of now) if (!was.has(member)) out.add(metaOf(member), member, other);
  for (const member of before) if (!is.has(member)) out.add(metaOf(member), member, other);
}

/**
 * A 1:m member (the change set's entity) created, deleted or moved: the owner its foreign key named
 * before the flush (original entity data), and the one it names now.
 */
function memberOf(uow: UnitOfWork, out: ChangeList, cs: ChangeSet<AnyEntity>, holderMeta: EntityMetadata, prop: EntityProperty): void {
  const fk = prop.mappedBy;
  const entity = cs.entity as Row;
  const created = cs.type === ChangeSetType.CREATE;
  const deleted = cs.type === ChangeSetType.DELETE || cs.type === ChangeSetType.DELETE_EARLY;
  const moved = fk in (cs.payload as Row);
  if (!created && !deleted && !moved) return; // its foreign key did not change
  const current = entity[fk];
  if (!deleted || current !== undefined) out.addOwner(holderMeta, current, prop.name);
  if (created) return;
  const original = originalDataOf(uow, cs);
  if (original !== undefined && fk in original) {
    out.addOwner(holderMeta, original[fk], prop.name);
    return;
  }
  // The old owner is not known (an unloaded reference deleted, a partial load): every loaded owner listing it.
  for (const holder of holdersInIdentityMap(uow, holderMeta, prop.name, entity)) out.add(metaOf(holder), holder, prop.name);
}

/** A deleted entity's pivot rows go with it: every many-to-many on the other side that listed it. */
function pivotRowsOf(uow: UnitOfWork, out: ChangeList, entity: object, holderMeta: EntityMetadata, prop: EntityProperty): void {
  const own = counterpartName(prop);
  const collection = own === undefined ? undefined : (entity as Row)[own];
  if (isCollection(collection)) {
    for (const holder of [...(collection.getItems(false) as object[]), ...(snapshotOf(collection) ?? [])]) out.add(metaOf(holder), holder, prop.name);
  }
  for (const holder of holdersInIdentityMap(uow, holderMeta, prop.name, entity)) out.add(metaOf(holder), holder, prop.name);
}

/** A many-to-many whose pivot entity is the change set's class: which of its foreign keys names the owner, which the member. */
interface PivotLink {
  readonly ownerFk: string;
  readonly memberFk: string;
  readonly ownerMeta: EntityMetadata;
  readonly prop: EntityProperty;
}

const pivotLinksOf = new WeakMap<EntityMetadata, PivotLink[]>();
const referencingOf = new WeakMap<EntityMetadata, { meta: EntityMetadata; prop: EntityProperty }[]>();

/** For an entity mapped as a many-to-many's `pivotEntity` (MikroORM 6 names it by class name, 7 by class). */
function pivotLinks(meta: EntityMetadata): PivotLink[] {
  let out = pivotLinksOf.get(meta);
  if (out !== undefined) return out;
  out = [];
  pivotLinksOf.set(meta, out);
  const fks = meta.relations.filter((p) => p.kind === ReferenceKind.MANY_TO_ONE);
  for (const ownerFk of fks) {
    const ownerMeta = ownerFk.targetMeta as EntityMetadata | undefined;
    for (const prop of ownerMeta?.relations ?? []) {
      if (prop.kind !== ReferenceKind.MANY_TO_MANY || !prop.owner) continue;
      const pivot = prop.pivotEntity as unknown;
      if (pivot !== meta.className && pivot !== meta.class) continue;
      const memberFk = fks.find((p) => p !== ownerFk && p.targetMeta === prop.targetMeta);
      if (memberFk !== undefined) out.push({ ownerFk: ownerFk.name, memberFk: memberFk.name, ownerMeta: ownerMeta!, prop: prop as EntityProperty });
    }
  }
  return out;
}

/**
 * A pivot entity's row created, deleted or changed through the unit of work (a many-to-many with
 * `pivotEntity`, written as an entity): the owning side's collection of the owners it named before
 * and after, and the inverse side's of the members.
 */
function pivotRowOf(uow: UnitOfWork, out: ChangeList, cs: ChangeSet<AnyEntity>, link: PivotLink): void {
  const entity = cs.entity as Row;
  const payload = cs.payload as Row;
  if (cs.type === ChangeSetType.UPDATE && !(link.ownerFk in payload) && !(link.memberFk in payload)) return; // its other columns changed
  const original = cs.type === ChangeSetType.CREATE ? undefined : originalDataOf(uow, cs);
  const inverse = counterpartName(link.prop);
  const memberMeta = link.prop.targetMeta as EntityMetadata;
  for (const values of [entity, original ?? {}]) {
    out.addOwner(link.ownerMeta, values[link.ownerFk], link.prop.name);
    if (inverse !== undefined) out.addOwner(memberMeta, values[link.memberFk], inverse);
  }
}

/** The (owner, prop) pairs found so far, once each. */
class ChangeList {
  readonly list: CollectionChange[] = [];
  readonly #seen = new Set<string>();
  /** Owners without a primary key yet, by identity. */
  readonly #pending = new Map<object, Set<string>>();
  readonly #declared = new Map<EntityMetadata, readonly string[]>();

  constructor(private readonly declared: (meta: EntityMetadata) => readonly string[]) {}

  declaredOn(meta: EntityMetadata): readonly string[] {
    let props = this.#declared.get(meta);
    if (props === undefined) {
      props = this.declared(meta);
      this.#declared.set(meta, props);
    }
    return props;
  }

  /** An owner at hand as an entity (or a reference to one). */
  add(meta: EntityMetadata, owner: object, prop: string): void {
    if (!this.declaredOn(meta).includes(prop)) return;
    const pk = primaryKeyOf(owner);
    if (pk !== undefined) {
      this.#push(meta, pk, prop);
      return;
    }
    // Inserted by this flush with a key the database assigns: known once the insert is done.
    let props = this.#pending.get(owner);
    if (props === undefined) this.#pending.set(owner, (props = new Set()));
    const id = `${meta.className}\0${prop}`;
    if (props.has(id)) return;
    props.add(id);
    this.list.push({
      owner: meta,
      prop,
      get ownerPk(): unknown {
        return primaryKeyOf(owner);
      },
    });
  }

  /** An owner named by a foreign key's value: an entity, a reference, or the primary key itself. */
  addOwner(meta: EntityMetadata, value: unknown, prop: string): void {
    if (value === null || value === undefined) return;
    const target = Reference.unwrapReference(value as object);
    if (typeof target === 'object' && !Array.isArray(target) && !(target instanceof Date) && !Buffer.isBuffer(target)) this.add(metaOf(target), target, prop);
    else if (this.declaredOn(meta).includes(prop)) this.#push(meta, target, prop);
  }

  #push(meta: EntityMetadata, pk: unknown, prop: string): void {
    const id = `${meta.className}\0${prop}\0${serialize(pk)}`;
    if (this.#seen.has(id)) return;
    this.#seen.add(id);
    this.list.push({ owner: meta, ownerPk: pk, prop });
  }
}

/** Collections of other entities (or of this one) whose members are of this entity's class. */
function referencingCollections(meta: EntityMetadata): { meta: EntityMetadata; prop: EntityProperty }[] {
  let out = referencingOf.get(meta);
  if (out !== undefined) return out;
  out = [];
  referencingOf.set(meta, out);
  const seen = new Set<EntityProperty>();
  for (const m of meta.root === undefined || meta.root === meta ? [meta] : [meta, meta.root]) {
    for (const ref of m.referencingProperties ?? []) {
      const kind = ref.prop.kind;
      if ((kind !== ReferenceKind.ONE_TO_MANY && kind !== ReferenceKind.MANY_TO_MANY) || seen.has(ref.prop as EntityProperty)) continue;
      seen.add(ref.prop as EntityProperty);
      out.push({ meta: ref.meta as EntityMetadata, prop: ref.prop as EntityProperty });
    }
  }
  return out;
}

/** The property on the other side of a many-to-many (undefined when it is unidirectional). */
function counterpartName(prop: EntityProperty): string | undefined {
  const name = prop.owner ? prop.inversedBy : prop.mappedBy;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Loaded entities of `meta` whose initialized collection `prop` holds `member` (before or after the flush's changes). */
function holdersInIdentityMap(uow: UnitOfWork, meta: EntityMetadata, prop: string, member: object): object[] {
  const out: object[] = [];
  for (const entity of uow.getIdentityMap().values() as object[]) {
    if (!(entity instanceof (meta.class as Function))) continue;
    const collection = (entity as Row)[prop];
    if (!isCollection(collection) || !collection.isInitialized()) continue;
    if (collection.contains(member as AnyEntity, false) || (snapshotOf(collection) ?? []).includes(member)) out.push(entity);
  }
  return out;
}

function primaryKeyOf(entity: object): unknown {
  const pk = helper(entity as AnyEntity).getPrimaryKey();
  return pk === null || pk === undefined || (Array.isArray(pk) && pk.some((p) => p === null || p === undefined)) ? undefined : pk;
}

function isCollection(value: unknown): value is Collection<AnyEntity> {
  return typeof value === 'object' && value !== null && typeof (value as Collection<AnyEntity>).isInitialized === 'function' && 'owner' in value;
}

/** A primary key as a dedup key: the number 1 and the string '1' differ, composite keys are kept in order. */
function serialize(pk: unknown): string {
  if (Array.isArray(pk)) return `[${pk.map(serialize).join(',')}]`;
  if (pk instanceof Date) return `d${pk.getTime()}`;
  if (Buffer.isBuffer(pk)) return `b${pk.toString('hex')}`;
  if (typeof pk === 'object' && pk !== null) return `o${JSON.stringify(pk)}`;
  return `${typeof pk}:${String(pk)}`;
}

// ---- MikroORM's unit of work, as far as this module reads it ------------------------------------
// `getChangeSets()`, `getCollectionUpdates()` and `getOriginalEntityData()` are public methods of
// `UnitOfWork` in MikroORM 6 and 7, `referencingProperties` a public field of `EntityMetadata`; a
// change set's `originalEntity`, a collection's `getSnapshot()` and an entity's `__meta` are marked
// internal. test/collection-changes.integration.test.ts fails when any of them moves.

/** The metadata of an entity (or reference) at hand: its own class's, a subclass's included. */
export function metaOf(entity: object): EntityMetadata {
  return helper(entity as AnyEntity).__meta as EntityMetadata;
}

/** The flush's change sets (creates, updates, deletes; cascades and orphan removals included). */
export function changeSetsOf(uow: UnitOfWork): ChangeSet<AnyEntity>[] {
  return uow.getChangeSets();
}

/** The collections the flush writes (dirty ones; `filterCollectionUpdates` runs only after onFlush). */
export function collectionUpdatesOf(uow: UnitOfWork): Collection<AnyEntity>[] {
  return uow.getCollectionUpdates();
}

/**
 * The entity's data as last loaded or flushed. For an update it is the change set's copy: MikroORM 7
 * overwrites the entity's own snapshot while computing some change sets, before onFlush.
 */
export function originalDataOf(uow: UnitOfWork, cs: ChangeSet<AnyEntity>): Row | undefined {
  return (cs.originalEntity ?? uow.getOriginalEntityData(cs.entity)) as Row | undefined;
}

/** The members a collection had when loaded or last flushed; undefined once replaced without loading. */
export function snapshotOf(collection: Collection<AnyEntity>): object[] | undefined {
  return (collection as unknown as { getSnapshot(): object[] | undefined }).getSnapshot();
}
