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
