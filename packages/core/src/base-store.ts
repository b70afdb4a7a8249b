import { ConfigurationError } from './errors';
import { StoreEvents, type StoreEvent, type StoreEventListener, type StoreEventType } from './events';
import type { Store } from './store';
import type { Class, KeyQuery } from './types';

/** Options every store takes. */
export interface BaseStoreOptions {
  /** Shown in events and errors. @default the class name, e.g. 'ProcessMemoryStore' */
  name?: string;
}

/**
 * The base for a store written from scratch: implement the three batch operations and `release`;
 * the single-object operations delegate to them (override them where a backend does better).
 */
export abstract class BaseStore implements Store {
  readonly name: string;
  protected readonly events = new StoreEvents();

  constructor(options: BaseStoreOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigurationError(`${new.target.name} options must be an object`);
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
      throw new ConfigurationError(`${new.target.name}: name must be a non-empty string`);
    }
    this.name = options.name ?? new.target.name;
  }

  abstract batchPut(objs: readonly object[]): Promise<void>;
  abstract batchGet<T extends object>(cls: Class<T>, queries: readonly KeyQuery<T>[]): Promise<(T | undefined)[]>;
  abstract batchDelete(objs: readonly object[]): Promise<void>;
  abstract release(): Promise<void>;

  put(obj: object): Promise<void> {
    return this.batchPut([obj]);
  }

  async get<T extends object>(cls: Class<T>, query: KeyQuery<T>): Promise<T | undefined> {
    return (await this.batchGet(cls, [query]))[0];
  }

  delete(obj: object): Promise<void> {
    return this.batchDelete([obj]);
  }

  on<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this {
    this.events.on(type, listener);
    return this;
  }

  off<K extends StoreEventType>(type: K, listener: StoreEventListener<K>): this {
    this.events.off(type, listener);
    return this;
  }

  /** Reports an event to this store's listeners. */
  protected emit(event: StoreEvent): void {
    this.events.emit(event);
  }
}
