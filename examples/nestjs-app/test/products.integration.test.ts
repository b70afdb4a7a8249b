import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/core';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { KeyQuery, ProcessMemoryStore, Store } from '@stockpyle/core';
import { getStoreToken } from '@stockpyle/nestjs';
import type { RedisStore } from '@stockpyle/redis';
import request from 'supertest';
import { serviceUrl } from '../../../test-support/test-environment';
import { appConfigFromEnv, type AppConfig } from '../src/app-config';
import { AppModule } from '../src/app.module';
import { Product } from '../src/product.entity';
import type { ProductView } from '../src/products.service';

/** Seconds a write blocks back-fills; short, so the test can watch the caches fill again after it. */
const TOMBSTONE_SECONDS = 1;

describe('examples/nestjs-app over HTTP (PostgreSQL, Redis)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let orm: MikroORM;
  let memory: ProcessMemoryStore;
  let redis: RedisStore;
  let database: Store;
  const prefix = `nestjs-app-e2e-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    // A database of its own: other suites share the server and may reset theirs.
    const pgUrl = new URL(serviceUrl('postgres'));
    pgUrl.pathname = '/stockpyle_nestjs_app';
    const config: AppConfig = {
      ...appConfigFromEnv({}),
      pgUrl: pgUrl.toString(),
      redisUrl: serviceUrl('redis'),
      cachePrefix: prefix,
      tombstoneLifetime: TOMBSTONE_SECONDS,
      host: '127.0.0.1',
      port: 0,
    };
    app = await NestFactory.create(AppModule.forRoot(config), { logger: ['error', 'warn'] });
    await app.listen(config.port, config.host);
    http = request(await app.getUrl());
    orm = app.get(MikroORM);
    memory = app.get(getStoreToken('memory'));
    redis = app.get(getStoreToken('redis'));
    database = app.get(getStoreToken('database'));
    await orm.em.fork().nativeDelete(Product, {});
  }, 60_000);

  afterAll(async () => {
    if (app === undefined) return;
    // The shared Redis keeps nothing of this run.
    const keys = await redis.client.keys(`*${prefix}*`);
    if (keys.length > 0) await redis.client.del(...keys);
    await app.close();
  });

  /** What one key finds in each tier below the per-request one, and in the database itself. */
  async function tiers(query: KeyQuery<Product>) {
    const view = (p: Product | undefined) => (p === undefined ? undefined : { name: p.name, sku: p.sku });
    return {
      memory: view(await memory.get(Product, query)),
      redis: view(await redis.get(Product, query)),
      database: view(await database.get(Product, query)),
    };
  }

  async function stats(): Promise<{ queries: Record<string, number>; tiers: Record<string, Record<string, number>> }> {
    return (await http.get('/stats').expect(200)).body;
  }

  async function resetStats(): Promise<void> {
    await http.delete('/stats').expect(204);
  }

  let anvil: ProductView;

  it('POST /products writes through MikroORM; nothing is cached before the first read', async () => {
    await resetStats();
    const res = await http.post('/products').send({ vendor: 'acme', sku: 'A-1', name: 'Anvil', priceCents: 1250 }).expect(201);
    anvil = res.body;
    expect(anvil).toMatchObject({ id: expect.any(Number), vendor: 'acme', sku: 'A-1', name: 'Anvil', priceCents: 1250 });
    expect((await stats()).queries).toMatchObject({ insert: 1 });
    expect(await tiers({ id: anvil.id })).toEqual({ memory: undefined, redis: undefined, database: { name: 'Anvil', sku: 'A-1' } });
  });

  it('rejects a second product with the same vendor and sku (the alternate key is unique)', async () => {
    await http.post('/products').send({ vendor: 'acme', sku: 'A-1', name: 'Copy', priceCents: 1 }).expect(409);
  });

  it('GET /products/:id reads the database once and fills every cache tier under both keys', async () => {
    await resetStats();
    expect((await http.get(`/products/${anvil.id}`).expect(200)).body).toEqual(anvil);
    const after = await stats();
    expect(after.queries).toEqual({ select: 1 });
    expect(after.tiers.memory).toMatchObject({ miss: 1, fill: 1 });
    expect(after.tiers.redis).toMatchObject({ miss: 1, fill: 1 });
    const expected = { name: 'Anvil', sku: 'A-1' };
    expect(await tiers({ id: anvil.id })).toEqual({ memory: expected, redis: expected, database: expected });
    expect(await tiers({ vendor: 'acme', sku: 'A-1' })).toEqual({ memory: expected, redis: expected, database: expected });
  });

  it('GET by the alternate key is served from process memory: no query', async () => {
    await resetStats();
    expect((await http.get('/vendors/acme/products/A-1').expect(200)).body).toEqual(anvil);
    const after = await stats();
    expect(after.queries).toEqual({});
    expect(after.tiers.memory).toMatchObject({ hit: 1 });
    expect(after.tiers.redis).toMatchObject({ hit: 0, miss: 0 });
  });

  it('with process memory empty (another instance, a restart) the read is served by Redis and fills memory back', async () => {
    memory.clear();
    await resetStats();
    expect((await http.get('/vendors/acme/products/A-1').expect(200)).body).toEqual(anvil);
    const after = await stats();
    expect(after.queries).toEqual({});
    expect(after.tiers.redis).toMatchObject({ hit: 1 });
    expect(after.tiers.memory).toMatchObject({ miss: 1, fill: 1 });
    expect((await tiers({ id: anvil.id })).memory).toEqual({ name: 'Anvil', sku: 'A-1' });
  });

  it('POST /quotes reads a product named three times once: the per-request tier serves the rest', async () => {
    await resetStats();
    const lines = [
      { id: anvil.id, quantity: 2 },
      { vendor: 'acme', sku: 'A-1', quantity: 1 },
      { id: anvil.id, quantity: 3 },
    ];
    const res = await http.post('/quotes').send({ lines }).expect(200);
    expect(res.body.totalCents).toBe(6 * 1250);
    const after = await stats();
    expect(after.queries).toEqual({});
    // Memory was asked once, for the first line; the per-request tier, filled then, served the other two.
    expect(after.tiers.memory).toEqual({ hit: 1, miss: 0, fill: 0, error: 0 });
    expect(after.tiers.request).toMatchObject({ hit: 2, fill: 1 });
    // The next request starts with an empty per-request tier.
    await resetStats();
    await http.post('/quotes').send({ lines: lines.slice(0, 1) }).expect(200);
    expect((await stats()).tiers).toMatchObject({ request: { hit: 0 }, memory: { hit: 1 } });
  });

  let bolt: ProductView;

  it('GET /products?ids= asks each tier once for what is still missing, in one query for the database', async () => {
    bolt = (await http.post('/products').send({ vendor: 'acme', sku: 'B-7', name: 'Bolt', priceCents: 15 }).expect(201)).body;
    await resetStats();
    const res = await http.get(`/products?ids=${anvil.id},${bolt.id},999999`).expect(200);
    expect(res.body).toEqual([anvil, bolt, null]);
    const after = await stats();
    expect(after.queries).toEqual({ select: 1 });
    expect(after.tiers.memory).toMatchObject({ hit: 1, miss: 2 });
    expect(after.tiers.redis).toMatchObject({ hit: 0, miss: 2, fill: 1 });
  });

  it('PATCH changing a key attribute drops the old key from every tier; reads never see the old version', async () => {
    await resetStats();
    const res = await http.patch(`/products/${anvil.id}`).send({ sku: 'A-2', name: 'Anvil II' }).expect(200);
    expect(res.body).toMatchObject({ id: anvil.id, sku: 'A-2', name: 'Anvil II' });
    expect((await stats()).queries).toMatchObject({ select: 1, update: 1 });

    const updated = { name: 'Anvil II', sku: 'A-2' };
    expect(await tiers({ vendor: 'acme', sku: 'A-1' })).toEqual({ memory: undefined, redis: undefined, database: undefined });
    expect(await tiers({ id: anvil.id })).toEqual({ memory: undefined, redis: undefined, database: updated });
    await http.get('/vendors/acme/products/A-1').expect(404);

    // The first read after the write goes to the database and fills every tier (it saw the
    // write's settled tombstones); the next, by the new key, is served from memory.
    await resetStats();
    expect((await http.get(`/products/${anvil.id}`).expect(200)).body).toMatchObject({ sku: 'A-2', name: 'Anvil II' });
    expect((await http.get('/vendors/acme/products/A-2').expect(200)).body).toMatchObject({ id: anvil.id, name: 'Anvil II' });
    expect((await stats()).queries).toEqual({ select: 1 });
    expect(await tiers({ id: anvil.id })).toEqual({ memory: updated, redis: updated, database: updated });
    expect(await tiers({ vendor: 'acme', sku: 'A-2' })).toEqual({ memory: updated, redis: updated, database: updated });
    expect(await tiers({ vendor: 'acme', sku: 'A-1' })).toEqual({ memory: undefined, redis: undefined, database: undefined });
  });

  it('DELETE removes the product from the database and from every tier, under every key', async () => {
    await resetStats();
    await http.delete(`/products/${anvil.id}`).expect(204);
    expect((await stats()).queries).toMatchObject({ delete: 1 });
    const gone = { memory: undefined, redis: undefined, database: undefined };
    expect(await tiers({ id: anvil.id })).toEqual(gone);
    expect(await tiers({ vendor: 'acme', sku: 'A-2' })).toEqual(gone);
    await http.get(`/products/${anvil.id}`).expect(404);
    await http.get('/vendors/acme/products/A-2').expect(404);
    // The other product is untouched, and still cached.
    await resetStats();
    expect((await http.get(`/products/${bolt.id}`).expect(200)).body).toEqual(bolt);
    expect((await stats()).queries).toEqual({});
  });
});
