import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { appConfigFromEnv } from './app-config';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const config = appConfigFromEnv();
  const app = await NestFactory.create(AppModule.forRoot(config));
  // On SIGTERM/SIGINT Nest closes the server, then StockpyleModule releases its stores and MikroORM closes.
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  new Logger('nestjs-app').log(`Listening on ${await app.getUrl()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
