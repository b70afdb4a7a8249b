import { StockpyleError } from '@stockpyle/core';

/** An entity handed to `put` holds only part of its state (an unloaded reference), so storing it would lose data. */
export class UnloadedEntityError extends StockpyleError {
  static override readonly code = 'E_UNLOADED_ENTITY';

  static forEntity(className: string): UnloadedEntityError {
    return new UnloadedEntityError(
      `A ${className} reference that was never loaded cannot be put: load it first (await wrap(entity).init()) or put the loaded entity`,
    );
  }
}

/** `@Stockpyle({ collections })` names something that cannot be cached as a member list. */
export class CollectionDeclarationError extends StockpyleError {
  static override readonly code = 'E_COLLECTION_DECLARATION';

  static notACollection(className: string, prop: string): CollectionDeclarationError {
    return new CollectionDeclarationError(`${className}.${prop} is declared in @Stockpyle({ collections }) but is not a @OneToMany or @ManyToMany property: remove it from collections`);
  }

  static membersNotCached(className: string, prop: string, target: string): CollectionDeclarationError {
    return new CollectionDeclarationError(
      `${className}.${prop} is declared in @Stockpyle({ collections }), but its members (${target}) are not a @Stockpyle entity whose first key is its primary key: decorate ${target} with @Stockpyle()`,
    );
  }
}

/** `getOrFail` found nothing for the key. */
export class EntityNotFoundError extends StockpyleError {
  static override readonly code = 'E_ENTITY_NOT_FOUND';

  static forKey(className: string, key: object): EntityNotFoundError {
    return new EntityNotFoundError(`${className} not found (${JSON.stringify(key)}): check the key, or use get() where absence is expected`);
  }
}
