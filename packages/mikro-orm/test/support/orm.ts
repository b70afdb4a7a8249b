import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Utils, type EventSubscriber } from '@mikro-orm/core';
import { serviceUrl } from '../../../../test-support/test-environment';
import { ENTITIES } from './entities';

/** Every statement the ORM sent, as its logger saw it (including begin, commit and savepoints). */
export class QueryLog {
  readonly statements: string[] = [];

  add(message: string): void {
    const text = message.replace(/\x1b\[[0-9;]*m/g, '');
    const m = /^\[query\] (.*?)(?: \[took .*\])?$/s.exec(text);
    if (m !== null) this.statements.push(numbered(m[1]!));
  }

  reset(): void {
    this.statements.length = 0;
  }

  /** Statements other than transaction control. */
  get queries(): string[] {
    return this.statements.filter((s) => !/^(begin|commit|rollback|savepoint|release savepoint|rollback to savepoint)\b/i.test(s));
  }

  get selects(): string[] {
    return this.statements.filter((s) => /^select\b/i.test(s));
  }
}

/** The major of the installed MikroORM: 6 or 7 (stacks/README.md). */
export const MIKRO_ORM_MAJOR = Number(Utils.getORMVersion().split('.')[0]);

/**
 * Options of an ORM that never connects (nothing in the test queries): MikroORM 6's init() connects
 * unless given `connect: false`; MikroORM 7 connects at the first query and has no such option.
 */
export const NEVER_CONNECTED: Partial<Options> = { clientUrl: 'postgresql://nobody@127.0.0.1:1/none', ...({ connect: false } as object) };

/** MikroORM 7 logs a statement's parameters as `?`, 6 as PostgreSQL sends them (`$1`, `$2`, …): the log keeps the latter. */
function numbered(sql: string): string {
  let n = 0;
  return /\$1\b/.test(sql) ? sql : sql.replace(/\?/g, () => `$${++n}`);
}

export interface TestOrm {
  readonly orm: MikroORM;
  readonly log: QueryLog;
  close(): Promise<void>;
}

/**
 * An ORM on the shared PostgreSQL (`STOCKPYLE_PG_URL`) in a schema of its own, created empty and
 * dropped by `close()`, so test files never see each other's rows.
 */
export async function openOrm(tag: string, options: { subscribers?: EventSubscriber[]; extra?: Partial<Options> } = {}): Promise<TestOrm> {
  const schema = `mo_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const log = new QueryLog();
  const orm = await MikroORM.init({
    clientUrl: serviceUrl('postgres'),
    entities: ENTITIES,
    schema,
    subscribers: options.subscribers ?? [],
    debug: ['query'],
    logger: (message) => log.add(message),
    allowGlobalContext: false,
    pool: { min: 0, max: 4 },
    ...options.extra,
  });
  // The schema is new: create it from the metadata. refreshing the database would first introspect
  // every schema on the server, racing other test files that drop theirs ("schema … does not exist").
  // The SQL and execute() have one name in MikroORM 6 and 7 (createSchema() became create()).
  await orm.schema.execute(await orm.schema.getCreateSchemaSQL());
  log.reset();
  return {
    orm,
    log,
    async close() {
      await orm.em.getConnection().execute(`drop schema if exists "${schema}" cascade`);
      await orm.close(true);
    },
  };
}

/**
 * Closes an ORM whose server may have gone away, waiting at most 5 s: on MikroORM 7.2 (Kysely
 * 0.29) a transaction whose rollback failed on a terminated connection never gives that connection
 * back to the pool, and close() then waits for it forever (this package's README, "Known issues").
 */
export async function closeWithin5s(orm: MikroORM | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([orm?.close(true), new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
  clearTimeout(timer);
}
