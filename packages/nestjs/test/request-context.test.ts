import 'reflect-metadata';
import { Controller, Get, Module, Param, type INestApplication, type MiddlewareConsumer, type ModuleMetadata, type NestModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AsyncLocalStore, ChainedStore, ProcessMemoryStore, Stockpyle, type Store } from '@stockpyle/core';
import { CountingStore } from '@stockpyle/core/testing';
import { InjectStore, StockpyleModule, StockpyleRequestContextMiddleware } from '@stockpyle/nestjs';
import request from 'supertest';

@Stockpyle({ keys: ['id'], name: 'nestjs-test.Visit' })
class Visit {
  constructor(
    public id: number,
    public who: string,
  ) {}
}

/** Lets `parties` requests through only once all of them arrived: drives the interleaving, no sleeping. */
class Latch {
  #arrived = 0;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));
  constructor(private readonly parties: number) {}
  wait(): Promise<void> {
    if (++this.#arrived === this.parties) this.#open();
    return this.#opened;
  }
}

let latch = new Latch(1);

@Controller()
class VisitController {
  constructor(
    @InjectStore('request') private readonly perRequest: Store,
    @InjectStore() private readonly chain: Store,
  ) {}

  /** Puts a Visit with id 1 into the per-request tier, waits for the other request, then reads id 1 back. */
  @Get('visit/:who')
  async visit(@Param('who') who: string): Promise<{ seen: string | null }> {
    await this.perRequest.put(new Visit(1, who));
    await latch.wait();
    const seen = await this.perRequest.get(Visit, { id: 1 });
    return { seen: seen?.who ?? null };
  }

  /** Reads id 7 through the chain twice in one request. */
  @Get('twice')
  async twice(): Promise<{ first: string | null; second: string | null }> {
    const first = await this.chain.get(Visit, { id: 7 });
    const second = await this.chain.get(Visit, { id: 7 });
    return { first: first?.who ?? null, second: second?.who ?? null };
  }
}

function stores() {
  const perRequest = CountingStore.wrap(new AsyncLocalStore({ name: 'request' }));
  const memory = CountingStore.wrap(new ProcessMemoryStore({ name: 'memory' }));
  return { perRequest, memory, chain: new ChainedStore([perRequest, memory]) };
}

async function listen(imports: NonNullable<ModuleMetadata['imports']>): Promise<{ app: INestApplication; url: string }> {
  const ref = await Test.createTestingModule({ imports, controllers: [VisitController] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

describe('StockpyleModule request scope', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe('forRoot({ requestScope: true })', () => {
    it('gives two concurrent requests each their own per-request tier', async () => {
      const { perRequest, chain } = stores();
      let url: string;
      ({ app, url } = await listen([StockpyleModule.forRoot({ stores: { default: chain, request: perRequest }, requestScope: true })]));
      latch = new Latch(2);
      const [a, b] = await Promise.all([request(url).get('/visit/a'), request(url).get('/visit/b')]);
      expect(a.body).toEqual({ seen: 'a' });
      expect(b.body).toEqual({ seen: 'b' });
      // Outside any request the tier holds nothing.
      expect(await perRequest.get(Visit, { id: 1 })).toBeUndefined();
    });

    it('lets a chain start with a per-request tier: filled on the first read, empty in the next request', async () => {
      const { perRequest, memory, chain } = stores();
      await memory.put(new Visit(7, 'seven'));
      let url: string;
      ({ app, url } = await listen([StockpyleModule.forRoot({ stores: { default: chain, request: perRequest }, requestScope: true })]));
      memory.resetCounts();
      expect((await request(url).get('/twice')).body).toEqual({ first: 'seven', second: 'seven' });
      // The second read was served by the per-request tier, so memory was asked once.
      expect(memory.calls('get', 'batchGet', 'lookup', 'peek')).toBe(1);
      expect((await request(url).get('/twice')).body).toEqual({ first: 'seven', second: 'seven' });
      expect(memory.calls('get', 'batchGet', 'lookup', 'peek')).toBe(2);
    });
  });

  describe('StockpyleRequestContextMiddleware', () => {
    it('opens the per-request context where the application applies it', async () => {
      const { perRequest, chain } = stores();
      @Module({ imports: [StockpyleModule.forRoot({ stores: { default: chain, request: perRequest }, global: true })] })
      class AppModule implements NestModule {
        configure(consumer: MiddlewareConsumer): void {
          consumer.apply(StockpyleRequestContextMiddleware).forRoutes('visit/{*rest}');
        }
      }
      let url: string;
      ({ app, url } = await listen([AppModule]));
      latch = new Latch(2);
      const [a, b] = await Promise.all([request(url).get('/visit/a'), request(url).get('/visit/b')]);
      expect([a.body, b.body]).toEqual([{ seen: 'a' }, { seen: 'b' }]);
    });

    it('is needed: without it the per-request tier holds nothing', async () => {
      const { perRequest, chain } = stores();
      let url: string;
      ({ app, url } = await listen([StockpyleModule.forRoot({ stores: { default: chain, request: perRequest } })]));
      latch = new Latch(1);
      expect((await request(url).get('/visit/a')).body).toEqual({ seen: null });
    });
  });
});
