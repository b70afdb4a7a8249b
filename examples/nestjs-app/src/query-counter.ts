import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';

/** Counts the SQL statements MikroORM sends, by first word (select, insert, update, delete, begin, commit…). */
export class QueryCounter {
  readonly #counts = new Map<string, number>();

  record(sql: string): void {
    const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'other';
    this.#counts.set(verb, (this.#counts.get(verb) ?? 0) + 1);
  }

  /** Statements of the given kinds (all kinds when none is named) since the last reset. */
  count(...verbs: string[]): number {
    const kinds = verbs.length === 0 ? [...this.#counts.keys()] : verbs.map((v) => v.toLowerCase());
    return kinds.reduce((n, v) => n + (this.#counts.get(v) ?? 0), 0);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  reset(): void {
    this.#counts.clear();
  }
}

/** MikroORM's logger, also counting every query, whether or not query logging is on. */
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
