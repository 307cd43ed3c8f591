// The big library of `bench library`, built once and kept under the temp dir (keyed by FORMAT and
// its size), because 1,000,000 signed posts take minutes to write. Every figure is measured on a
// fresh copy of it in each run; only the building is reused.
//
// The data directory holds STREAMS followed streams (mirrors: no key file beside them) with
// POSTS posts in all, written in big signed batches (bench/common.ts buildWriter-style), and a
// library.db filled the way a node fills it when it finds stream files in its data directory
// (holdings.ts adoptFile: addStream, then indexStream). One of the streams, `live`, is a real
// follow of a writer kept apart (writer/live.stream, with its key), so the bench can serve new
// posts from a LanServer and see them arrive by sync. Post text is drawn from a Zipf-weighted
// vocabulary (common English words, then a long tail of rarer made-up words), so searches
// match as many posts as they would in a real library: a few words are everywhere, most are rare.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Library } from '../app/node/library.js';
import { MIGRATIONS } from '../app/node/library-schema.js';
import { encodePost } from '../app/store/posts.js';
import { KEY_SUFFIX, Stream } from '../app/store/store.js';
import { rng } from '../test/rng.js';

/** Bump when what is built changes (3: library.db with prefix indexes): an old cache is then ignored (and removed). */
export const FORMAT = 3;

export interface LibrarySize {
  streams: number;
  posts: number;
}

export interface BuiltLibrary {
  /** the cached directory: `data/` (the node's) and `writer/live.stream` */
  dir: string;
  /** the public key (base64) of the live stream */
  livePk: string;
  /** whether it was built in this run (else taken from the cache) */
  built: boolean;
  buildMs: number;
}

const COMMON = (
  'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can ' +
  'said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look ' +
  'two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part ' +
  'garden river morning coffee music weather train market festival library bicycle mountain winter summer recipe bread harbour school concert ' +
  'photo walk friends family project meeting release update network printer kitchen window evening weekend holiday museum forest island'
).split(' ');
const SYLLABLES = 'ka lo mi ne ru sa te vi zo ba de fi gu ho ja ke li mo nu pa qui re si to vu wa xe yo za an el in or us'.split(' ');

/** COMMON then 20,000 made-up words; word k is drawn with weight 1/(k+1) (Zipf). */
export function vocabulary(): string[] {
  const r = rng(7);
  const words = [...COMMON];
  const seen = new Set(words);
  while (words.length < COMMON.length + 20_000) {
    let w = '';
    const n = 2 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    if (!seen.has(w)) (seen.add(w), words.push(w));
  }
  return words;
}

