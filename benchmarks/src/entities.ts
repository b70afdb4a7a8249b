import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MikroORM } from '@mikro-orm/postgresql';
import { Stockpyle } from '@stockpyle/core';
import { KEY_COUNT } from './fixtures';

/** The database's version of the benchmark object: the same fields as `Item`, about 200 bytes. */
@Stockpyle({ keys: ['id'] })
@Entity({ tableName: 'bench_row' })
export class Row {
  // Types spelt out: tsx (esbuild) emits no decorator metadata for MikroORM to read.
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'string' })
  name!: string;

  @Property({ type: 'string' })
  email!: string;

  @Property({ type: 'double' })
  score!: number;

  @Property({ type: 'boolean' })
  active!: boolean;

  @Property({ type: 'text' })
  note!: string;
}

const NOTE = 'A short free-text note, so that the row is about two hundred bytes long, as small rows are.';

/** An ORM on the benchmark's PostgreSQL with `KEY_COUNT` rows, counting the SQL statements it sends. */
export interface BenchOrm {
  readonly orm: MikroORM;
  /** SQL statements sent so far (every one MikroORM logs for this ORM). */
  queries(): number;
  close(): Promise<void>;
}

/** With `seed: false`, connects to the tables another ORM of this run created, leaving them as they are. */
export async function openOrm(url: string, options: { seed?: boolean } = {}): Promise<BenchOrm> {
  let count = 0;
  let counting = false;
  const orm = await MikroORM.init({
    clientUrl: url,
    entities: [Row],
    allowGlobalContext: true,
    // Every statement reaches the logger, which counts it (MikroORM 7 runs on Kysely: no knex event).
    debug: ['query'],
    colors: false,
    logger: (message) => {
      if (counting && message.startsWith('[query]')) count++;
    },
    pool: { min: 2, max: 10 },
  });
  if (options.seed !== false) {
    await orm.schema.refresh();
    const rows = Array.from({ length: KEY_COUNT }, (_v, i) => {
      const id = i + 1;
      return { id, name: `Row ${id}`, email: `row${id}@example.com`, score: id * 1.5, active: id % 2 === 0, note: NOTE };
    });
    const em = orm.em.fork();
    for (let i = 0; i < rows.length; i += 1000) await em.insertMany(Row, rows.slice(i, i + 1000));
  }
  counting = true;
  return {
    orm,
    queries: () => count,
    close: () => orm.close(true),
  };
}
