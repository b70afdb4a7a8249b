import 'reflect-metadata';

// As in an application that never installed MikroORM: requiring any of these fails (jest hoists these).
jest.mock('@mikro-orm/core', () => {
  throw Object.assign(new Error("Cannot find module '@mikro-orm/core'"), { code: 'MODULE_NOT_FOUND' });
});
jest.mock('@mikro-orm/nestjs', () => {
  throw Object.assign(new Error("Cannot find module '@mikro-orm/nestjs'"), { code: 'MODULE_NOT_FOUND' });
});
jest.mock('@stockpyle/mikro-orm', () => {
  throw Object.assign(new Error("Cannot find module '@stockpyle/mikro-orm'"), { code: 'MODULE_NOT_FOUND' });
});

import { Test } from '@nestjs/testing';
import { ConfigurationError, ProcessMemoryStore } from '@stockpyle/core';
import { getStoreToken, StockpyleModule } from '@stockpyle/nestjs';

describe('StockpyleModule without MikroORM installed', () => {
  it('loads and provides stores: MikroORM is imported only for the subscriber option', async () => {
    const store = new ProcessMemoryStore();
    const ref = await Test.createTestingModule({ imports: [StockpyleModule.forRoot({ stores: { default: store }, requestScope: true })] }).compile();
    await ref.init();
    expect(ref.get(getStoreToken())).toBe(store);
    await ref.close();
  });

  it('fails at startup with the subscriber option, saying which package to install', async () => {
    const ref = await Test.createTestingModule({
      imports: [StockpyleModule.forRoot({ stores: { default: new ProcessMemoryStore() }, subscriber: {} })],
    }).compile();
    ref.useLogger(false);
    const init = ref.init();
    await expect(init).rejects.toThrow(ConfigurationError);
    await expect(init).rejects.toThrow('the subscriber option needs @stockpyle/mikro-orm; install it (npm install @stockpyle/mikro-orm)');
  });
});
