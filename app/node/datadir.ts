// Keeps a node's streams in step with the stream files in its data directory (DESIGN §2: the
// library can be rebuilt from them). A `*.stream` file the library lacks is taken in once it
// opens as a valid stream, whoever put it there (`drayer create`, `drayer clone`, a copy); a
// held stream whose file is deleted or replaced is let go. The directory is watched, with a
// periodic rescan behind it because fs.watch misses events on some filesystems. A file that
// cannot be taken in is never written, and is reported once, not at every rescan.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDrayerError } from '../core/errors.js';
import { formatKey } from '../core/keys.js';
import { STREAM_SUFFIX } from './library-schema.js';
import { KEY_SUFFIX, Stream } from '../store/store.js';

/** How soon after a change in the directory it is looked at: one scan for a burst of events. */
const COALESCE_MS = 150;
/** The fallback rescan, for filesystems whose changes fs.watch does not report: the names in the directory this often… */
const RESCAN_MS = 2000;
/** …and every held file (deleted, replaced, a key file beside it) when the names changed, or this often. */
const FULL_RESCAN_MS = 30_000;
/** A file this node makes is expected within this time: its own creation is no news to look into. */
const EXPECT_MS = 10_000;
/** A file changed more recently than this may still be being written: refused quietly, tried again. */
const SETTLE_MS = 1500;

export type StreamProbe = ReturnType<typeof Stream.probe>;

export interface DataDirHost {
  /** the streams the node holds: public key (base64), absolute file, and whether it has the secret key */
  held(): Iterable<{ publicKey: string; file: string; writable: boolean }>;
  /**
   * The file (as the library names it) of the stream with this key, when the node holds it or
   * is still letting go of it ('closing': the file may be its new name, so wait).
   */
  holderOf(publicKey: string): string | 'closing' | undefined;
  /** file names (relative to the data directory) that are not candidates: the library's own, and those let go on purpose */
  ignored(): Set<string>;
  /** take the stream in; throws if it cannot (e.g. damage found while indexing) */
  adopt(file: string, probe: StreamProbe): void;
  /** let a held stream go: its file was deleted (`gone`) or another file now has its name */
  drop(publicKey: string, why: 'gone' | 'replaced'): void;
  /** a held mirror's key file has appeared beside it: make it writable; throws if the key is not its own */
  takeKey(publicKey: string): void;
  log(message: string): void;
}

interface Refusal {
  /** device and inode: the same file, even renamed or rewritten */
  id: string;
  /** size and time of the file and its WAL, when refused for what the file holds; '' to try again */
  sig: string;
  reason: string;
}

