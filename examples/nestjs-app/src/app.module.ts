import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Global, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { StockpyleModule } from '@stockpyle/nestjs';
import type { AppConfig } from './app-config';
import { Product } from './product.entity';
import { ProductsController } from './products.controller';
import { ProductsService } from './products.service';
import { CountingLogger, QueryCounter } from './query-counter';
import { StatsController } from './stats.controller';
import { buildStores, STORE_NAMES } from './stores';
import { TierStats } from './tier-stats';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The configuration and the query counter, for every module (the ORM's factory needs both). */
@Global()
@Module({})
class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, QueryCounter],
      exports: [APP_CONFIG, QueryCounter],
    };
  }
}

/** The REST service: products over PostgreSQL, read through a stockpyle chain. */
@Module({})
export class AppModule implements OnModuleInit {
  constructor(private readonly orm: MikroORM) {}

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        MikroOrmModule.forRootAsync({
          driver: PostgreSqlDriver,
          inject: [APP_CONFIG, QueryCounter],
          useFactory: (appConfig: AppConfig, counter: QueryCounter) => ({
            driver: PostgreSqlDriver,
            clientUrl: appConfig.pgUrl,
            entities: [Product],
            debug: appConfig.logQueries,
            loggerFactory: (options) => new CountingLogger(options, counter),
          }),
        }),
        StockpyleModule.forRootAsync({
          names: STORE_NAMES,
          inject: [MikroORM, APP_CONFIG],
          useFactory: buildStores,
          // A fresh per-request tier for every request, and the subscriber on the ORM's events.
          requestScope: true,
          subscriber: { store: 'default' },
        }),
      ],
      controllers: [ProductsController, StatsController],
      providers: [ProductsService, TierStats],
    };
  }

  /** Creates the table when missing (MikroORM creates the database); never drops anything. */
  async onModuleInit(): Promise<void> {
    await this.orm.schema.update({ safe: true, dropTables: false });
  }
}
