import { Cascade, Collection } from '@mikro-orm/core';
import { Entity, ManyToMany, ManyToOne, OneToMany, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * The owners and members of collection-changes.integration.test.ts: a board's cards (1:m with
 * orphan removal and cascaded removes), its pins (1:m, the member's foreign key nullable), its
 * labels (m:n, owning side) and a label's boards (the inverse side); its stickers, a many-to-many
 * whose pivot rows are an entity, `Sticker`.
 */
@Entity({ tableName: 'cc_board' })
export class Board {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  name!: string;

  @OneToMany({ entity: () => Card, mappedBy: 'board', orphanRemoval: true, cascade: [Cascade.PERSIST, Cascade.REMOVE] })
  cards = new Collection<Card>(this);

  @OneToMany({ entity: () => Pin, mappedBy: 'board' })
  pins = new Collection<Pin>(this);

  @ManyToMany({ entity: () => Label, inversedBy: 'boards' })
  labels = new Collection<Label>(this);

  @ManyToMany({ entity: () => Label, inversedBy: 'stuckOn', pivotEntity: () => Sticker })
  stickers = new Collection<Label>(this);
}

@Entity({ tableName: 'cc_card' })
export class Card {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'string' })
  title!: string;

  @ManyToOne({ entity: () => Board })
  board!: Board;
}

@Entity({ tableName: 'cc_pin' })
export class Pin {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @ManyToOne({ entity: () => Board, nullable: true })
  board?: Board | null;
}

@Entity({ tableName: 'cc_label' })
export class Label {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'string' })
  name!: string;

  @ManyToMany({ entity: () => Board, mappedBy: 'labels' })
  boards = new Collection<Board>(this);

  @ManyToMany({ entity: () => Board, mappedBy: 'stickers' })
  stuckOn = new Collection<Board>(this);
}

/** The pivot entity of `Board.stickers`: its rows may be written as entities of their own. */
@Entity({ tableName: 'cc_sticker' })
export class Sticker {
  @ManyToOne({ entity: () => Board, primary: true })
  board!: Board;

  @ManyToOne({ entity: () => Label, primary: true })
  label!: Label;
}

export const COLLECTION_ENTITIES = [Board, Card, Pin, Label, Sticker];
