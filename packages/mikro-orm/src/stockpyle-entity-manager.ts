import { helper, Reference, ReferenceKind, Utils, type EntityManager, type EntityMetadata, type EntityProperty, type PopulateOptions } from '@mikro-orm/core';
import { getMetadata, isStockpyleClass, type ChainedStore, type Class, type KeyShape } from '@stockpyle/core';
import { assemble, assemblingInto, isReadingDatabase } from './assemble';
import { CollectionEntry, collectionKey, declaredCollections } from './collection-entry';
import { entityName, filtersApply, flushBeforeRead, preparedPopulate } from './orm-internals';
import { splitPopulate } from './populate-split';
import { keyQueriesOf, servedOptions } from './served-read';
import { StockpyleSubscriber } from './stockpyle.subscriber';

type Row = Record<string, unknown>;
type Options = Row & { populate?: unknown; filters?: unknown; refresh?: boolean };
type Hint = PopulateOptions<object>;
// MikroORM's own mixin-free classes take (config, driver, metadata, useContext, eventManager).
type EntityManagerClass = new (...args: any[]) => EntityManager; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a served read needs: the chain (with this ORM's `MikroOrmStore` at the bottom) and the subscriber that knows what transactions wrote. */
interface Cache {
  readonly chain: ChainedStore;
  readonly subscriber: StockpyleSubscriber;
}

const caches = new WeakMap<object, Cache>();

/** The second-level cache of an EntityManager: the `StockpyleSubscriber` on its event manager that was given a chain over this ORM. */
function cacheOf(em: EntityManager): Cache | undefined {
  // Looked up until found (the subscriber may be registered after init), then kept per event manager.
  const events = em.getEventManager();
  let cache = caches.get(events);
  if (cache !== undefined) return cache;
  for (const s of events.getSubscribers()) {
    const chain = s instanceof StockpyleSubscriber ? s.readThroughFor(em) : undefined;
    if (chain !== undefined) cache ??= { chain, subscriber: s as StockpyleSubscriber };
  }
  if (cache !== undefined) caches.set(events, cache);
  return cache;
}

/**
 * The EntityManager class of the application's driver (`EntityManager` from `@mikro-orm/postgresql`,
 * …) with the second-level cache: give the result as the ORM's `entityManager` option. Reads whose
 * `where` is exactly one declared key are answered by the chain of the registered
 * `StockpyleSubscriber` and hydrated into the EntityManager that asked, as a database row would be;
 * everything else is the driver's own EntityManager, untouched (packages/mikro-orm/README.md).
 */
export function stockpyleEntityManager<B extends EntityManagerClass>(Base: B): B {
  class StockpyleEntityManager extends Base {
    /** Served from the caches when `where` is one declared key and the options allow it; else MikroORM's own `findOne`. */
    override async findOne(name: any, where: any, options?: any): Promise<any> {
      const em = this.getContext() as this;
      const read = await plan(em, name, where, options, false);
      if (read === undefined) return super.findOne(name, where, options);
      const [found] = await load(em, read);
      if (found === undefined) return null;
      await walk(em, read.meta, [found], await hintsFor(em, read.meta, options?.populate, options?.filters), options ?? {}, (es, hints, o) => super.populate(es, hints as never, o as never));
      return found;
    }

    /** `{ pk: { $in: [...] } }` (or any one declared key, or a list of one-attribute key values) from the caches; else MikroORM's own `find`. */
    override async find(name: any, where: any, options?: any): Promise<any> {
      const em = this.getContext() as this;
      const read = await plan(em, name, where, options, true);
      if (read === undefined) return findThenPopulate(em, name, where, options, (o) => super.find(name, where, o as never) as Promise<object[]>, (es, hints, o) => super.populate(es, hints as never, o as never));
      const found = Utils.unique((await load(em, read)).filter((e): e is object => e !== undefined));
      await walk(em, read.meta, found, await hintsFor(em, read.meta, options?.populate, options?.filters), options ?? {}, (es, hints, o) => super.populate(es, hints as never, o as never));
      return found;
    }

    /** Relations and declared collections from the caches where they are cached, the rest by MikroORM's own `populate`. */
    override async populate(entities: any, populate: any, options?: any): Promise<any> {
      const em = this.getContext() as this;
      const list = Utils.asArray(entities) as object[];
      const meta = list.length === 0 ? undefined : helper(list[0]!).__meta;
      const cache = meta === undefined || isReadingDatabase() || !servedOptions(options, defaultSchema(em, meta)) ? undefined : cacheOf(em);
      if (cache === undefined || meta === undefined || populate === false) return super.populate(entities, populate, options);
      await walk(em, meta, list, await preparedPopulate(em, meta, populate, options?.filters), options ?? {}, (es, hints, o) => super.populate(es, hints as never, o as never));
      return entities;
    }
  }
  Object.defineProperty(StockpyleEntityManager, 'name', { value: `Stockpyle${Base.name}` });
  return StockpyleEntityManager;
}

/**
 * A find the caches cannot answer: the database query, with the populate hints the caches answer
 * taken out (populate-split.ts), then those hints from the caches, as on a served read.
 */
async function findThenPopulate(em: EntityManager, name: unknown, where: unknown, options: Options | undefined, find: (options: Options | undefined) => Promise<object[]>, delegate: Delegate): Promise<object[]> {
  const cache = isReadingDatabase() ? undefined : cacheOf(em);
  const meta = cache === undefined ? undefined : (em.getMetadata().find(name as never) as EntityMetadata | undefined);
  const split = meta === undefined || meta.virtual || meta.embeddable || options?.schema !== undefined ? undefined : splitPopulate(meta, where, options);
  if (split === undefined || cache!.subscriber.wroteInTransaction(em, meta!)) return find(options);
  const found = await find({ ...options, populate: split.database });
  if (found.length === 0) return found;
  await walk(em, meta!, found, await preparedPopulate(em, meta!, split.cached, options?.filters), options ?? {}, delegate);
  // What the entities serialize: every hint asked (and the eager ones), as the database read would have set.
  const all = await preparedPopulate(em, meta!, options?.populate, options?.filters);
  for (const e of found) helper(e).setSerializationContext({ populate: all as never, fields: undefined, exclude: undefined } as never);
  return found;
}

/** A read the caches answer: which entity, by which key, and what the identity map already holds. */
interface Read {
  readonly meta: EntityMetadata;
  readonly shape: KeyShape;
  readonly queries: Row[];
  readonly cache: Cache;
  readonly refresh: boolean;
}

/** Whether the caches may answer this read, and how; `undefined` sends it to the database untouched. */
async function plan(em: EntityManager, name: unknown, where: unknown, options: Options | undefined, many: boolean): Promise<Read | undefined> {
  if (isReadingDatabase()) return undefined;
  const cache = cacheOf(em);
  if (cache === undefined) return undefined;
  const meta = em.getMetadata().find(name as never) as EntityMetadata | undefined;
  if (meta === undefined || meta.virtual || meta.embeddable || !servedOptions(options, defaultSchema(em, meta))) return undefined;
  const keyed = keyQueriesOf(meta, where, many);
  if (keyed === undefined) return undefined;
  if (await filtersApply(em, meta, options?.filters, options ?? {})) return undefined;
  if (cache.subscriber.wroteInTransaction(em, meta)) return undefined;
  const refresh = options?.refresh === true;
  // A refresh reloads what is loaded: only references not loaded yet are served (`wrap(ref).init()`).
  if (refresh && !keyed.queries.every((q) => isPrimaryKeyQuery(meta, q) && loaded(em, meta, q) === undefined)) return undefined;
  await flushBeforeRead(em, meta, options ?? {});
  return { meta, shape: keyed.shape, queries: keyed.queries, cache, refresh };
}

/** The schema a read of this entity uses when none is given. */
function defaultSchema(em: EntityManager, meta: EntityMetadata): string | undefined {
  return meta.schema ?? (em.config.get('schema') as string | undefined);
}

function isPrimaryKeyQuery(meta: EntityMetadata, query: Row): boolean {
  const keys = Object.keys(query);
  return meta.primaryKeys.length === 1 && keys.length === 1 && keys[0] === meta.primaryKeys[0];
}

/**
 * Per EntityManager, the instances served by an alternate key, so that a second find by that key
 * in one context is answered by the identity map as a find by primary key is (MikroORM's identity
 * map knows primary keys only). Checked on use: still in the identity map, still with those values.
 */
const byAlternateKey = new WeakMap<EntityManager, Map<string, object>>();

function alternateKey(meta: EntityMetadata, query: Row): string {
  let key = meta.className;
  // Typed values, so that the number 1 and the string '1' stay different keys; attributes sorted.
  for (const a of Object.keys(query).sort()) key += `\u0000${a}\u0000${typeof query[a]}:${String(query[a])}`;
  return key;
}

/** The initialized instance the identity map holds for a query, if any. */
function loaded(em: EntityManager, meta: EntityMetadata, query: Row): object | undefined {
  if (!isPrimaryKeyQuery(meta, query)) {
    const found = byAlternateKey.get(em)?.get(alternateKey(meta, query));
    if (found !== undefined && Object.keys(query).every((a) => (found as Row)[a] === query[a]) && byId(em, meta, helper(found).getPrimaryKey()) === found) return found;
    return withValues(em, meta, query);
  }
  return byId(em, meta, query[meta.primaryKeys[0]!]);
}

/**
 * The managed, initialized instance of this class in the identity map whose key attributes have
 * these values, in the instance and in its row as last read or flushed: what a database read by
 * that unique key would return and merge into, e.g. the entity this context has just created or
 * renamed and flushed.
 */
function withValues(em: EntityManager, meta: EntityMetadata, query: Row): object | undefined {
  const attrs = Object.keys(query);
  for (const e of em.getUnitOfWork().getIdentityMap().getStore(meta.root).values()) {
    if (!(e instanceof (meta.class as Function)) || !helper(e).__initialized) continue;
    // Both the instance's values and those of its row as last read or flushed: a key changed and
    // not flushed is not what the database holds (MikroORM flushes before a read only what it
    // knows to be changed), so that read is left to the caches and the database.
    const row = helper(e).__originalEntityData as Row | undefined;
    if (row !== undefined && attrs.every((a) => (e as Row)[a] === query[a] && row[a] === query[a])) return byId(em, meta, helper(e).getPrimaryKey()) === e ? e : undefined;
  }
  return undefined;
}

function byId(em: EntityManager, meta: EntityMetadata, pk: unknown): object | undefined {
  const found = em.getUnitOfWork().getById(entityName(meta) as never, pk as never) as object | undefined;
  return found !== undefined && helper(found).__initialized ? found : undefined;
}

function remember(em: EntityManager, meta: EntityMetadata, query: Row, entity: object): void {
  if (isPrimaryKeyQuery(meta, query)) return;
  let map = byAlternateKey.get(em);
  if (map === undefined) byAlternateKey.set(em, (map = new Map()));
  map.set(alternateKey(meta, query), entity);
}

const eagerOf = new WeakMap<EntityMetadata, boolean>();

/** The hints a find follows; none to compute when nothing is asked and nothing is eager (the common by-key read). */
async function hintsFor(em: EntityManager, meta: EntityMetadata, populate: unknown, filters: unknown): Promise<Hint[]> {
  let eager = eagerOf.get(meta);
  if (eager === undefined) eagerOf.set(meta, (eager = meta.relations.some((p) => p.eager === true)));
  if (!eager && (populate === undefined || populate === false || (Array.isArray(populate) && populate.length === 0))) return [];
  return preparedPopulate(em, meta, populate ?? [], filters);
}

/** The identity map first, then the chain for the rest, each hit hydrated into `em`; in the asked order. */
async function load(em: EntityManager, read: Read): Promise<(object | undefined)[]> {
  const out: (object | undefined)[] = read.queries.map((q) => (read.refresh ? undefined : loaded(em, read.meta, q)));
  const missing = out.flatMap((e, i) => (e === undefined ? [i] : []));
  if (missing.length === 0) return out;
  const chain = read.cache.chain;
  const got =
    missing.length === 1
      ? [await assemblingInto(em, () => chain.get(read.meta.class as never, read.queries[missing[0]!] as never))]
      : await assemblingInto(em, () => chain.batchGet(read.meta.class as never, missing.map((i) => read.queries[i]!) as never));
  missing.forEach((i, j) => {
    const obj = got[j] as object | undefined;
    out[i] = obj === undefined ? undefined : assemble(em, helper(obj).__meta, obj);
    if (out[i] !== undefined) remember(em, read.meta, read.queries[i]!, out[i]!);
  });
  return out;
}

type Delegate = (entities: object[], hints: Hint[], options: Options) => Promise<unknown>;

/**
 * Loads what the populate hints (eager relations included) ask for on `entities`, as MikroORM's own
 * populate would: to-one relations to `@Stockpyle` entities and declared collections from the
 * caches, anything else by MikroORM (`delegate`), whose own loads of to-one targets come back
 * through this EntityManager's `find`.
 */
async function walk(em: EntityManager, meta: EntityMetadata, entities: readonly object[], hints: readonly Hint[], options: Options, delegate: Delegate): Promise<void> {
  if (entities.length === 0) return;
  for (const e of entities) helper(e).setSerializationContext({ populate: hints as never, fields: undefined, exclude: undefined } as never);
  const toMikroOrm: Hint[] = [];
  for (const hint of hints) {
    const [field, ref] = (hint.field as string).split(':');
    const prop = meta.properties[field as never] as EntityProperty | undefined;
    if (hint.all === true || prop === undefined || prop.targetMeta === undefined || ref !== undefined) {
      toMikroOrm.push(hint);
      continue;
    }
    const children = (hint.children ?? []) as Hint[];
    if (prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner === true)) {
      if (!(await toOne(em, prop, entities, children, options, delegate))) toMikroOrm.push(hint);
    } else if ((prop.kind === ReferenceKind.ONE_TO_MANY || prop.kind === ReferenceKind.MANY_TO_MANY) && declaredCollections(meta).includes(prop.name)) {
      const rest = await collection(em, meta, prop, entities, children, options, delegate);
      if (rest.length > 0) await delegate([...rest], [hint], options);
    } else {
      toMikroOrm.push(hint);
    }
  }
  if (toMikroOrm.length > 0) await delegate([...entities], toMikroOrm, options);
}

