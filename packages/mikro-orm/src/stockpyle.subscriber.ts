import { ChangeSetType, helper, type ChangeSet, type EntityManager, type EntityMetadata, type EventArgs, type EventSubscriber, type FlushEventArgs, type TransactionEventArgs, type UnitOfWork } from '@mikro-orm/core';
import { ChainedStore, ConfigurationError, isCacheTier, isStockpyleClass, metadataOf, type Bus, type Store, type StoreEvent } from '@stockpyle/core';
import { CollectionEntry, collectionKey, declaredCollections } from './collection-entry';
// Until collection-changes.ts lands: the same function, covering fewer cases.
import { collectionChanges } from './collection-changes';
import './entity-metadata';
import { MikroOrmStore } from './mikro-orm-store';
import { TransactionTree } from './transaction-tree';

/** Options of `StockpyleSubscriber`. */
export interface StockpyleSubscriberOptions {
  /**
   * The caches to keep right: a `ChainedStore` (only its cache tiers are touched, never the
   * database below them) or a single cache tier.
   */
  store: Store;
  /**
   * Told when a single cache tier given as `store` could not be invalidated (the commit itself
   * succeeded; the subscriber retries before its next invalidation). A given `ChainedStore` reports
   * through its own `'error'` events, and replays the invalidation before it reads that tier again.
   * @default a process warning
   */
  onError?: (event: StoreEvent) => void;
  /**
   * With a single cache tier as `store`: publish what is invalidated on this bus, so that other
   * processes drop it from their in-process tiers (docs/ARCHITECTURE.md, "The bus"). A given
   * `ChainedStore` publishes on its own bus (`new ChainedStore(stores, { bus })`); giving both is
   * a `ConfigurationError`.
   */
  bus?: Bus;
}

/** One changed entity of a flush: the entity, its old key values where they changed, whether it is new. */
interface Change {
  readonly entity: object;
  readonly old: object | undefined;
  readonly created?: boolean;
}

type Row = Record<string, unknown>;

/**
 * A MikroORM event subscriber that invalidates cached copies of the entities an EntityManager
 * writes, once the transaction that wrote them has committed (nothing on rollback). It only ever
 * invalidates: a value written into a cache after a commit could land after a newer commit's, so
 * the next read fills the caches from the database instead, through the chain's conditional fills.
 */
export class StockpyleSubscriber implements EventSubscriber {
  readonly #caches: ChainedStore;
  readonly #onError: (event: StoreEvent) => void;
  /** A flush's changes from `onFlush` until the transaction it opened commits. */
  readonly #flushes = new WeakMap<UnitOfWork, Change[]>();
  /** Objects to invalidate when an explicit (root) transaction commits. */
  readonly #transactions = new WeakMap<object, object[]>();
  /** The objects (entities or their snapshots) that stand for rows a flush inserted. */
  readonly #created = new WeakSet<object>();
  /** Savepoints to their root transaction (MikroORM 7 fires events for savepoints too). */
  readonly #tree = new TransactionTree();

  constructor(options: StockpyleSubscriberOptions) {
    if (options === null || typeof options !== 'object' || options.store === null || typeof options.store !== 'object') {
      throw new ConfigurationError('StockpyleSubscriber needs { store }: the cache tiers, or the ChainedStore, to invalidate');
    }
    const { store, onError, bus } = options;
    if (onError !== undefined && typeof onError !== 'function') throw new ConfigurationError('StockpyleSubscriber: onError must be a function');
    this.#onError = onError ?? ((event) => process.emitWarning(`stockpyle: invalidation failed: ${describe(event)}`, 'StockpyleWarning'));
    if (store instanceof ChainedStore) {
      if (bus !== undefined) {
        throw new ConfigurationError('StockpyleSubscriber: give the bus to the ChainedStore (new ChainedStore(stores, { bus })), not to the subscriber');
      }
      if (!store.stores.some(isCacheTier)) {
        throw new ConfigurationError('StockpyleSubscriber: the ChainedStore has no cache tier to invalidate');
      }
      this.#caches = store;
    } else if (isCacheTier(store)) {
      // Wrapped for the deadline, circuit breaker and replay of missed invalidations a chain gives.
      this.#caches = new ChainedStore([store], { name: `StockpyleSubscriber(${store.name})`, bus });
      this.#caches.on('error', (event) => this.#onError(event));
    } else {
      throw new ConfigurationError(
        `StockpyleSubscriber: ${store.name} is not a cache; give the cache tiers or the ChainedStore whose caches should follow the database`,
      );
    }
  }

