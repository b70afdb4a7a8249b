export { describeStoreContract } from './store-contract';
export type { StoreContractOptions, ContractStoreOptions } from './store-contract';
export type { ContractFixtures } from './fixtures';
export { CountingStore } from './counting-store';
export { FaultyStore } from './faulty-store';
export type { FaultMode } from './faulty-store';
export { defaultFixtures } from './fixtures';
export { MemoryBus, MemoryBusHub } from './memory-bus';
export type { MemoryBusOptions, MemoryBusHubOptions, MemoryDelivery } from './memory-bus';
