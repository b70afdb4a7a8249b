import { Injectable, Module, RequestMethod, type MiddlewareConsumer, type NestMiddleware, type NestModule } from '@nestjs/common';
import { AsyncLocalStore } from '@stockpyle/core';

/**
 * Runs the rest of the request inside a fresh `AsyncLocalStore` context, so per-request tiers hold
 * what this request read and nothing of any other. One context serves every AsyncLocalStore.
 * Apply it with `consumer.apply(StockpyleRequestContextMiddleware).forRoutes(...)`, or let
 * `StockpyleModule.forRoot({ requestScope: true })` apply it to every route.
 */
@Injectable()
export class StockpyleRequestContextMiddleware implements NestMiddleware {
  /** Calls `next` inside `AsyncLocalStore.run`, so everything the request does runs in its context. */
  use(_request: unknown, _response: unknown, next: (error?: unknown) => void): void {
    AsyncLocalStore.run(() => next());
  }
}

/** Internal: applies the middleware to every route, for `requestScope: true`. */
@Module({ providers: [StockpyleRequestContextMiddleware] })
export class StockpyleRequestScopeModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // '{*path}' is Nest 11's every-path wildcard (path-to-regexp 8), on Express and Fastify alike.
    consumer.apply(StockpyleRequestContextMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