  /**
   * Records what the flush will change, with old key values, before any of it runs. Inserts are
   * passed on too, marked as such: only tiers that remember that a key had no row (`missLifetime`)
   * are invalidated for them, so a new row written through a chain stays cached.
   */
  onFlush(args: FlushEventArgs): void {
    const changes: Change[] = args.uow
      .getChangeSets()
      .flatMap((cs) => (isStockpyleClass(cs.entity.constructor) ? [cs.type === ChangeSetType.CREATE ? { entity: cs.entity, old: undefined, created: true } : this.#changeOf(cs)] : []));
    changes.push(...this.#collectionsOf(args.uow));
    if (changes.length === 0) this.#flushes.delete(args.uow);
    else this.#flushes.set(args.uow, changes);
  }

  /**
   * Inside an explicit transaction, the flush's changes wait for the root transaction (savepoints
   * fire no events). A flush that started its own transaction was already handled at its commit.
   */
  async afterFlush(args: FlushEventArgs): Promise<void> {
    const changes = this.#flushes.get(args.uow);
    if (changes === undefined) return;
    this.#flushes.delete(args.uow);
    const trx = args.em.getTransactionContext();
    if (trx !== undefined) {
      this.#buffer(trx).push(...changes.flatMap((c) => this.#objectsOf(c, true)));
      return;
    }
    // No transaction was opened between onFlush and here (`disableTransactions`): already written.
    await this.#invalidate(changes.flatMap((c) => this.#objectsOf(c, false)));
  }

  /** `upsert` fires no flush events: its entity is invalidated now, or when its transaction commits. */
  async afterUpsert(args: EventArgs<object>): Promise<void> {
    if (!isStockpyleClass(args.entity.constructor)) return;
    const trx = args.em.getTransactionContext();
    if (trx !== undefined) this.#buffer(trx).push(...objectsOf({ entity: args.entity, old: undefined }, true));
    else await this.#invalidate([args.entity]);
  }

  beforeTransactionStart(args: TransactionEventArgs): void {
    this.#tree.beforeStart(args);
  }

  afterTransactionStart(args: TransactionEventArgs): void {
    this.#tree.afterStart(args);
  }

  async afterTransactionCommit(args: TransactionEventArgs): Promise<void> {
    // A released savepoint (MikroORM 7): its changes wait for the root's commit.
    if (this.#tree.isNested(args.transaction)) return;
    const changes = args.uow === undefined ? undefined : this.#flushes.get(args.uow);
    if (changes !== undefined) {
      // The transaction a plain `flush()` opened for itself (MikroORM 7 passes the uow to every commit).
      this.#flushes.delete(args.uow!);
      await this.#invalidate(changes.flatMap((c) => this.#objectsOf(c, false)));
      return;
    }
    if (args.transaction === undefined) return;
    const objs = this.#transactions.get(args.transaction);
    this.#transactions.delete(args.transaction);
    if (objs !== undefined) await this.#invalidate(objs);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    if (args.uow !== undefined) this.#flushes.delete(args.uow);
    if (args.transaction !== undefined) this.#transactions.delete(args.transaction);
  }

  /**
   * The chain a `stockpyleEntityManager` of this ORM reads through: the `ChainedStore` this
   * subscriber was given, when a `MikroOrmStore` of the same ORM is at its bottom.
   */
  readThroughFor(em: EntityManager): ChainedStore | undefined {
    const bottom = this.#caches.stores.at(-1);
    return bottom instanceof MikroOrmStore && bottom.entityManager.getMetadata() === em.getMetadata() ? this.#caches : undefined;
  }

  /**
   * True when `em` is in a transaction that already flushed changes to entities of this class
   * (or its hierarchy): the caches do not hold what that transaction wrote until it commits.
   */
  wroteInTransaction(em: EntityManager, meta: EntityMetadata): boolean {
    const trx = em.getTransactionContext();
    if (trx === undefined || trx === null) return false;
    const written = this.#transactions.get(this.#tree.root(trx as object));
    return written !== undefined && written.some((o) => o instanceof (meta.root.class as Function));
  }

  /** Declared collections whose member lists the flush changes, as entries to invalidate after the commit. */
  #collectionsOf(uow: UnitOfWork): Change[] {
    try {
      return collectionChanges(uow, declaredCollections).map((c) => ({ entity: new CollectionEntry(collectionKey(c.owner, c.prop, c.ownerPk), []), old: undefined }));
    } catch (error) {
      this.#onError({ type: 'error', store: this.#caches.name, operation: 'invalidate', error });
      return [];
    }
  }

  /** Never lets a bad key value fail the application's flush: the entity is still invalidated. */
  #changeOf(cs: ChangeSet<object>): Change {
    try {
      return changeOf(cs);
    } catch (error) {
      this.#onError({ type: 'error', store: this.#caches.name, operation: 'invalidate', error });
      return { entity: cs.entity, old: undefined };
    }
  }

  #buffer(trx: object): object[] {
    const root = this.#tree.root(trx);
    let list = this.#transactions.get(root);
    if (list === undefined) {
      list = [];
      this.#transactions.set(root, list);
    }
    return list;
  }

  #objectsOf(change: Change, frozen: boolean): object[] {
    const objs = objectsOf(change, frozen);
    if (change.created === true) for (const o of objs) this.#created.add(o);
    return objs;
  }

  /**
   * One batch per commit (inserted rows apart: they only clear remembered misses). A failure here
   * must not fail the application's call: its commit is done.
   */
  async #invalidate(objs: readonly object[]): Promise<void> {
    if (objs.length === 0) return;
    const created = objs.filter((o) => this.#created.has(o));
    const changed = created.length === 0 ? objs : objs.filter((o) => !this.#created.has(o));
    try {
      await Promise.all([
        changed.length > 0 ? this.#caches.invalidate(changed) : undefined,
        created.length > 0 ? this.#caches.invalidate(created, { created: true }) : undefined,
      ]);
    } catch (error) {
      this.#onError({ type: 'error', store: this.#caches.name, operation: 'invalidate', error });
    }
  }
}

function changeOf(cs: ChangeSet<object>): Change {
  const before = (cs.originalEntity ?? helper(cs.entity).__originalEntityData) as Row | undefined;
  return { entity: cs.entity, old: before === undefined ? undefined : oldKeys(cs.entity, before) };
}

/**
 * An object standing for the entity's old state: the old values of every key whose values changed.
 * Tombstoning it makes the entity unreachable under keys it no longer has.
 */
function oldKeys(entity: object, before: Row): object | undefined {
  const meta = metadataOf(entity);
  const values: Row = {};
  let changed = false;
  for (const shape of meta.keys) {
    if (!shape.attrs.every((a) => a in before)) continue;
    if (shape.attrs.every((a) => same(before[a], (entity as Row)[a]))) continue;
    for (const a of shape.attrs) values[a] = before[a];
    changed = true;
  }
  return changed ? snapshot(entity, values) : undefined;
}

/** The entity (when it is invalidated at once) or a frozen copy of its key values (when it waits for a commit). */
function objectsOf(change: Change, frozen: boolean): object[] {
  let now = change.entity;
  try {
    if (frozen) now = snapshot(change.entity, change.entity);
  } catch {
    // Keys that cannot be read now cannot be read at the commit either: the live entity will say why.
  }
  return change.old === undefined ? [now] : [now, change.old];
}

/** An instance of the entity's class holding only key attributes, defined without running MikroORM's setters. */
function snapshot(entity: object, values: object): object {
  const out = Object.create(Object.getPrototypeOf(entity) as object) as object;
  for (const shape of metadataOf(entity).keys) {
    for (const a of shape.attrs) {
      if (Object.hasOwn(out, a)) continue;
      Object.defineProperty(out, a, { value: (values as Row)[a], enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime());
}

function describe(event: StoreEvent): string {
  return event.type === 'error' ? `${event.store}.${event.operation}: ${String(event.error)}` : event.type;
}
