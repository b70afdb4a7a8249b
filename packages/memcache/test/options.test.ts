import 'reflect-metadata';
import { ConfigurationError, Stockpyle, TierUnavailableError } from '@stockpyle/core';
import { MemcacheStore } from '@stockpyle/memcache';
import { Client } from 'memjs';

@Stockpyle({ keys: ['id'], name: 'memcache-unit.Thing' })
class Thing {
  constructor(public id: number) {}
}

describe('MemcacheStore options', () => {
  const client = Client.create('127.0.0.1:1', { logger: { log: () => undefined } });
  afterAll(() => client.close());

  it('takes servers, or a memjs client, without connecting', () => {
    expect(new MemcacheStore({ servers: ['127.0.0.1:11211'] }).name).toBe('MemcacheStore');
    expect(new MemcacheStore({ servers: ['cache-1', 'cache-2:11212'], name: 'sessions' }).name).toBe('sessions');
    expect(new MemcacheStore({ client }).name).toBe('MemcacheStore');
  });

  it('throws ConfigurationError for both servers and client, or neither', () => {
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], client })).toThrow(ConfigurationError);
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], client })).toThrow(/not both/);
    expect(() => new MemcacheStore({})).toThrow(/not neither/);
    expect(() => new MemcacheStore(undefined as never)).toThrow(ConfigurationError);
  });

  it('throws ConfigurationError for servers that are not host:port strings', () => {
    for (const servers of [[], '127.0.0.1:11211', [''], ['a b:1'], ['a:1,b:2'], ['host:99999'], ['host:port'], [11211]]) {
      expect(() => new MemcacheStore({ servers: servers as never })).toThrow(ConfigurationError);
    }
  });

  it('throws ConfigurationError for a client that is not a memjs Client', () => {
    expect(() => new MemcacheStore({ client: {} as never })).toThrow(/memjs Client/);
  });

  it('throws ConfigurationError for a bad timeout or maxValueBytes', () => {
    const servers = ['127.0.0.1:11211'];
    for (const timeout of [0, -1, Number.NaN, Infinity, '500']) {
      expect(() => new MemcacheStore({ servers, timeout: timeout as never })).toThrow(/timeout/);
    }
    for (const maxValueBytes of [0, 1.5, -10, '1']) {
      expect(() => new MemcacheStore({ servers, maxValueBytes: maxValueBytes as never })).toThrow(/maxValueBytes/);
    }
  });

  it('takes SASL credentials only with servers, and both of them', () => {
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], username: 'app', password: 'pw' })).not.toThrow();
    expect(() => new MemcacheStore({ client, username: 'app', password: 'pw' })).toThrow(/credentials/);
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], username: 'app' })).toThrow(/both/);
  });

  it('never shows credentials in its errors', () => {
    try {
      new MemcacheStore({ servers: ['app:s3cret@cache:11211', 'app:s3cret@bad host'] });
      throw new Error('expected a ConfigurationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).not.toContain('s3cret');
      expect((error as Error).message).toContain('servers[1]');
    }
  });

  it('checks the options every cache store takes', () => {
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], lifetime: 60 as never })).toThrow(ConfigurationError);
    expect(() => new MemcacheStore({ servers: ['127.0.0.1:11211'], prefix: '' })).toThrow(ConfigurationError);
  });

  describe('the client it creates', () => {
    afterEach(() => jest.restoreAllMocks());

    it('gets the SASL credentials, no retries or failover, and a logger that is not the console', async () => {
      const create = jest.spyOn(Client, 'create');
      const log = jest.spyOn(console, 'log');
      // port 1 on loopback: nothing listens, so the call fails at once without any service running
      const store = new MemcacheStore({ servers: ['127.0.0.1:1'], username: 'app', password: 'pw-123', timeout: 200 });
      try {
        const error = (await store.get(Thing, { id: 1 }).catch((e: unknown) => e)) as Error;
        expect(error).toBeInstanceOf(TierUnavailableError);
        expect(`${error.message} ${String(error.cause)}`).not.toContain('pw-123');
        expect(create).toHaveBeenCalledTimes(1);
        const [servers, options] = create.mock.calls[0]!;
        expect(servers).toBe('127.0.0.1:1');
        expect(options).toMatchObject({ username: 'app', password: 'pw-123', retries: 0, failover: false });
        expect(options!.logger).not.toBe(console);
        const created = create.mock.results[0]!.value as Client;
        expect(created.servers[0]).toMatchObject({ username: 'app', password: 'pw-123' });
        expect(log).not.toHaveBeenCalled();
      } finally {
        await store.release();
      }
    });

    it('is created lazily, once, and again after release()', async () => {
      const create = jest.spyOn(Client, 'create');
      const store = new MemcacheStore({ servers: ['127.0.0.1:1'], timeout: 200 });
      expect(create).not.toHaveBeenCalled();
      await expect(store.get(Thing, { id: 1 })).rejects.toThrow(TierUnavailableError);
      await expect(store.get(Thing, { id: 2 })).rejects.toThrow(TierUnavailableError);
      expect(create).toHaveBeenCalledTimes(1);
      await store.release();
      await expect(store.get(Thing, { id: 3 })).rejects.toThrow(TierUnavailableError);
      expect(create).toHaveBeenCalledTimes(2);
      await store.release();
    });
  });
});
