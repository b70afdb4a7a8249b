import type { TransactionEventArgs } from '@mikro-orm/core';

type Transaction = { parentTransaction?: Transaction | null };

/**
 * Which transaction a savepoint belongs to, so the subscriber can hold a nested transaction's
 * changes until its root commits. MikroORM 6 fires no event for a savepoint, whose Knex transaction
 * names its `parentTransaction`. MikroORM 7 fires the transaction events for savepoints too, and its
 * savepoint knows no parent: `beforeTransactionStart` then carries the enclosing transaction and
 * `afterTransactionStart` the savepoint, both with the EntityManager fork of that `transactional()`
 * call, which pairs them (test: `transaction-events.integration.test.ts`).
 */
export class TransactionTree {
  /** The enclosing transaction of a savepoint being opened, by the fork opening it. */
  readonly #opening = new WeakMap<object, object>();
  /** Each savepoint seen opening (MikroORM 7), to its enclosing transaction. */
  readonly #parents = new WeakMap<object, object>();

  beforeStart(args: TransactionEventArgs): void {
    if (args.transaction !== undefined && args.transaction !== null) this.#opening.set(args.em, args.transaction as object);
  }

  afterStart(args: TransactionEventArgs): void {
    const parent = this.#opening.get(args.em);
    if (parent === undefined) return;
    this.#opening.delete(args.em);
    if (args.transaction !== undefined && args.transaction !== null && args.transaction !== parent) this.#parents.set(args.transaction as object, parent);
  }

  /** The transaction whose commit makes `trx`'s writes visible: its root. */
  root(trx: object): object {
    let t: object = trx;
    for (let up = this.#parentOf(t); up !== undefined; up = this.#parentOf(t)) t = up;
    return t;
  }

  /** True for a savepoint: its commit is only a release, the root's commit is yet to come. */
  isNested(trx: unknown): boolean {
    return typeof trx === 'object' && trx !== null && this.#parentOf(trx) !== undefined;
  }

  #parentOf(trx: object): object | undefined {
    return this.#parents.get(trx) ?? (trx as Transaction).parentTransaction ?? undefined;
  }
}
