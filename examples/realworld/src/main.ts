import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { appConfigFromEnv } from './app-config';
import { createApp } from './create-app';

async function main(): Promise<void> {
  const config = appConfigFromEnv();
  const app = await createApp(config);
  // On SIGTERM/SIGINT Nest closes the server, StockpyleModule releases the chain, then the bus and MikroORM close.
  app.enableShutdownHooks();
  new Logger('realworld').log(`Listening on ${await app.getUrl()}/api (cache ${config.redisUrl === undefined ? 'off' : 'on'})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