function statOf(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

export class DataDirWatcher {
  private watcher: fs.FSWatcher | null = null;
  private rescan: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private stopped = false;
  /** identity (device:inode) of each held stream's file, to see it replaced */
  private readonly identity = new Map<string, string>();
  /** files refused, by name: what was said about them, so it is said once */
  private readonly refused = new Map<string, Refusal>();
  /** key files refused, by stream: the key file's identity, size and time when it was */
  private readonly keysRefused = new Map<string, string>();
  /** the last trouble with the directory itself, said once while it lasts */
  private trouble = '';
  /** files this node is making (a follow, a new stream), by name: until when their creation is expected */
  private readonly expected = new Map<string, number>();
  /** stream files (by name) written to since takeWritten() was last called, by this process or another */
  private written = new Set<string>();
  /** files this node made (a follow, a new stream), by name: their appearing is no news to the periodic rescan either */
  private readonly made = new Set<string>();
  /** the names in the directory at the last full scan (less those this node made), and when it ran */
  private lastNames = '';
  private lastFull = 0;

  constructor(
    private readonly dir: string,
    private readonly host: DataDirHost,
  ) {}

  /** Watch the directory and rescan it periodically (call after a first scan()). */
  start(): void {
    try {
      this.watcher = fs.watch(this.dir, { persistent: false }, (event, name) => {
        // Created, deleted or renamed stream files and key files; writes into held files are not news.
        if (name !== null) {
          const base = String(name).replace(/-(wal|shm|journal)$/, '');
          if (base.endsWith(STREAM_SUFFIX) && this.written.size < 4096) this.written.add(base);
          if (this.wasExpected(String(name))) return;
        }
        if (name === null || (event === 'rename' && /\.stream(\.privatekey)?$/.test(String(name)))) this.soon();
      });
      this.watcher.on('error', (e) => {
        this.host.log(`Stopped watching ${this.dir} (${e.message}); stream files put there are still found within ${RESCAN_MS / 1000} s.`);
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (e) {
      this.host.log(`Cannot watch ${this.dir} (${(e as Error).message}); stream files put there are found within ${RESCAN_MS / 1000} s instead.`);
    }
    this.rescan = setInterval(() => this.scan(true), RESCAN_MS);
    this.rescan.unref();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.rescan) clearInterval(this.rescan);
    if (this.pending) clearTimeout(this.pending);
    this.rescan = this.pending = null;
  }

  /** Scan shortly, once for however many calls come meanwhile. */
  soon(ms = COALESCE_MS): void {
    if (this.stopped || this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.scan();
    }, ms);
    this.pending.unref();
  }

  /**
   * The stream files in the directory written to (their WAL or the file) since the last call, or
   * null when the directory is not watched (then every stream must be looked at).
   */
  takeWritten(): Set<string> | null {
    if (!this.watcher) return null;
    const w = this.written;
    this.written = new Set();
    return w;
  }

  /**
   * `name` (in the data directory) is about to be made by this node: its creation is not looked
   * into (with a library of hundreds of streams, a scan after each follow made following N streams cost N²).
   */
  expect(name: string): void {
    const until = Date.now() + EXPECT_MS;
    if (this.expected.size >= 1024) this.expected.clear();
    for (const f of [name, name + KEY_SUFFIX]) this.expected.set(f, until);
    if (this.made.size >= 4096) this.made.clear();
    this.made.add(name);
  }

  /**
   * The directory's names, as the periodic rescan compares them: less the files this node made and
   * their companions (WAL, key files). While a node follows N streams, each new file changed the
   * names and made the next rescan look at every held file: N² stats (3% of a node's CPU while 40
   * nodes followed one another). A made file deleted is still noticed: by the watcher at once, else
   * at the next full rescan.
   */
  private namesKey(names: string[]): string {
    if (this.made.size === 0) return [...names].sort().join('/');
    return names
      .filter((n) => !this.made.has(n.replace(/(-wal|-shm|-journal|\.privatekey|\.readkey)+$/, '')))
      .sort()
      .join('/');
  }

  private wasExpected(name: string): boolean {
    const until = this.expected.get(name);
    if (until === undefined) return false;
    this.expected.delete(name);
    return until >= Date.now();
  }

  /**
   * Let go of held streams whose files are gone, then take in the new files. Never throws.
   * `periodic`: the fallback rescan, which looks further only when the names in the directory
   * changed (or a while has passed: a file replaced under the same name).
   */
  scan(periodic = false): void {
    if (this.stopped) return;
    try {
      if (periodic) {
        const names = this.namesKey(fs.readdirSync(this.dir));
        if (names === this.lastNames && Date.now() - this.lastFull < FULL_RESCAN_MS) return;
      }
      this.lastFull = Date.now();
      this.checkHeld();
      if (this.checkCandidates()) this.trouble = '';
    } catch (e) {
      this.complain(`Scanning ${this.dir} for stream files failed: ${(e as Error).message}`);
    }
  }

  private complain(message: string): void {
    if (message !== this.trouble) this.host.log(message);
    this.trouble = message;
  }

  private checkHeld(): void {
    const seen = new Set<string>();
    for (const { publicKey, file, writable } of [...this.host.held()]) {
      seen.add(publicKey);
      const st = statOf(file);
      if (!st) {
        // A folder that is gone too is more likely an unmounted disk than a deletion: wait for it.
        if (statOf(path.dirname(file))?.isDirectory()) this.letGo(publicKey, 'gone');
        continue;
      }
      const id = `${st.dev}:${st.ino}`;
      const known = this.identity.get(publicKey);
      if (known === undefined) this.identity.set(publicKey, id);
      else if (known !== id) this.letGo(publicKey, 'replaced');
      else if (!writable) this.checkKey(publicKey, file);
    }
    for (const pk of this.identity.keys()) if (!seen.has(pk)) this.identity.delete(pk);
    for (const pk of this.keysRefused.keys()) if (!seen.has(pk)) this.keysRefused.delete(pk);
  }

  /** A key file copied in after its stream file (a file manager copies one at a time) makes it writable. */
  private checkKey(publicKey: string, file: string): void {
    const st = statOf(file + KEY_SUFFIX);
    if (!st) return void this.keysRefused.delete(publicKey);
    const sig = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (this.keysRefused.get(publicKey) === sig) return;
    try {
      this.host.takeKey(publicKey);
      this.keysRefused.delete(publicKey);
    } catch (e) {
      if (Date.now() - st.mtimeMs < SETTLE_MS) return this.soon(SETTLE_MS / 2); // may be half copied
      this.keysRefused.set(publicKey, sig);
      this.host.log(`Serving ${path.basename(file)} as a mirror still, not writing to it: ${(e as Error).message}`);
    }
  }

  private letGo(publicKey: string, why: 'gone' | 'replaced'): void {
    this.identity.delete(publicKey);
    this.host.drop(publicKey, why);
  }

  /** false when the directory could not be read */
  private checkCandidates(): boolean {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      this.complain(`Cannot read the data directory ${this.dir} to find stream files in it: ${(e as Error).message}. Check that it exists and is readable.`);
      return false;
    }
    this.lastNames = this.namesKey(names);
    const present = new Set(names);
    for (const name of this.refused.keys()) if (!present.has(name)) this.refused.delete(name);
    const ignored = this.host.ignored();
    const candidates = names.filter((n) => n.endsWith(STREAM_SUFFIX) && !n.startsWith('.') && !ignored.has(n));
    // Of two copies of one stream, the one with its key file is taken in and the other refused.
    const keyed = new Set(candidates.filter((n) => present.has(n + KEY_SUFFIX)));
    candidates.sort((a, b) => Number(keyed.has(b)) - Number(keyed.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
    for (const name of candidates) this.consider(name);
    return true;
  }

  private consider(name: string): void {
    const file = path.join(this.dir, name);
    const st = statOf(file);
    if (!st?.isFile()) return;
    const wal = statOf(file + '-wal');
    const id = `${st.dev}:${st.ino}`;
    const sig = `${st.size}:${st.mtimeMs}:${wal?.size ?? -1}:${wal?.mtimeMs ?? 0}`;
    const prior = this.refused.get(name);
    if (prior && prior.id === id && prior.sig === sig) return; // unchanged since it was refused
    let reason: string;
    let again = false;
    try {
      const probe = Stream.probe(file);
      const pk = formatKey(probe.publicKey);
      const holder = this.host.holderOf(pk);
      if (holder === 'closing') return this.soon(500);
      if (holder !== undefined) {
        reason = `it holds stream ${pk}, which this node already serves from ${holder}. Remove one of the two copies.`;
      } else {
        this.host.adopt(name, probe);
        this.identity.set(pk, id);
        this.refused.delete(name);
        return;
      }
    } catch (e) {
      // Half made (a clone or copy under way) looks damaged: wait until it has settled.
      if (Date.now() - Math.max(st.mtimeMs, wal?.mtimeMs ?? 0) < SETTLE_MS) return this.soon(SETTLE_MS / 2);
      const msg = (e as Error).message ?? String(e);
      reason = (msg.startsWith(file) ? `it${msg.slice(file.length)}` : msg).trim();
      if (isDrayerError(e, 'NOT_A_STREAM')) reason += ' Move it out of the data directory if it does not belong there.';
      // Refusals for what the file holds stand until it changes; others (locked, unreadable) are retried.
      again = !(isDrayerError(e, 'NOT_A_STREAM') || isDrayerError(e, 'CORRUPT') || isDrayerError(e, 'KEY_MISMATCH'));
    }
    const said = prior !== undefined && prior.id === id && prior.reason === reason;
    this.refused.set(name, { id, sig: again ? '' : sig, reason });
    if (!said) this.host.log(`Not serving ${name} from the data directory, and leaving the file as it is: ${reason}`);
  }
}
