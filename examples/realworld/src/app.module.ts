import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Global, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './app-config';
import { ArticlesController } from './articles.controller';
import { ArticlesService } from './articles.service';
import { AuthGuard, OptionalAuthGuard } from './auth';
import { realworldCache } from './cache';
import { CommentsController } from './comments.controller';
import { CommentsService } from './comments.service';
import { ormConfig } from './orm-config';
import { ProfilesController } from './profiles.controller';
import { ProfilesService } from './profiles.service';
import { QueryCounter } from './query-counter';
import { TagsController } from './tags.controller';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

/** The configuration and the statement counter, for every module (the ORM's factory needs both). */
@Global()
@Module({})
class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: AppConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }, QueryCounter], exports: [APP_CONFIG, QueryCounter] };
  }
}

/** The RealWorld API; with `config.redisUrl` set, stockpyle's cache as `cache.ts` wires it. */
@Module({})
export class AppModule implements OnModuleInit {
  constructor(private readonly orm: MikroORM) {}

  static forRoot(config: AppConfig): DynamicModule {
    const cache = config.redisUrl === undefined ? undefined : realworldCache({ redisUrl: config.redisUrl, prefix: config.cachePrefix });
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        MikroOrmModule.forRootAsync({
          driver: PostgreSqlDriver,
          inject: [QueryCounter],
          useFactory: (counter: QueryCounter) => ({ ...ormConfig(config.pgUrl, counter, config.logQueries), ...cache?.orm }),
        }),
        ...(cache?.imports ?? []),
      ],
      controllers: [UsersController, ProfilesController, ArticlesController, CommentsController, TagsController],
      providers: [UsersService, ProfilesService, ArticlesService, CommentsService, AuthGuard, OptionalAuthGuard],
    };
  }

  /** Creates the tables when missing (MikroORM creates the database); never drops anything. */
  async onModuleInit(): Promise<void> {
    await this.orm.schema.update({ safe: true, dropTables: false });
  }
}
