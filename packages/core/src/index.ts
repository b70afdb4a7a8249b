export { Stockpyle, getMetadata, metadataOf, isStockpyleClass, registerMetadataResolver, clearMetadata, classByName } from './metadata';
export type { StockpyleOptions, ClassMetadata, KeyShape, ClassSerializer, MetadataResolver, ResolvedClassInfo } from './metadata';
export type { Class, KeyQuery, KeyValue, Lifetime, LifetimeFn, Duration } from './types';
export type { Store, CacheTier, LocalTier, AdoptingStore, WriteTicket, Observation, TierLookup } from './store';
export { isCacheTier, isLocalTier, isAdoptingStore } from './store';
export { BaseStore } from './base-store';
export type { BaseStoreOptions, StoreStats } from './base-store';
export { BaseCacheStore, matchesQuery } from './base-cache-store';
export type { CacheStoreOptions, RawSwap, RawWrite } from './base-cache-store';
export { InProcessStore } from './in-process-store';
export { BaseDictionaryStore, DictionaryStore } from './dictionary-store';
export type { DictionaryBackend, DictionaryStoreOptions } from './dictionary-store';
export { ProcessMemoryStore, estimateSize } from './process-memory-store';
export type { ProcessMemoryStoreOptions } from './process-memory-store';
export { AsyncLocalStore } from './async-local-store';
export type { AsyncLocalStoreOptions } from './async-local-store';
export { ChainedStore } from './chained-store';
export type { ChainStats, ChainTierStats, ChainedStoreOptions, InvalidateOptions } from './chained-store';
export { CircuitBreaker } from './circuit-breaker';
export type { CircuitBreakerOptions } from './circuit-breaker';
export { withDeadline } from './deadline';
export { batchDeadline, chunkIndexes, inSlices, runBounded, DEADLINE_SLICE } from './batches';
export type { ChunkLimits } from './batches';
export { KeyBuilder, encodeKeyValue, FORMAT_VERSION } from './keys';
export { encodeRecord, encodeTomb, decodeRecord, isDecodeFailure, DEFAULT_MAX_PAYLOAD_BYTES } from './codec';
export type { DecodeFailure } from './codec';
export type { CacheRecord, ValueRecord, TombRecord, MissRecord, PointerRecord } from './record';
export { expiryOf, isExpired, NEVER } from './lifetime';
export { StoreEvents } from './events';
export type { StoreEvent, StoreEventType, StoreEventOf, StoreEventListener } from './events';
export {
  StockpyleError,
  NotStockpyleClassError,
  UnknownKeyError,
  NonUniqueKeyError,
  ConfigurationError,
  DuplicateNameError,
  TimeoutError,
  TierUnavailableError,
  BusMessageError,
  BusPublishError,
} from './errors';
export { BaseBus, newBusId } from './bus';
export type { Bus, BusListener, BusState, BusErrorEvent, BusErrorListener } from './bus';
export { BusOutbox, busRetryDelay } from './bus-outbox';
export type { BusOutboxOptions } from './bus-outbox';
export { encodeBusMessages, decodeBusMessage, BUS_MESSAGE_VERSION } from './bus-message';
export type { BusMessage, EncodedBusMessages } from './bus-message';
