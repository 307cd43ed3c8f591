// The stream files a node holds: those its library lists, those that turn up in the data
// directory (watched), and files opened where they are; let go of when their file goes away.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StreamSummary } from './api.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { formatKey, parseKey } from '../core/keys.js';
import { cleanName } from '../core/text.js';
import { Stream } from '../store/store.js';
import { DataDirWatcher, type StreamProbe } from './datadir.js';
import { emit } from './events.js';
import { rekeyDevice } from './device-rekey.js';
import { importOriginalHere, originalFileAt, originalFileOffer } from './original-open.js';
import { describeStream, expandHome, givenSources, RELEASED_FILES, releasedFiles, type NodeState } from './state.js';
import { summary, warmSummary } from './views.js';

/**
 * The streams of the library, as the node starts: held, to be opened when first asked for or by
 * openWaiting (Home paints from library.db meanwhile). Those whose file was deleted meanwhile are
 * forgotten.
 */
export function openKnownStreams(n: NodeState): void {
  for (const e of n.library.listStreams()) {
    const file = n.library.pathOf(e);
    // Deleted while the node was not running (a missing folder is more likely an unmounted disk).
    if (!fs.existsSync(file) && fs.existsSync(path.dirname(file))) {
      n.library.removeStream(e.publicKey);
      n.log(
        `${e.file} is gone: stopped serving ${describeStream(e.name, e.publicKey)} and took its posts off the timeline. Put the file back to serve it again.`,
      );
      continue;
    }
    n.streams.later(e.publicKey, () => {
      let s: Stream | undefined;
      try {
        s = Stream.open(file, { expectedKey: parseKey(e.publicKey) });
        n.seenSeq.set(e.publicKey, s.lastSeq());
        n.sync.tips.delete(e.publicKey);
        n.library.indexStream(s);
        warmSummary(s);
        // a device stopped part way through taking a rotated read key finishes it (device-rekey.ts)
        if (!s.writable && s.devices().mine) void rekeyDevice(n, s);
        return s;
      } catch (err) {
        // Not opened: not held (as before); opened but not indexed: held, its index caught up by the next change.
        n.log(`cannot open ${e.file}: ${(err as Error).message}`);
        return s;
      }
    });
  }
}

/** How long the opening of held streams runs before it lets other work (the UI's requests) go first. */
const OPEN_SLICE_MS = 8;
/**
 * While the UI is busy (a search typed letter by letter), the opening waits between slices, this
 * long at a time and at most GIVE_WAY_MAX_MS before its next slice, so it always goes on: else
 * each answer waited behind a slice, and the slices took the CPU the answers needed.
 */
const GIVE_WAY_MS = 25;
const GIVE_WAY_MAX_MS = 250;

const opening = new WeakMap<NodeState, Promise<void>>();

/**
 * Open the held streams not opened yet, a slice at a time; then the UI and the LAN hear of them
 * all. While it runs, a second call (the first sync round) waits for the same opening.
 */
export function openWaiting(n: NodeState): Promise<void> {
  let p = opening.get(n);
  if (!p) {
    // Not while the first page loads: on a machine of two cores, the browser needs them then.
    p = Promise.resolve(n.opts.openStreamsAfter)
      .catch(() => {})
      .then(() => openAll(n))
      .finally(() => opening.delete(n));
    opening.set(n, p);
  }
  return p;
}

async function openAll(n: NodeState): Promise<void> {
  const keys = n.streams.unopened();
  if (keys.length === 0) return;
  let slice = performance.now();
  for (const pk of keys) {
    if (n.stopped) return;
    n.streams.get(pk);
    if (performance.now() - slice > OPEN_SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      for (let waited = 0; waited < GIVE_WAY_MAX_MS && n.opts.uiBusy?.() && !n.stopped; waited += GIVE_WAY_MS) {
        await new Promise((r) => setTimeout(r, GIVE_WAY_MS));
      }
      slice = performance.now();
    }
  }
  if (n.stopped) return;
  emit(n, 'streamsChanged', {});
  n.discovery?.announceNow();
}

/** Stream files put in the data directory (by the CLI, a clone, a copy) are served too. */
export function watchDataDir(n: NodeState): void {
  const w = new DataDirWatcher(n.dataDir, {
    held: () => [...n.streams].map(([publicKey, s]) => ({ publicKey, file: s.file, writable: s.writable })),
    holderOf: (pk) => (n.closing.has(pk) ? 'closing' : n.library.getStream(pk)?.file),
    ignored: () => new Set([...n.library.listStreams().map((e) => e.file), ...releasedFiles(n)]),
    adopt: (file, probe) => adoptFile(n, file, probe),
    drop: (pk, why) => dropStream(n, pk, why),
    takeKey: (pk) => takeKey(n, pk),
    log: (m) => n.log(m),
  });
  n.dataDirWatcher = w;
  w.scan();
  w.start();
}

