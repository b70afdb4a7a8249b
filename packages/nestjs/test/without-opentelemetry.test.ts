import 'reflect-metadata';

// As in an application that never installed @opentelemetry/api: requiring it fails (jest hoists this).
jest.mock('@opentelemetry/api', () => {
  throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
});

import { Test } from '@nestjs/testing';
import { ProcessMemoryStore, Stockpyle } from '@stockpyle/core';
import { getStoreToken, StockpyleModule } from '@stockpyle/nestjs';

@Stockpyle({ keys: ['id'], name: 'nest.nootel.Doc' })
class Doc {
  constructor(public id: number) {}
}

describe('StockpyleModule without @opentelemetry/api installed', () => {
  it('starts, serves and stops as before: the metrics are left out', async () => {
    const store = new ProcessMemoryStore();
    const ref = await Test.createTestingModule({ imports: [StockpyleModule.forRoot({ stores: { default: store } })] }).compile();
    await ref.init();
    expect(ref.get(getStoreToken())).toBe(store);
    await store.put(new Doc(1));
    expect(await store.get(Doc, { id: 1 })).toEqual(new Doc(1));
    await ref.close();
  });
});
