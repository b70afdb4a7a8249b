import 'reflect-metadata';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChangeSetType, type EntityManager, type EntityMetadata, type EventSubscriber, type FlushEventArgs } from '@mikro-orm/core';
import { changeSetsOf, collectionChanges, collectionUpdatesOf, metaOf, originalDataOf, snapshotOf, type CollectionChange } from '../src/collection-changes';
import { Board, COLLECTION_ENTITIES, Card, Label, Pin, Sticker } from './support/collection-entities';
import { MIKRO_ORM_MAJOR, openOrm, type TestOrm } from './support/orm';

/** The collections the test declares as cached, per entity class. */
let declared: Record<string, readonly string[]> = {};
const DECLARE_ALL = { Board: ['cards', 'pins', 'labels', 'stickers'], Label: ['boards', 'stuckOn'] };

/** Calls collectionChanges in onFlush, as StockpyleSubscriber does, and keeps what it returned. */
class Capture implements EventSubscriber {
  flushes: CollectionChange[][] = [];
  probe: ((args: FlushEventArgs) => void) | undefined;

  onFlush(args: FlushEventArgs): void {
    this.probe?.(args);
    this.flushes.push(collectionChanges(args.uow, (meta: EntityMetadata) => declared[meta.className] ?? []));
  }
}

const capture = new Capture();
let db: TestOrm;

/** One flush's changes as `Class#pk.prop`, read after the flush (a new owner's key is known then), sorted. */
function shown(changes: readonly CollectionChange[]): string[] {
  return changes.map((c) => `${c.owner.className}#${JSON.stringify(c.ownerPk)}.${c.prop}`).sort();
}

/** Runs `change` in a fresh EntityManager, flushes, and returns what the flush reported. */
async function flushed(change: (em: EntityManager) => unknown): Promise<string[]> {
  const em = db.orm.em.fork();
  await change(em);
  capture.flushes = [];
  await em.flush();
  expect(capture.flushes).toHaveLength(1);
  return shown(capture.flushes[0]!);
}

