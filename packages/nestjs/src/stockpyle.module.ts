import { Inject, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit, type Provider } from '@nestjs/common';
import { ConfigurationError } from '@stockpyle/core';
import { DEFAULT_STORE_NAME, getStoreToken, STOCKPYLE_REGISTRY, STOCKPYLE_TELEMETRY } from './stockpyle.constants';
import { instrumentWhereInstalled } from './stockpyle-telemetry';
import type {
  StockpyleModuleAsyncOptions,
  StockpyleModuleOptions,
  StockpyleModuleSharedOptions,
  StockpyleOptionsFactory,
} from './stockpyle.options';
import { StockpyleRequestScopeModule } from './stockpyle-request-context.middleware';
import { checkNames, StockpyleStoreRegistry } from './stockpyle-store-registry';
import { StockpyleSubscriberRegistrar } from './stockpyle-subscriber.registrar';

/**
 * Provides stockpyle stores to a Nest application, one provider per store name
 * (`InjectStore(name)`). Stores given to `forRoot` stay the caller's; stores a `forRootAsync`
 * factory builds are released when the application shuts down.
 */
@Module({})
export class StockpyleModule implements OnModuleInit, OnApplicationShutdown {
  #stopTelemetry: (() => void) | undefined;

  constructor(
    @Inject(STOCKPYLE_REGISTRY) private readonly registry: StockpyleStoreRegistry,
    @Inject(STOCKPYLE_TELEMETRY) private readonly telemetry: boolean,
  ) {}

  /** Reports the stores to OpenTelemetry (option `openTelemetry`, on by default) where its API is installed. */
  onModuleInit(): void {
    if (this.telemetry) this.#stopTelemetry = instrumentWhereInstalled(this.registry.names.map((name) => this.registry.get(name)));
  }

  /** Registers stores you built; the module never releases them (you own them). */
  static forRoot(options: StockpyleModuleOptions): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('StockpyleModule.forRoot needs options: { stores: { default: store } }');
    }
    const registry = StockpyleStoreRegistry.fromUserStores(options.stores);
    return defineModule(options, registry.names, [{ provide: STOCKPYLE_REGISTRY, useValue: registry }], []);
  }

  /**
   * Registers stores built by a factory (`useFactory` with `inject`, or an options-factory class via
   * `useClass` / `useExisting`) once its dependencies are ready. Every name in `names` must come
   * back as a store; the stores are released on application shutdown unless listed as `shared`.
   */
  static forRootAsync(options: StockpyleModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError('StockpyleModule.forRootAsync needs options: { useFactory | useClass | useExisting }');
    }
    const names = checkNames(options.names ?? [DEFAULT_STORE_NAME], 'StockpyleModule.forRootAsync');
    const { useFactory, useClass, useExisting } = options;
    const given = [useFactory, useClass, useExisting].filter((x) => x !== undefined).length;
    if (given !== 1) {
      throw new ConfigurationError(`StockpyleModule.forRootAsync needs exactly one of useFactory, useClass or useExisting; got ${given}`);
    }
    if (options.inject !== undefined && useFactory === undefined) {
      throw new ConfigurationError('StockpyleModule.forRootAsync: inject goes with useFactory; a useClass or useExisting class gets its dependencies by injection');
    }
    const providers: Provider[] = [];
    if (useFactory !== undefined) {
      if (typeof useFactory !== 'function') throw new ConfigurationError('StockpyleModule.forRootAsync: useFactory must be a function');
      providers.push({
        provide: STOCKPYLE_REGISTRY,
        useFactory: async (...deps: unknown[]) => StockpyleStoreRegistry.fromFactoryResult(names, await useFactory(...deps)),
        inject: options.inject ?? [],
      });
    } else {
      const factoryClass = (useClass ?? useExisting)!;
      if (typeof factoryClass !== 'function') throw new ConfigurationError('StockpyleModule.forRootAsync: useClass / useExisting must be a class');
      if (useClass !== undefined) providers.push({ provide: useClass, useClass });
      providers.push({
        provide: STOCKPYLE_REGISTRY,
        useFactory: async (factory: StockpyleOptionsFactory) => {
          if (typeof factory?.createStockpyleStores !== 'function') {
            throw new ConfigurationError(`StockpyleModule.forRootAsync: ${factoryClass.name} must implement StockpyleOptionsFactory (createStockpyleStores(names))`);
          }
          return StockpyleStoreRegistry.fromFactoryResult(names, await factory.createStockpyleStores(names));
        },
        inject: [factoryClass],
      });
    }
    return defineModule(options, names, providers, options.imports ?? []);
  }

  /** Releases the stores this module owns, after the HTTP server stopped taking requests. */
  async onApplicationShutdown(): Promise<void> {
    this.#stopTelemetry?.();
    this.#stopTelemetry = undefined;
    await this.registry.release();
  }
}

/** The dynamic module of one StockpyleModule instance: the registry, one provider per store name. */
function defineModule(
  options: StockpyleModuleSharedOptions,
  names: readonly string[],
  providers: Provider[],
  imports: NonNullable<DynamicModule['imports']>,
): DynamicModule {
  const stores: Provider[] = names.map((name) => ({
    provide: getStoreToken(name),
    useFactory: (registry: StockpyleStoreRegistry) => registry.get(name),
    inject: [STOCKPYLE_REGISTRY],
  }));
  const subscriber = options.subscriber === undefined ? [] : [StockpyleSubscriberRegistrar.provider(options.subscriber, names)];
  return {
    module: StockpyleModule,
    global: options.global ?? false,
    imports: [...imports, ...(options.requestScope === true ? [StockpyleRequestScopeModule] : [])],
    providers: [...providers, { provide: STOCKPYLE_TELEMETRY, useValue: options.openTelemetry !== false }, ...stores, ...subscriber],
    exports: names.map((name) => getStoreToken(name)),
  };
}
