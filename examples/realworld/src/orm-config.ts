import type { Options } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Article } from './article.entity';
import { Comment } from './comment.entity';
import { CountingLogger, type QueryCounter } from './query-counter';
import { Tag } from './tag.entity';
import { User } from './user.entity';

export const ENTITIES = [User, Article, Comment, Tag];

/** The MikroORM config of the app (and of the tests' schema resets): PostgreSQL, the four entities, a counting logger. */
export function ormConfig(pgUrl: string, counter: QueryCounter | undefined, logQueries = false): Partial<Options<PostgreSqlDriver>> {
  return {
    driver: PostgreSqlDriver,
    clientUrl: pgUrl,
    entities: ENTITIES,
    debug: logQueries,
    ...(counter === undefined ? {} : { loggerFactory: (options) => new CountingLogger(options, counter) }),
  };
}