/** A to-one relation to a `@Stockpyle` entity: its unloaded targets by primary key through `find` (served), then their own hints. */
async function toOne(em: EntityManager, prop: EntityProperty, entities: readonly object[], children: Hint[], options: Options, delegate: Delegate): Promise<boolean> {
  const target = prop.targetMeta!;
  if (!isStockpyleClass(target.class) || target.primaryKeys.length !== 1 || prop.targetKey !== undefined) return false;
  if (getMetadata(target.class as Class).keys[0]!.id !== target.primaryKeys[0]) return false;
  const targets = Utils.unique(entities.map((e) => Reference.unwrapReference((e as Row)[prop.name] as object)).filter((t): t is object => t !== null && t !== undefined));
  const unloaded = targets.filter((t) => !helper(t).__initialized);
  if (unloaded.length > 0) {
    const pk = target.primaryKeys[0]!;
    await em.find(target.class as never, { [pk]: { $in: unloaded.map((t) => helper(t).getPrimaryKey()) } } as never, { populate: false, filters: options.filters } as never);
  }
  await walk(em, target, targets.filter((t) => helper(t).__initialized), children, options, delegate);
  return true;
}

/**
 * A declared collection: each owner's entry (member primary keys) from the chain, the members by
 * primary key through `find` (served), then their own hints. Owners whose collection is loaded
 * already, whose entry is missing, or whose entry disagrees with a member's row are returned: MikroORM
 * loads those from the database.
 */