function zipfSampler(words: string[], r: () => number): () => string {
  const cum = new Float64Array(words.length);
  let total = 0;
  for (let k = 0; k < words.length; k++) cum[k] = total += 1 / (k + 1);
  return () => {
    const x = r() * total;
    let lo = 0;
    let hi = words.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
}

/** A post of usual length: a title of 2–6 words, a body of 8–60 words in sentences. */
function makePost(word: () => string, r: () => number): Uint8Array {
  const n = 2 + Math.floor(r() * 5);
  const t: string[] = [];
  for (let i = 0; i < n; i++) t.push(word());
  const body: string[] = [];
  const m = 8 + Math.floor(r() * 53);
  let sentence: string[] = [];
  for (let i = 0; i < m; i++) {
    sentence.push(word());
    if (sentence.length > 5 && (r() < 0.15 || i === m - 1)) {
      const s = sentence.join(' ');
      body.push(s[0]!.toUpperCase() + s.slice(1) + '.');
      sentence = [];
    }
  }
  if (sentence.length) body.push(sentence.join(' ') + '.');
  const title = t.join(' ');
  return encodePost({ title: title[0]!.toUpperCase() + title.slice(1), body: body.join(' ') });
}

const NAMES = ['Ada', 'Bram', 'Chiara', 'Dmitri', 'Emeka', 'Fatima', 'Goran', 'Hana', 'Ines', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Noor', 'Oskar', 'Priya'];
const THINGS = ['notes', 'garden log', 'photos', 'kitchen', 'field notes', 'music', 'bike rides', 'reading list', 'weekly', 'workshop'];

/** Write `posts` posts into a new stream file, in signed batches of 10,000 (Stream.batch). */
function writeStream(file: string, name: string, posts: number, seed: number): Stream {
  const s = Stream.create(file, { name });
  const r = rng(seed);
  const word = zipfSampler(VOCAB, r);
  const per = 10_000;
  for (let start = 0; start < posts; start += per) {
    s.batch((w) => {
      for (let i = start; i < Math.min(posts, start + per); i++) w.put('post', `p${String(i).padStart(7, '0')}`, makePost(word, r));
    });
  }
  return s;
}

let VOCAB: string[] = [];

export function cacheDir(size: LibrarySize): string {
  return path.join(os.tmpdir(), `drayer-bench-library-v${FORMAT}-${size.streams}x${size.posts}`);
}

/** The built library of this size: from the cache when it is there and complete, else built now (into the cache). */
export function buildLibrary(size: LibrarySize, log: (m: string) => void = () => {}): BuiltLibrary {
  const dir = cacheDir(size);
  const doneFile = path.join(dir, 'done.json');
  if (fs.existsSync(doneFile)) {
    const done = JSON.parse(fs.readFileSync(doneFile, 'utf8')) as { livePk: string };
    return { dir: upgraded(dir), livePk: done.livePk, built: false, buildMs: 0 };
  }
  // Older formats of any size are dead weight: remove them.
  for (const n of fs.readdirSync(os.tmpdir())) {
    const m = /^drayer-bench-library-v(\d+)-/.exec(n);
    if (m && Number(m[1]) !== FORMAT) fs.rmSync(path.join(os.tmpdir(), n), { recursive: true, force: true });
  }
  const t0 = performance.now();
  const tmp = `${dir}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const data = path.join(tmp, 'data');
  const writerDir = path.join(tmp, 'writer');
  fs.mkdirSync(data, { recursive: true });
  fs.mkdirSync(writerDir, { recursive: true });
  VOCAB = vocabulary();
  const lib = Library.open(data);
  try {
    const per = Math.floor(size.posts / size.streams);
    let livePk = '';
    for (let i = 0; i < size.streams; i++) {
      const name = `${NAMES[i % NAMES.length]}'s ${THINGS[Math.floor(i / NAMES.length) % THINGS.length]}${i >= NAMES.length * THINGS.length ? ` ${i}` : ''}`;
      const count = i === size.streams - 1 ? size.posts - per * (size.streams - 1) : per;
      let s: Stream;
      if (i === 0) {
        // The live stream: written apart, followed here by applying its feed (what a finished pull holds).
        const w = writeStream(path.join(writerDir, 'live.stream'), name, count, 1000 + i);
        s = Stream.create(path.join(data, 'live.stream'), { followKey: w.publicKey });
        for (let since = 0; ;) {
          const page = w.changesSince(since, { limit: 10_000 });
          const res = s.apply(page.records, { verified: true });
          if (res.rejected.length) throw new Error(`the live mirror rejected a record: ${res.rejected[0]!.reason}`);
          since = page.seq;
          if (!page.more) break;
        }
        w.close();
        livePk = Buffer.from(s.publicKey).toString('base64');
      } else {
        s = writeStream(path.join(data, `s${String(i).padStart(3, '0')}.stream`), name, count, 1000 + i);
      }
      const file = path.basename(s.file);
      const pk = Buffer.from(s.publicKey).toString('base64');
      s.close();
      // Someone else's stream: its key stays with its author.
      fs.rmSync(path.join(data, file + KEY_SUFFIX), { force: true });
      // As holdings.ts adoptFile takes in a stream file found in the data directory.
      const m = Stream.open(path.join(data, file), { expectedKey: Buffer.from(pk, 'base64') });
      try {
        lib.addStream({ publicKey: pk, file, owned: m.writable, name: String(m.info().name ?? '') });
        lib.indexStream(m);
      } finally {
        m.close();
      }
      if ((i + 1) % 25 === 0) log(`built ${i + 1}/${size.streams} streams, ${Math.round((performance.now() - t0) / 1000)} s`);
    }
    lib.db.pragma('wal_checkpoint(TRUNCATE)');
    lib.close();
    fs.writeFileSync(path.join(tmp, 'done.json'), JSON.stringify({ livePk, size, format: FORMAT }));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return { dir, livePk, built: true, buildMs: performance.now() - t0 };
  } catch (e) {
    lib.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The cache as this Drayer's library schema has it. A cache built by an older Drayer stays as it
 * is (checkouts of that version on the same machine still use it); the newer migrations go to a
 * copy beside it, made once (with the re-index a migration asks for), so each run measures a start,
 * not an upgrade.
 */
function upgraded(dir: string): string {
  const db = new Database(path.join(dir, 'data', 'library.db'), { readonly: true });
  const version = db.pragma('user_version', { simple: true }) as number;
  db.close();
  if (version >= MIGRATIONS.length) return dir;
  const up = `${dir}-schema${MIGRATIONS.length}`;
  if (fs.existsSync(path.join(up, 'done.json'))) return up;
  const tmp = `${up}.building-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(dir, tmp, { recursive: true });
  const lib = Library.open(path.join(tmp, 'data'));
  // A migration that asks for a re-index (index_state emptied) is done here too: a real library
  // re-reads its streams once after an upgrade, not at every start the bench measures.
  for (const e of lib.listStreams()) {
    const s = Stream.open(lib.pathOf(e));
    try {
      lib.indexStream(s);
    } finally {
      s.close();
    }
  }
  lib.db.pragma('wal_checkpoint(TRUNCATE)');
  lib.close();
  fs.rmSync(up, { recursive: true, force: true });
  fs.renameSync(tmp, up);
  return up;
}

/** A fresh copy of the built library to run a node on (the cache itself is never written). */
export function copyLibrary(built: BuiltLibrary, to: string): { data: string; writer: string } {
  fs.cpSync(built.dir, to, { recursive: true });
  // On disk before the node starts: else its first write waits behind the kernel flushing the
  // copy's gigabyte of dirty pages (measured: 0.2–0.6 s), which no restart of a real node meets.
  for (const e of fs.readdirSync(to, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const fd = fs.openSync(path.join(e.parentPath, e.name), 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { data: path.join(to, 'data'), writer: path.join(to, 'writer', 'live.stream') };
}
