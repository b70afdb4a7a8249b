import './entity-metadata';
export { MikroOrmStore } from './mikro-orm-store';
export type { MikroOrmStoreOptions } from './mikro-orm-store';
export { StockpyleSubscriber } from './stockpyle.subscriber';
export type { StockpyleSubscriberOptions } from './stockpyle.subscriber';
export { UnloadedEntityError } from './errors';
