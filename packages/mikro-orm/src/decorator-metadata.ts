import type { EntityMetadata } from '@mikro-orm/core';
import { decoratorMetadata6 } from './decorator-metadata-6';
import { decoratorMetadata7 } from './decorator-metadata-7';

/**
 * Reads what MikroORM's decorators recorded on a class before any ORM discovered it (for
 * `@Stockpyle()` without keys on an entity that reaches a store before `MikroORM.init`). No public
 * API of MikroORM gives it, and each major keeps it elsewhere: one reader per major.
 */
export interface DecoratorMetadataReader {
  readonly major: number;
  /** True when the installed `@mikro-orm/core` keeps decorator metadata where this reader looks. */
  supported(): boolean;
  /** The metadata recorded on exactly this class (not inherited), or `undefined`. */
  read(cls: Function): EntityMetadata | undefined;
}

const READERS = [decoratorMetadata7, decoratorMetadata6];
let chosen: DecoratorMetadataReader | undefined;

/** The reader for the installed `@mikro-orm/core`; throws when none fits (a major this package does not know). */
export function decoratorMetadataReader(): DecoratorMetadataReader {
  chosen ??= READERS.find((reader) => reader.supported());
  if (chosen === undefined) {
    throw new TypeError('@stockpyle/mikro-orm: this @mikro-orm/core keeps decorator metadata where neither MikroORM 6 nor 7 did; use a supported major (^6.6.16 || ^7)');
  }
  return chosen;
}
