import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppConfig } from './app-config';
import { AppModule } from './app.module';

/** The app as `main.ts` and the tests run it: RealWorld's `/api` prefix, listening on `config.host:config.port`. */
export async function createApp(config: AppConfig, logger: false | ('error' | 'warn' | 'log')[] = ['error', 'warn', 'log']): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), { logger });
  app.setGlobalPrefix('api');
  await app.listen(config.port, config.host);
  return app;
}
