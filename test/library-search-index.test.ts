// Search reads the times of its newest matches from the index timeline_rid_ts (library schema 8,
// issue 17) instead of from the timeline rows. Its answers must be those of the same query over
// the rows: for every prefix typed, through edits, deletes and posts whose times are not in the
// order they were indexed (a stream cloned after newer posts of another), and after a library.db of
// schema 7 is upgraded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Library, RANKED } from '../app/node/library.js';
import { MIGRATIONS } from '../app/node/library-schema.js';
import { firstWordAt, firstWordPattern, ftsQuery, makeSnippet, searchTerms } from '../app/node/timeline-text.js';
import { addPost, editPost, encodePost, POST_TYPE } from '../app/store/posts.js';
import { rng } from './rng.js';
import { tmpDir } from './helpers.js';
import { downgradeLibrary, ownedStream } from './library-helpers.js';

const SEC = 1_000_000;

/** The keys search must answer, by the timeline rows themselves (the query before schema 8), best first. */
function reference(lib: Library, query: string, limit = 50): string[] {
  const terms = searchTerms(query);
  if (terms.length === 0) return [];
  const letters = (t: string) => [...t.replace(/\p{M}/gu, '')].length;
  const weigh = !terms.some((t) => letters(t) <= 1) && letters(terms[terms.length - 1]!) >= 3;
  const sql = `SELECT o.key FROM (SELECT rowid${weigh ? ', rank' : ''} FROM timeline_fts WHERE timeline_fts MATCH ? ORDER BY rowid DESC LIMIT ${RANKED}) f
    JOIN timeline o NOT INDEXED ON o.rid = f.rowid ORDER BY ${weigh ? 'f.rank, ' : ''}o.ts DESC, f.rowid DESC LIMIT ?`;
  return lib.db.prepare(sql).pluck().all(ftsQuery(terms), limit) as string[];
}

const WORDS = ['garden', 'gardener', 'garlic', 'gate', 'river', 'riverside', 'رمان', 'رمال', 'Ünïcode', 'café', 'cafeteria', 'moss', 'morning'];
const TYPED = [
  'g',
  'ga',
  'gar',
  'gard',
  'garden',
  'r',
  'ri',
  'riv',
  'ر',
  'رم',
  'رما',
  'u',
  'un',
  'üni',
  'c',
  'ca',
  'caf',
  'cafe',
  'mo',
  'mor',
  'garden r',
  'garden riv',
  'moss mor',
  'x',
];

function check(lib: Library, when: string): void {
  for (const q of TYPED) {
    assert.deepEqual(
      lib.search(q, { limit: 50 }).map((r) => r.key),
      reference(lib, q),
      `${when}: query "${q}"`,
    );
  }
}

test('search answers every prefix as the timeline rows do, through edits, deletes and out-of-order times', () => {
  const lib = Library.open(tmpDir());
  assert.ok(lib.db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'timeline_rid_ts'`).get(), 'schema 8 has the index');
  const r = rng(17);
  const pick = () => WORDS[Math.floor(r() * WORDS.length)]!;
  const text = (n: number) => Array.from({ length: n }, pick).join(' ');
  const a = ownedStream(lib, 'alice');
  const b = ownedStream(lib, 'bob');
  // Alice's posts are new; Bob's, indexed after them, are older: rid order is not time order.
  a.batch((w) => {
    for (let i = 0; i < RANKED + 300; i++) w.put(POST_TYPE, `a${i}`, encodePost({ title: text(2), body: text(1 + Math.floor(r() * 8)) }), (5000 + i) * SEC);
  });
  b.batch((w) => {
    for (let i = 0; i < 400; i++) w.put(POST_TYPE, `b${i}`, encodePost({ title: text(2), body: text(1 + Math.floor(r() * 8)) }), (1000 + i * 7) * SEC);
  });
  lib.indexStream(a);
  lib.indexStream(b);
  check(lib, 'indexed');
  // The newest of each answer changes: edits move words, deletes take rows away, a new post is newest.
  for (let i = 0; i < 60; i++) editPost(a, `a${RANKED + 299 - i}`, { title: 'edited', body: text(3) });
  for (let i = 0; i < 60; i++) a.delete(POST_TYPE, `a${RANKED + 200 - i}`);
  for (let i = 0; i < 40; i++) b.delete(POST_TYPE, `b${i * 3}`);
  addPost(b, { title: 'garden news', body: 'riverside café' }, { ts: 9000 * SEC });
  lib.indexStream(a);
  lib.indexStream(b);
  check(lib, 'after edits and deletes');
  assert.ok(
    lib.search('garden riv', { limit: 1000 }).some((x) => x.title === 'garden news'),
    'the newest post is found',
  );
  a.close();
  b.close();
  lib.close();
});

test('a library.db of schema 7 is upgraded to 8: the index is made from the rows, and search answers as before', () => {
  const dir = tmpDir();
  const lib0 = Library.open(dir);
  const a = ownedStream(lib0, 'alice');
  for (let i = 0; i < 30; i++)
    addPost(a, { title: `note ${i}`, body: `${WORDS[i % WORDS.length]} and ${WORDS[(i * 5) % WORDS.length]}` }, { ts: (100 + ((i * 7) % 30)) * SEC });
  lib0.indexStream(a);
  const before = TYPED.map((q) => lib0.search(q).map((x) => x.key));
  lib0.close();
  downgradeLibrary(dir, 'DROP INDEX timeline_rid_ts;', 7);
  const lib = Library.open(dir);
  assert.equal(lib.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(lib.db.prepare(`SELECT count(*) FROM timeline INDEXED BY timeline_rid_ts WHERE rid > 0`).pluck().get(), 30);
  assert.deepEqual(
    TYPED.map((q) => lib.search(q).map((x) => x.key)),
    before,
  );
  check(lib, 'upgraded');
  a.close();
  lib.close();
});

test('a snippet starts where the case-blind Unicode pattern finds the first word: any case, Arabic, marks, astral letters (2,000 seeds)', () => {
  // Letters of both cases, digits, "_", marks, Arabic, an astral letter and an emoji, spaces and punctuation; İ lowers to two characters.
  const alphabet = ['a', 'B', 'c', 'D', 'é', 'É', 'e\u0301', 'ж', 'Ж', 'ر', 'م', 'ا', 'ن', '7', '_', ' ', ' ', '-', '.', '\u0301', '𝒜', '😀', 'İ', 'ß'];
  for (let seed = 1; seed <= 2000; seed++) {
    const r = rng(seed);
    const pick = () => alphabet[Math.floor(r() * alphabet.length)]!;
    const text = Array.from({ length: 1 + Math.floor(r() * 40) }, pick).join('');
    const terms = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
      const at = Math.floor(r() * text.length);
      const t = searchTerms(text.slice(at, at + 1 + Math.floor(r() * 4)))[0] ?? pick();
      return r() < 0.5 ? t.toUpperCase() : t;
    });
    assert.equal(firstWordAt(text, terms), text.search(firstWordPattern(terms)), `seed ${seed}: ${JSON.stringify(text)} ${JSON.stringify(terms)}`);
  }
  const long = `${'filler '.repeat(30)}Needle in the RIVERSIDE text`;
  assert.equal(makeSnippet('Title', long, ['river']), '…filler filler filler Needle in the RIVERSIDE text');
});