/** Ids the database returns now: that the flush really changed what the test says. */
async function members(query: string): Promise<number[]> {
  const rows: { id: number }[] = await db.orm.em.getConnection().execute(sql(query));
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** The statement with the test's tables named in its schema. */
function sql(statement: string): string {
  const schema = db.orm.config.get('schema') as string;
  return statement.replace(/\bcc_(board_labels|board|card|pin|label|sticker)\b/g, (table) => `"${schema}".${table}`);
}

beforeAll(async () => {
  db = await openOrm('collchg', { subscribers: [capture], extra: { entities: COLLECTION_ENTITIES } });
});

afterAll(async () => {
  await db.close();
});

// Boards 1 and 2 (serial ids); cards 10, 11 on board 1 and 20 on board 2; pin 30 on board 1;
// labels 40 and 41; board 1 labelled 40, board 2 labelled 40 and 41.
beforeEach(async () => {
  declared = DECLARE_ALL;
  capture.probe = undefined;
  await db.orm.em.getConnection().execute(sql('truncate table cc_board, cc_card, cc_pin, cc_label, cc_sticker restart identity cascade'));
  const em = db.orm.em.fork();
  const one = em.create(Board, { name: 'one' });
  const two = em.create(Board, { name: 'two' });
  const l40 = em.create(Label, { id: 40, name: 'red' });
  const l41 = em.create(Label, { id: 41, name: 'blue' });
  em.create(Card, { id: 10, title: 'a', board: one });
  em.create(Card, { id: 11, title: 'b', board: one });
  em.create(Card, { id: 20, title: 'c', board: two });
  em.create(Pin, { id: 30, board: one });
  one.labels.add(l40);
  two.labels.add(l40, l41);
  await em.flush();
  expect([one.id, two.id]).toEqual([1, 2]);
});

describe('collectionChanges()', () => {
  describe('one-to-many', () => {
    it('reports the owner of a member created with a reference to it', async () => {
      const changes = await flushed((em) => void em.create(Card, { id: 12, title: 'd', board: em.getReference(Board, 1) }));
      expect(changes).toEqual(['Board#1.cards']);
      expect(await members('select id from cc_card where board_id = 1')).toEqual([10, 11, 12]);
    });

    it('reports the owner once for a member added to its loaded collection and a second one created', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 1, { populate: ['cards'] });
        board.cards.add(em.create(Card, { id: 12, title: 'd', board }));
        em.create(Card, { id: 13, title: 'e', board });
      });
      expect(changes).toEqual(['Board#1.cards']);
    });

    it('reports the owner of a deleted member', async () => {
      const changes = await flushed(async (em) => em.remove(await em.findOneOrFail(Card, 10)));
      expect(changes).toEqual(['Board#1.cards']);
      expect(await members('select id from cc_card where board_id = 1')).toEqual([11]);
    });

    it('reports the old owner (from the snapshot) and the new one when a foreign key moves through a reference', async () => {
      const changes = await flushed(async (em) => {
        const card = await em.findOneOrFail(Card, 10);
        card.board = em.getReference(Board, 2);
      });
      expect(changes).toEqual(['Board#1.cards', 'Board#2.cards']);
      expect(await members('select id from cc_card where board_id = 2')).toEqual([10, 20]);
    });

    it('reports nothing when a member changes but keeps its owner', async () => {
      const changes = await flushed(async (em) => {
        (await em.findOneOrFail(Card, 10)).title = 'renamed';
      });
      expect(changes).toEqual([]);
    });

    it('reports the owner of a member removed from a collection with orphanRemoval (the member is deleted)', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 1, { populate: ['cards'] });
        board.cards.remove(board.cards.getItems().find((c) => c.id === 10)!);
      });
      expect(changes).toEqual(['Board#1.cards']);
      expect(await members('select id from cc_card')).toEqual([11, 20]);
    });

    it('reports the owner of a member removed from a collection without orphanRemoval (its foreign key is nulled)', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 1, { populate: ['pins'] });
        board.pins.remove(board.pins.getItems()[0]!);
      });
      expect(changes).toEqual(['Board#1.pins']);
      expect(await members('select id from cc_pin where board_id is null')).toEqual([30]);
    });

    it('reports both owners of a member added to another owner’s collection', async () => {
      const changes = await flushed(async (em) => {
        const pin = await em.findOneOrFail(Pin, 30);
        (await em.findOneOrFail(Board, 2)).pins.add(pin);
      });
      expect(changes).toEqual(['Board#1.pins', 'Board#2.pins']);
      expect(await members('select id from cc_pin where board_id = 2')).toEqual([30]);
    });

    it('reports an owner inserted by the flush by the key the database gives it', async () => {
      let board: Board | undefined;
      const changes = await flushed((em) => {
        board = em.create(Board, { name: 'three' });
        em.create(Card, { id: 12, title: 'd', board });
      });
      expect(board!.id).toBe(3);
      expect(changes).toEqual(['Board#3.cards']);
    });
  });

  describe('an owner deleted', () => {
    it('reports all its declared collections, its cascaded members’ and the other side of its many-to-many', async () => {
      const changes = await flushed(async (em) => em.remove(await em.findOneOrFail(Board, 2, { populate: ['cards', 'labels'] })));
      expect(changes).toEqual(['Board#2.cards', 'Board#2.labels', 'Board#2.pins', 'Board#2.stickers', 'Label#40.boards', 'Label#41.boards']);
      expect(await members('select id from cc_card')).toEqual([10, 11]);
      expect(await members('select label_id as id from cc_board_labels')).toEqual([40]);
    });

    it('finds the other side in loaded entities when its own many-to-many was not loaded', async () => {
      const changes = await flushed(async (em) => {
        await em.findOneOrFail(Label, 41, { populate: ['boards'] });
        em.remove(await em.findOneOrFail(Board, 2, { populate: ['cards'] }));
      });
      expect(changes).toEqual(['Board#2.cards', 'Board#2.labels', 'Board#2.pins', 'Board#2.stickers', 'Label#41.boards']);
    });

    it('reports a deleted inverse-side entity and every owning collection that listed it', async () => {
      const changes = await flushed(async (em) => em.remove(await em.findOneOrFail(Label, 40, { populate: ['boards'] })));
      expect(changes).toEqual(['Board#1.labels', 'Board#2.labels', 'Label#40.boards', 'Label#40.stuckOn']);
      expect(await members('select board_id as id from cc_board_labels')).toEqual([2]);
    });
  });

  describe('many-to-many', () => {
    it('reports the owning side and the inverse side of a member added on the owning side', async () => {
      const changes = await flushed(async (em) => {
        (await em.findOneOrFail(Board, 1)).labels.add(em.getReference(Label, 41));
      });
      expect(changes).toEqual(['Board#1.labels', 'Label#41.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 1')).toEqual([40, 41]);
    });

    it('reports both sides of a member added on the inverse side', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 1, { populate: ['labels'] });
        (await em.findOneOrFail(Label, 41, { populate: ['boards'] })).boards.add(board);
      });
      expect(changes).toEqual(['Board#1.labels', 'Label#41.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 1')).toEqual([40, 41]);
    });

    it('reports both sides of a member removed', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 2, { populate: ['labels'] });
        board.labels.remove(em.getReference(Label, 40));
      });
      expect(changes).toEqual(['Board#2.labels', 'Label#40.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 2')).toEqual([41]);
    });

    it('reports every former member’s other side after removeAll() of a loaded collection', async () => {
      const changes = await flushed(async (em) => (await em.findOneOrFail(Board, 2, { populate: ['labels'] })).labels.removeAll());
      expect(changes).toEqual(['Board#2.labels', 'Label#40.boards', 'Label#41.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 2')).toEqual([]);
    });

    it('after removeAll() of a collection never loaded, reports the loaded entities whose other side listed the owner', async () => {
      const changes = await flushed(async (em) => {
        await em.findOneOrFail(Label, 40, { populate: ['boards'] });
        (await em.findOneOrFail(Board, 2)).labels.removeAll();
      });
      expect(changes).toEqual(['Board#2.labels', 'Label#40.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 2')).toEqual([]);
    });

    it('reports only the members set() takes out or puts in', async () => {
      const changes = await flushed(async (em) => {
        const board = await em.findOneOrFail(Board, 1, { populate: ['labels'] });
        board.labels.set([em.getReference(Label, 41)]);
      });
      expect(changes).toEqual(['Board#1.labels', 'Label#40.boards', 'Label#41.boards']);
      expect(await members('select label_id as id from cc_board_labels where board_id = 1')).toEqual([41]);
    });

    it('reports both sides of a pivot row created or deleted as an entity of its own', async () => {
      const created = await flushed((em) => void em.create(Sticker, { board: em.getReference(Board, 1), label: em.getReference(Label, 41) }));
      expect(created).toEqual(['Board#1.stickers', 'Label#41.stuckOn']);
      expect(await members('select label_id as id from cc_sticker where board_id = 1')).toEqual([41]);
      const deleted = await flushed(async (em) => em.remove(await em.findOneOrFail(Sticker, { board: 1, label: 41 })));
      expect(deleted).toEqual(['Board#1.stickers', 'Label#41.stuckOn']);
      expect(await members('select label_id as id from cc_sticker')).toEqual([]);
    });

    it('leaves out collections that are not declared', async () => {
      declared = { Board: ['labels'] };
      const changes = await flushed(async (em) => {
        (await em.findOneOrFail(Board, 1)).labels.add(em.getReference(Label, 41));
        em.create(Card, { id: 12, title: 'd', board: em.getReference(Board, 1) });
      });
      expect(changes).toEqual(['Board#1.labels']);
    });
  });
});

