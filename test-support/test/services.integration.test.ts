import { existsSync } from 'node:fs';
import {
  memcachedVersion,
  pgQuery,
  redisClusterInfo,
  redisCommand,
  startMemcached,
  type ServiceHandle,
} from '../services';
import { clusterNodes, serviceUrl } from '../test-environment';

/** `host:port` split at the last colon. */
function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

describe('test services', () => {
  describe('the environment npm test exports', () => {
    it('STOCKPYLE_MEMCACHE_SERVERS names memcached servers that answer version', async () => {
      for (const server of serviceUrl('memcached').split(',')) {
        const { host, port } = hostPort(server);
        await expect(memcachedVersion(host, port)).resolves.toMatch(/^\d+\.\d+/);
      }
    });

    it('STOCKPYLE_REDIS_URL names a redis-server that answers PING', async () => {
      const url = new URL(serviceUrl('redis'));
      expect(url.protocol).toBe('redis:');
      await expect(redisCommand(url.hostname, Number(url.port), ['PING'])).resolves.toBe('PONG');
    });

    it('STOCKPYLE_REDIS_CLUSTER_NODES names cluster nodes that all report cluster_state:ok', async () => {
      const nodes = clusterNodes();
      expect(nodes.length).toBeGreaterThanOrEqual(3);
      for (const { host, port } of nodes) {
        const info = await redisClusterInfo(host, port);
        expect(info.cluster_state).toBe('ok');
        expect(info.cluster_slots_assigned).toBe('16384');
      }
    });

    it('STOCKPYLE_PG_URL names a PostgreSQL database that accepts a login', async () => {
      const url = new URL(serviceUrl('postgres'));
      expect(url.protocol).toBe('postgresql:');
      const database = url.pathname.slice(1);
      await expect(
        pgQuery(url.hostname, Number(url.port), { user: url.username, database, sql: 'SELECT 1' }),
      ).resolves.toBeUndefined();
    });
  });

  describe('startMemcached()', () => {
    let memcached: ServiceHandle;

    beforeAll(async () => {
      memcached = await startMemcached();
    });

    afterAll(async () => {
      await memcached.stop();
    });

    it('starts a private memcached on 127.0.0.1', async () => {
      expect(memcached.url).toBe(`127.0.0.1:${memcached.port}`);
      await expect(memcachedVersion(memcached.host, memcached.port)).resolves.toMatch(/^\d+\.\d+/);
    });

    it("kill('SIGSTOP') freezes it and resume() brings it back", async () => {
      memcached.kill('SIGSTOP');
      await expect(memcachedVersion(memcached.host, memcached.port, 300)).rejects.toThrow(/did not answer/);
      memcached.resume();
      await expect(memcachedVersion(memcached.host, memcached.port)).resolves.toMatch(/^\d+\.\d+/);
    });

    it('restart() brings it back empty on the same port after a crash', async () => {
      const { host, port } = memcached;
      const oldPid = memcached.pid;
      memcached.kill('SIGKILL');
      await memcached.restart();
      expect(memcached.port).toBe(port);
      expect(memcached.pid).not.toBe(oldPid);
      await expect(memcachedVersion(host, port)).resolves.toMatch(/^\d+\.\d+/);
    });

    it('stop() ends the process, even a paused one, and removes its temp dir', async () => {
      const server = await startMemcached();
      server.pause();
      await server.stop();
      expect(() => process.kill(server.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
      expect(existsSync(server.dir)).toBe(false);
      await expect(memcachedVersion(server.host, server.port, 300)).rejects.toThrow();
    });
  });
});