async function collection(em: EntityManager, meta: EntityMetadata, prop: EntityProperty, entities: readonly object[], children: Hint[], options: Options, delegate: Delegate): Promise<object[]> {
  const target = prop.targetMeta!;
  const owners = entities.filter((e) => !((e as Row)[prop.name] as { isInitialized(): boolean }).isInitialized());
  const loadedOwners = entities.filter((e) => !owners.includes(e));
  // A refresh of a loaded collection reloads it from the database; a load is served.
  const rest = options.refresh === true ? loadedOwners : [];
  const served: object[] = options.refresh === true ? [] : loadedOwners.flatMap((o) => ((o as Row)[prop.name] as { getItems(): object[] }).getItems());
  if (owners.length === 0 || meta.compositePK || target.compositePK || (await filtersApply(em, target, options.filters, {}))) {
    await walk(em, target, Utils.unique(served), children, options, delegate);
    return [...rest, ...owners];
  }
  const cache = cacheOf(em)!;
  const entries = (await assemblingInto(em, () =>
    cache.chain.batchGet(CollectionEntry, owners.map((o) => ({ key: collectionKey(meta, prop.name, helper(o).getPrimaryKey()) }))),
  )) as (CollectionEntry | undefined)[];
  const pks = Utils.unique(entries.flatMap((entry) => entry?.members ?? []));
  const pk = target.primaryKeys[0]!;
  const members = pks.length === 0 ? [] : ((await em.find(target.class as never, { [pk]: { $in: pks } } as never, { populate: false, filters: options.filters } as never)) as object[]);
  const byPk = new Map<string, object>(members.map((m) => [helper(m).getSerializedPrimaryKey() as string, m]));
  owners.forEach((owner, i) => {
    const entry = entries[i];
    const items = entry?.members.map((m) => byPk.get(String(m)));
    // A member gone, or (one-to-many) one whose row names another owner: the entry is out of date, read the database.
    if (items === undefined || items.some((m) => m === undefined || (prop.kind === ReferenceKind.ONE_TO_MANY && !ownedBy(m, prop.mappedBy as string, owner)))) {
      rest.push(owner);
      return;
    }
    ((owner as Row)[prop.name] as { hydrate(items: object[], force?: boolean): void }).hydrate(items as object[], prop.kind === ReferenceKind.MANY_TO_MANY ? true : undefined);
    served.push(...(items as object[]));
  });
  await walk(em, target, Utils.unique(served), children, options, delegate);
  return rest;
}

function ownedBy(member: object, mappedBy: string, owner: object): boolean {
  const ref = Reference.unwrapReference((member as Row)[mappedBy] as object);
  return ref === owner || (ref !== null && ref !== undefined && helper(ref).getSerializedPrimaryKey() === helper(owner).getSerializedPrimaryKey());
}
