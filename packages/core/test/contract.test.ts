import 'reflect-metadata';
import Keyv from 'keyv';
import { AsyncLocalStore, ChainedStore, DictionaryStore, ProcessMemoryStore } from '@stockpyle/core';
import { describeStoreContract } from '@stockpyle/core/testing';

describeStoreContract('ProcessMemoryStore', { create: (o) => new ProcessMemoryStore(o), sameInstance: true });

describeStoreContract('AsyncLocalStore', {
  create: (o) => new AsyncLocalStore(o),
  sameInstance: true,
  within: (fn) => AsyncLocalStore.run(fn),
});

describeStoreContract('DictionaryStore over a Map', { create: (o) => new DictionaryStore(new Map(), o) });
describeStoreContract('DictionaryStore over Keyv', { create: (o) => new DictionaryStore(new Keyv(), o) });
describeStoreContract('ChainedStore [ProcessMemoryStore, DictionaryStore]', {
  create: (o) => new ChainedStore([new ProcessMemoryStore(o), new DictionaryStore(new Map(), o)]),
});
