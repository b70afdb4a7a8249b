import { Logger, type OnModuleInit, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ConfigurationError, type Store } from '@stockpyle/core';
import { DEFAULT_STORE_NAME, getStoreToken } from './stockpyle.constants';
import type { StockpyleSubscriberOptions } from './stockpyle.options';

const logger = new Logger('StockpyleModule');

/** Loads an optional peer package, saying which one to install when it is missing. */
async function load<T>(name: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    // require() says MODULE_NOT_FOUND, import() ERR_MODULE_NOT_FOUND (the build keeps import() as is).
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const detail = (error as Error).message.split('\n')[0];
    throw new ConfigurationError(`StockpyleModule: the subscriber option needs ${name}; install it (npm install ${name}). ${detail}`, { cause: error });
  }
}

/**
 * Registers a `StockpyleSubscriber` on the event manager of the ORM that `@mikro-orm/nestjs`
 * provides, at module init, so nobody wires it by hand. MikroORM is loaded only here, lazily:
 * apps without it never import it.
 */
export class StockpyleSubscriberRegistrar implements OnModuleInit {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly store: Store,
    private readonly options: Readonly<Required<Pick<StockpyleSubscriberOptions, 'store'>> & StockpyleSubscriberOptions>,
  ) {}

  async onModuleInit(): Promise<void> {
    const { contextName } = this.options;
    const { StockpyleSubscriber } = await load('@stockpyle/mikro-orm', () => import('@stockpyle/mikro-orm'));
    const { MikroORM } = await load('@mikro-orm/core', () => import('@mikro-orm/core'));
    const token = contextName === undefined ? MikroORM : (await load('@mikro-orm/nestjs', () => import('@mikro-orm/nestjs'))).getMikroORMToken(contextName);
    let orm: InstanceType<typeof MikroORM> | undefined;
    try {
      orm = this.moduleRef.get(token, { strict: false });
    } catch {
      orm = undefined;
    }
    if (orm === undefined || orm === null) {
      const which = contextName === undefined ? 'MikroORM' : `MikroORM with contextName '${contextName}'`;
      throw new ConfigurationError(`StockpyleModule: no ${which} to register the subscriber on; import MikroOrmModule.forRoot(...) in the application`);
    }
    orm.em.getEventManager().registerSubscriber(new StockpyleSubscriber({ store: this.store }));
    logger.log(`StockpyleSubscriber registered for store '${this.options.store}'`);
  }

  /** The provider of the registrar for one StockpyleModule; checks the option against the declared `names` now. */
  static provider(options: StockpyleSubscriberOptions, names: readonly string[]): Provider {
    if (options === null || typeof options !== 'object') throw new ConfigurationError("StockpyleModule: subscriber must be an object, e.g. { store: 'default' }");
    const store = options.store ?? DEFAULT_STORE_NAME;
    if (!names.includes(store)) {
      throw new ConfigurationError(`StockpyleModule: subscriber.store is '${store}', which is not one of the stores (${names.map((n) => `'${n}'`).join(', ')})`);
    }
    if (options.contextName !== undefined && (typeof options.contextName !== 'string' || options.contextName.length === 0)) {
      throw new ConfigurationError('StockpyleModule: subscriber.contextName must be a non-empty string');
    }
    return {
      provide: StockpyleSubscriberRegistrar,
      useFactory: (moduleRef: ModuleRef, resolved: Store) => new StockpyleSubscriberRegistrar(moduleRef, resolved, { ...options, store }),
      // The store's own provider, so an overridden store (overrideProvider in tests) is the one subscribed.
      inject: [ModuleRef, getStoreToken(store)],
    };
  }
}
