import { startMemcached, startPostgres, startRedis, startRedisCluster, type ServiceHandle } from '../../test-support/services';
import type { ServiceName } from './case';

/** The servers one benchmark run started, and how to stop them all. */
export interface RunningServices {
  readonly urls: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

/** What the runner needs of a started service. */
type Started = Pick<ServiceHandle, 'url' | 'stop'>;

const starters: Record<ServiceName, () => Promise<Started>> = {
  // room for case 9's 50,000-object batches beside the raw rows' (memcached's default is 64 MB)
  memcached: () => startMemcached({ extraArgs: ['-m', '1024'] }),
  redis: () => startRedis(),
  postgres: () => startPostgres({ database: 'stockpyle_bench' }),
  // a 3-master cluster; its url is the seed list `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`
  'redis-cluster': () => startRedisCluster(),
};

/** Starts each named service on a free 127.0.0.1 port; on any failure stops those already up. */
export async function startServices(names: readonly ServiceName[]): Promise<RunningServices> {
  const settled = await Promise.allSettled(names.map((name) => starters[name]()));
  const handles = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.allSettled(handles.map((h) => h.stop()));
  };
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  const urls: Partial<Record<ServiceName, string>> = {};
  names.forEach((name, i) => (urls[name] = (settled[i] as PromiseFulfilledResult<Started>).value.url));
  return { urls, stop };
}
