import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';

/** Counts the SQL statements MikroORM sends, by first word (select, insert, update, delete, begin, commit…). */
export class QueryCounter {
  readonly #counts = new Map<string, number>();

  record(sql: string): void {
    const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'other';
    this.#counts.set(verb, (this.#counts.get(verb) ?? 0) + 1);
  }

  /** Every statement since the last reset. */
  total(): number {
    let n = 0;
    for (const count of this.#counts.values()) n += count;
    return n;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  reset(): void {
    this.#counts.clear();
  }
}

/**
 * MikroORM's logger, also counting every statement whether or not query logging is on: MikroORM
 * hands each one to `logQuery` (transaction statements included), so the count misses none.
 */
export class CountingLogger extends DefaultLogger {
  constructor(
    options: LoggerOptions,
    private readonly counter: QueryCounter,
  ) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    this.counter.record(context.query);
    super.logQuery(context);
  }
}
