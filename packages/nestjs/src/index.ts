export { StockpyleModule } from './stockpyle.module';
export { getStoreToken, DEFAULT_STORE_NAME } from './stockpyle.constants';
export { InjectStore } from './stockpyle.decorators';
export { StockpyleRequestContextMiddleware } from './stockpyle-request-context.middleware';
export type {
  StockpyleStores,
  StockpyleModuleOptions,
  StockpyleModuleAsyncOptions,
  StockpyleModuleSharedOptions,
  StockpyleOptionsFactory,
  StockpyleStoresConfig,
  StockpyleSubscriberOptions,
} from './stockpyle.options';
