/**
 * One app process of differential.integration.test.ts: the app as `main.ts` runs it (config from
 * the environment, on 127.0.0.1), driven by the test over IPC:
 * `{ op: 'queries' }` → the SQL statements since the last ask (then the count restarts);
 * `{ op: 'quit' }` → closes the app (server, chain, bus, ORM) and exits.
 */
import 'reflect-metadata';
import { appConfigFromEnv } from '../../src/app-config';
import { createApp } from '../../src/create-app';
import { QueryCounter } from '../../src/query-counter';

export type AppProcessRequest = { op: 'queries' | 'quit' };
export type AppProcessReply = { ready: true; url: string } | { queries: Record<string, number> } | { closed: true };

async function main(): Promise<void> {
  const app = await createApp({ ...appConfigFromEnv(), host: '127.0.0.1', port: 0 }, ['error', 'warn']);
  const counter = app.get(QueryCounter);
  const send = (reply: AppProcessReply, then: () => void = () => {}) => process.send!(reply, then);
  process.on('message', (message: AppProcessRequest) => {
    if (message.op === 'queries') {
      send({ queries: counter.snapshot() });
      counter.reset();
    } else if (message.op === 'quit') {
      void app.close().then(() => send({ closed: true }, () => process.disconnect()));
    }
  });
  counter.reset(); // the schema check at start is not the test's
  send({ ready: true, url: `${await app.getUrl()}/api` });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