// What collectionChanges reads of MikroORM's unit of work at onFlush; collection-changes.ts keeps it in one place.
describe(`MikroORM ${MIKRO_ORM_MAJOR}'s unit of work at onFlush, as collection-changes.ts reads it`, () => {
  it('getChangeSets() holds the computed change sets, an update’s originalEntity the foreign key before the flush', async () => {
    let seen: { type: ChangeSetType; fk: unknown; payload: unknown }[] = [];
    capture.probe = (args) => {
      seen = changeSetsOf(args.uow).map((cs) => ({ type: cs.type, fk: originalDataOf(args.uow, cs)?.board, payload: (cs.payload as Record<string, unknown>).board }));
    };
    await flushed(async (em) => {
      (await em.findOneOrFail(Card, 10)).board = em.getReference(Board, 2);
    });
    expect(seen).toEqual([{ type: ChangeSetType.UPDATE, fk: 1, payload: 2 }]);
  });

  it('a deleted entity’s original data keeps its foreign key', async () => {
    let seen: unknown[] = [];
    capture.probe = (args) => {
      seen = changeSetsOf(args.uow).map((cs) => [cs.type, originalDataOf(args.uow, cs)?.board]);
    };
    await flushed(async (em) => em.remove(await em.findOneOrFail(Card, 10)));
    expect(seen).toEqual([[ChangeSetType.DELETE, 1]]);
  });

  it('getCollectionUpdates() holds the dirty collections; a collection’s snapshot its members before, undefined once replaced unloaded', async () => {
    let seen: unknown[] = [];
    capture.probe = (args) => {
      seen = collectionUpdatesOf(args.uow).map((c) => [c.property.name, snapshotOf(c)?.map((m) => (m as Label).id)]);
    };
    await flushed(async (em) => (await em.findOneOrFail(Board, 2, { populate: ['labels'] })).labels.remove(em.getReference(Label, 40)));
    expect(seen).toEqual([['labels', [40, 41]]]);
    await flushed(async (em) => (await em.findOneOrFail(Board, 1)).labels.removeAll());
    expect(seen).toEqual([['labels', undefined]]);
  });

  it('an entity’s metadata lists, in referencingProperties, the collections of other entities whose members it is', async () => {
    const em = db.orm.em.fork();
    const label = em.getReference(Label, 40);
    const card = await em.findOneOrFail(Card, 10);
    expect(metaOf(label).className).toBe('Label');
    const referencing = (entity: object): string[] => metaOf(entity).referencingProperties.map((r) => `${r.meta.className}.${r.prop.name}:${r.prop.kind}`);
    expect(referencing(label)).toContain('Board.labels:m:n');
    expect(referencing(card)).toContain('Board.cards:1:m');
    expect(referencing(card.board)).toContain('Label.boards:m:n');
  });
});