/** Serve a stream file found in the data directory, indexed like one created here. */
function adoptFile(n: NodeState, file: string, probe: StreamProbe): void {
  const pk = formatKey(probe.publicKey);
  const full = path.join(n.dataDir, file);
  const s = Stream.open(full, { expectedKey: probe.publicKey });
  try {
    n.library.addStream({ publicKey: pk, file, owned: s.writable, name: String(s.info().name ?? '') });
    try {
      n.library.indexStream(s);
    } catch (e) {
      n.library.removeStream(pk);
      const code = String((e as { code?: unknown }).code ?? '');
      if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
        throw new DrayerError('CORRUPT', `${full} is damaged (${(e as Error).message}). Restore it from a backup or clone the stream again from a mirror.`, {
          cause: e,
        });
      }
      throw e;
    }
  } catch (e) {
    s.close();
    throw e;
  }
  n.streams.set(pk, s);
  n.seenSeq.set(pk, s.lastSeq());
  n.sync.tips.delete(pk);
  const sources = givenSources(n.library.getStream(pk), s);
  const what = s.writable
    ? 'your own stream (its key file is beside it)'
    : `a mirror (no key file beside it)${sources.length ? `, synced from ${sources.join(', ')}` : ''}`;
  n.log(`Serving ${file}, found in the data directory: ${describeStream(String(s.info().name ?? ''), pk)}, ${what}.`);
  emit(n, 'streamsChanged', {});
  n.discovery?.holdingsChanged();
}

/** Stop serving a stream whose file went away; it is closed once its syncs under way end. */
function dropStream(n: NodeState, pk: string, why: 'gone' | 'replaced'): void {
  const s = n.streams.get(pk);
  if (!s) return;
  const e = n.library.getStream(pk);
  n.streams.delete(pk);
  n.seenSeq.delete(pk);
  n.sync.tips.delete(pk);
  n.library.removeStream(pk);
  const running = [...n.sync.syncing].filter(([key]) => key.startsWith(`${pk} `)).map(([, job]) => job);
  const closed = Promise.allSettled(running).then(() => {
    try {
      s.closeAfterMove();
    } catch (err) {
      n.log(`Closing ${s.file}: ${(err as Error).message}`);
    }
    n.closing.delete(pk);
    n.dataDirWatcher?.soon(); // it may be back under another name
  });
  n.closing.set(pk, closed);
  const file = e?.file ?? s.file;
  const who = describeStream(e?.name ?? '', pk);
  n.log(
    why === 'gone'
      ? `${file} is gone: stopped serving ${who} and took its posts off the timeline. Put the file back to serve it again.`
      : `${file} was replaced by another file: stopped serving ${who}; the file now at that name is looked at on its own.`,
  );
  emit(n, 'streamsChanged', {});
  n.discovery?.announceNow();
}

/** A mirror whose key file was put beside it becomes your own stream, as it would at the next start. */
function takeKey(n: NodeState, pk: string): void {
  const s = n.streams.get(pk);
  if (!s?.takeKeyBeside()) return;
  n.library.indexStream(s); // records it as owned
  const e = n.library.getStream(pk);
  n.log(`${e?.file ?? s.file} has its key file beside it now: ${describeStream(e?.name ?? '', pk)} is your own stream, writable here.`);
  emit(n, 'streamsChanged', {});
}

/** openStreamFile: a stream file anywhere on this machine, served where it is. */
export function openStreamFile(n: NodeState, given: string, importOriginal = false): StreamSummary {
  if (typeof given !== 'string' || !given.trim()) throw new DrayerError('INVALID_ARGUMENT', 'Give the path of a stream file (NAME.stream).');
  const full = path.resolve(expandHome(given.trim()));
  const st = fs.statSync(full, { throwIfNoEntry: false });
  if (!st) throw new DrayerError('NOT_FOUND', `There is no file at ${full}; check the path.`);
  if (st.isDirectory()) throw new DrayerError('NOT_A_STREAM', `${full} is a folder, not a stream file; give the path of a NAME.stream file inside it.`);
  let probe: ReturnType<typeof Stream.probe>;
  try {
    probe = Stream.probe(full);
  } catch (e) {
    // an original Drayer file: offered for import (the caller asks again with importOriginal)
    const who = isDrayerError(e, 'NOT_A_STREAM') ? originalFileAt(full) : undefined;
    if (!who) throw e;
    if (!importOriginal) throw originalFileOffer(full, who);
    return importOriginalHere(n, full, who, (m, f) => openStreamFile(m, f));
  }
  const pk = formatKey(probe.publicKey);
  const held = n.streams.get(pk);
  if (held) {
    const e = n.library.getStream(pk);
    const same = path.resolve(held.file) === full;
    throw new DrayerError(
      'EXISTS',
      same
        ? `${full} is already open here${e?.name ? ` ("${cleanName(e.name)}")` : ''}.`
        : `This computer already holds that stream${e?.name ? ` ("${cleanName(e.name)}")` : ''}, in ${held.file}. Open one copy at a time.`,
    );
  }
  const s = Stream.open(full, { expectedKey: probe.publicKey });
  try {
    n.library.addStream({ publicKey: pk, file: full, owned: s.writable, name: String(s.info().name ?? '') });
    try {
      n.library.indexStream(s);
    } catch (e) {
      n.library.removeStream(pk);
      throw e;
    }
  } catch (e) {
    s.close();
    throw e;
  }
  const rel = n.library.getStream(pk)!.file;
  if (releasedFiles(n).includes(rel))
    n.library.setSetting(
      RELEASED_FILES,
      releasedFiles(n).filter((f) => f !== rel),
    );
  n.streams.set(pk, s);
  n.seenSeq.set(pk, s.lastSeq());
  n.sync.tips.delete(pk);
  n.log(
    `Opened ${full}: ${describeStream(String(s.info().name ?? ''), pk)}, ${s.writable ? 'your own stream (its key file is beside it)' : 'a read-only mirror (no key file beside it)'}.`,
  );
  emit(n, 'streamsChanged', {});
  n.discovery?.holdingsChanged();
  return summary(n, pk);
}
