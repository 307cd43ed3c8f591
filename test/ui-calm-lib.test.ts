// Unit tests of the calmer screens' logic: comparing fingerprint words (Key & verify), and the one
// way sizes are written, the same in the app (renderer modules, through Vite's loader) and on the
// phone page (app/net/server/webpage.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererModules } from './renderer-modules.js';
import { formatBytes } from '../app/core/units.js';
import { streamPage } from '../app/net/server/webpage.js';

const load = rendererModules();
const MINE = ['sawdust', 'sympathy', 'atlas', 'trombonist'];

test('compareWords: nothing, so far so good, a word being typed, match, mismatch', async () => {
  const { compareWords } = await load('lib/compareWords.ts');
  assert.equal(compareWords(MINE, '').verdict, 'empty');
  assert.equal(compareWords(MINE, ' , \n').verdict, 'empty');
  let c = compareWords(MINE, 'sawdust sympathy ');
  assert.equal(c.verdict, 'partial');
  assert.deepEqual(
    c.pairs.map((p: { state: string }) => p.state),
    ['match', 'match', 'missing', 'missing'],
  );
  // the last word, still being typed, is not wrong yet; once something follows it, it is
  assert.equal(compareWords(MINE, 'sawdust symp').verdict, 'partial');
  assert.equal(compareWords(MINE, 'sawdust symp ').verdict, 'mismatch');
  // as people paste them: capitals, commas, new lines, numbers
  assert.equal(compareWords(MINE, '1. Sawdust,\n2. SYMPATHY, 3. atlas 4. trombonist').verdict, 'match');
  // the 32 words of the whole key start with the fingerprint's: they match too
  assert.equal(compareWords(MINE, 'sawdust sympathy atlas trombonist ringbolt article').verdict, 'match');
  c = compareWords(MINE, 'sawdust sympathy adroitness trombonist');
  assert.equal(c.verdict, 'mismatch');
  assert.deepEqual(
    c.pairs.map((p: { state: string }) => p.state),
    ['match', 'match', 'differ', 'match'],
  );
  assert.equal(c.pairs[2].theirs, 'adroitness');
  // a word left out shifts the rest: every place after it differs, as it should
  assert.equal(compareWords(MINE, 'sawdust atlas trombonist').verdict, 'mismatch');
});

test('one byte unit: SI (powers of 1000), one decimal below 100, the same in the app and on the phone page', async () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [-5, '0 B'],
    [NaN, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1500, '1.5 kB'],
    [77_200, '77.2 kB'],
    [180_000, '180 kB'],
    [999_400, '999 kB'],
    [999_500, '1 MB'],
    [999_960, '1 MB'],
    [2_450_000, '2.5 MB'],
    [48_000_000, '48 MB'],
    [3_400_000_000, '3.4 GB'],
  ];
  for (const [n, s] of cases) assert.equal(formatBytes(n), s, `${n}`);
  const { formatBytes: app } = await load('lib/progress.ts');
  const { formatSize } = await load('lib/files.ts');
  for (const [n, s] of cases) {
    assert.equal(app(n), s, `progress.ts ${n}`);
    assert.equal(formatSize(n), s, `files.ts ${n}`);
  }
  const html = streamPage({
    name: 'Ada',
    about: '',
    publicKey: 'K',
    urlKey: 'K',
    posts: [],
    page: 1,
    totalPosts: 0,
    pageSize: 20,
    files: [
      { path: 'a.txt', size: 1500, mime: 'text/plain' },
      { path: 'b.bin', size: 2_450_000, mime: 'application/octet-stream' },
    ],
    moreFiles: 0,
  });
  assert.match(html, />1\.5 kB</);
  assert.match(html, />2\.5 MB</);
  assert.ok(!/KiB|MiB/.test(html), 'no binary units on the phone page');
});
