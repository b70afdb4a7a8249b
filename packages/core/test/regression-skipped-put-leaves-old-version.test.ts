import 'reflect-metadata';
import { DEFAULT_MAX_PAYLOAD_BYTES, DictionaryStore, ProcessMemoryStore, Stockpyle } from '@stockpyle/core';

// Found while writing the hostile-input suites: a put straight into a cache store (no chain) of an
// object the store does not keep — its lifetime already past, too large, or not encodable — left
// the previous version in place, so the next get answered with it. (Through a chain, the write's
// tombstone already hid it.)

@Stockpyle({ keys: ['id', 'slug'], name: 'regression.SkippedDoc' })
class Doc {
  constructor(public id: number, public slug: string, public body: unknown = '', public expired = false) {}
}

const lifetime = (obj: object): Date | undefined => ((obj as Doc).expired ? new Date(0) : undefined);

describe.each([
  ['DictionaryStore', () => new DictionaryStore(new Map(), { lifetime })],
  ['ProcessMemoryStore', () => new ProcessMemoryStore({ lifetime })],
])('%s.put() of an object it does not keep', (_name, open) => {
  it.each([
    ['a lifetime already past', (id: number) => new Doc(id, `doc-${id}`, 'v2', true)],
    ['a field the codec refuses', (id: number) => new Doc(id, `doc-${id}`, JSON.parse('{"__proto__":1}'))],
    ['a cycle', (id: number) => {
      const doc = new Doc(id, `doc-${id}`);
      doc.body = doc;
      return doc;
    }],
    ['an envelope over the decode limit', (id: number) => new Doc(id, `doc-${id}`, 'x'.repeat(DEFAULT_MAX_PAYLOAD_BYTES))],
  ])('%s: the previous version is gone, by every key', async (_case, next) => {
    const store = open();
    await store.put(new Doc(1, 'doc-1', 'v1'));
    await store.put(next(1));
    const byId = await store.get(Doc, { id: 1 });
    const bySlug = await store.get(Doc, { slug: 'doc-1' });
    // An in-process store keeps live objects, so it may keep the new one; never the old one.
    expect(byId?.body).not.toBe('v1');
    expect(bySlug?.body).not.toBe('v1');
  });
});
