// Taking a stream in and letting it go: create one, follow one (whole or partial) from an
// address or a computer nearby, unfollow it, and restore your own from its backup words.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Arg, StreamSummary, SyncReport } from './api.js';
import type { KeyPair } from '../core/crypto.js';
import { DrayerError, isDrayerError } from '../core/errors.js';
import { parseBackup } from '../core/keybackup.js';
import { MARKER_KEY, MARKER_TYPE, parseReadLink, ReadKey } from '../core/private.js';
import { checkReadKeyFor, READ_KEY_SUFFIX, readKeyPathFor, writeReadKeyFile } from '../store/private-view.js';
import { forgetReader } from './private-streams.js';
import { formatKey, parseKey } from '../core/keys.js';
import { peerId } from '../core/peer.js';
import { fromPgpWords, splitWords } from '../core/pgpwords.js';
import { cleanName } from '../core/text.js';
import { latestWindowStart } from '../net/sync.js';
import { keyPathFor, Stream, writeKeyFile } from '../store/store.js';
import { emit } from './events.js';
import { releaseSyncs, syncStream } from './scheduler.js';
import { nearbySource } from './sources.js';
import { lookupOnDht } from './dht-presence.js';
import { privateLanOf } from './presence-private.js';
import { entryOf, lanSkip, pausedError, RELEASED_FILES, releasedFiles, streamOf, slug, syncModeOf, uniqueFile, type NodeState } from './state.js';
import { forgetSummary, summary } from './views.js';

/** A follow target: a key in any form, a drayer: link, or a web URL of a stream (/<pk>/...). */
export function parseFollowTarget(text: string): { pk: Uint8Array; source?: string; readKey?: Uint8Array } {
  const t = text.trim();
  // a private stream's read link, drayer:<key>#r=<read key> (DESIGN §8)
  if (/^drayer:[^#]*#/i.test(t)) {
    const { publicKey, readKey } = parseReadLink(t);
    return readKey ? { pk: publicKey, readKey } : { pk: publicKey };
  }
  // a read link as its 64 words: the stream key's 32, then the read key's (private-streams.ts readWords)
  const words = splitWords(t);
  if (words.length === 64 && words.every((w) => /^[A-Za-z]+$/.test(w))) {
    let bytes: Uint8Array;
    try {
      bytes = fromPgpWords(t);
    } catch (e) {
      throw new DrayerError(
        'INVALID_ARGUMENT',
        `Those 64 words are not a read link: ${(e as Error).message.replace(/^Unknown/, 'unknown')}; check its spelling.`,
      );
    }
    return { pk: bytes.slice(0, 32), readKey: bytes.slice(32) };
  }
  if (/^https?:\/\//i.test(t)) {
    let u: URL;
    try {
      u = new URL(t);
    } catch {
      throw new DrayerError('INVALID_ARGUMENT', `${t.slice(0, 200)} is not a URL; a stream's web address looks like http://host:port/<key>/`);
    }
    const seg = u.pathname.split('/').filter(Boolean)[0];
    if (!seg) throw new DrayerError('INVALID_ARGUMENT', `${t} does not name a stream; a stream's web address looks like http://host:port/<key>/`);
    let key: string;
    try {
      key = decodeURIComponent(seg);
    } catch {
      throw new DrayerError('INVALID_ARGUMENT', `${t} has broken percent-encoding (a % not followed by two hex digits); copy the stream's address again.`);
    }
    return { pk: parseKey(key), source: `${u.protocol}//${u.host}` };
  }
  return { pk: parseKey(t) };
}

/** createStream: a new stream of your own, its file named after it. */
export function createStream(n: NodeState, name: string, about?: string, announcePrivately?: boolean): StreamSummary {
  if (typeof name !== 'string' || !name.trim()) throw new DrayerError('INVALID_ARGUMENT', 'A stream needs a name.');
  const file = uniqueFile(n, slug(name));
  n.dataDirWatcher?.expect(file); // taken in below, not by a scan
  const s = Stream.create(path.join(n.dataDir, file), { name: name.trim(), about });
  return takeInOwned(n, s, file, name.trim(), announcePrivately);
}

/** A stream just made here (its file `file`) joins the library, the timeline and the LAN's listings. */
export function takeInOwned(n: NodeState, s: Stream, file: string, name: string, announcePrivately?: boolean): StreamSummary {
  const pk = formatKey(s.publicKey);
  n.streams.set(pk, s);
  n.library.addStream({ publicKey: pk, file, owned: true, name, ...(announcePrivately ? { settings: { announcePrivately: true } } : {}) });
  n.library.indexStream(s);
  n.seenSeq.set(pk, s.lastSeq());
  n.sync.tips.delete(pk);
  emit(n, 'streamsChanged', {});
  n.discovery?.holdingsChanged();
  return summary(n, pk);
}

/** follow: a copy of someone's stream, fetched now (latest: only the N newest records; metaOnly: without values). */
/** `beforeCreate`: given the copy's path before it is made (joinAsDevice puts the device key beside it there). */
export async function follow(n: NodeState, a: Arg<'follow'>, beforeCreate?: (file: string) => void): Promise<StreamSummary> {
  const { key, url, latest, metaOnly, hold } = a;
  const { pk, source, readKey: readKeyBytes } = parseFollowTarget(key);
  const readKey = readKeyBytes ? await ReadKey.from(readKeyBytes) : null;
  const pkText = formatKey(pk);
  // Without an address, a partial follow asks a computer nearby that announces the stream.
  const from = url ?? source ?? (latest !== undefined ? nearbySource(n, pkText) : undefined);
  if (n.streams.has(pkText) && readKey) return addReadKey(n, streamOf(n, pkText), readKey);
  // a stream held only (hold.ts) is followed from now on: its posts join Home
  if (n.streams.has(pkText) && !hold && n.library.getStream(pkText)?.settings.hold === true) return followHeld(n, pkText);
  if (n.streams.has(pkText)) throw new DrayerError('EXISTS', `You already hold this stream (${cleanName(n.library.getStream(pkText)?.name) || pkText}).`);
  if (syncModeOf(n) === 'paused') throw pausedError('a stream cannot be followed now (following fetches it)');
  if (from && lanSkip(n, peerId(from)))
    throw new DrayerError('LAN_ONLY', lanSkip(n, peerId(from))!.replace('so it was not contacted', 'so the stream was not followed'));
  let minId = 0;
  if (latest !== undefined) {
    if (!Number.isSafeInteger(latest) || latest < 1) throw new DrayerError('INVALID_ARGUMENT', '--latest needs a positive whole number.');
    if (!from)
      throw new DrayerError(
        'INVALID_ARGUMENT',
        'To keep only the latest records, Drayer must ask a computer that has the stream how far it goes: give its address, or follow it from Nearby.',
      );
    minId = await latestWindowStart(from, pk, latest);
  }
  const file = uniqueFile(n, `follow-${Buffer.from(pk).toString('base64url').slice(0, 10)}`);
  n.dataDirWatcher?.expect(file); // taken in below, not by a scan
  beforeCreate?.(path.join(n.dataDir, file));
  const s = Stream.create(path.join(n.dataDir, file), { followKey: pk, minId, metaOnly, latest });
  // Recorded in the file too, as `drayer clone` does, so the file alone says where to sync it from.
  if (from) s.setMeta('sources', JSON.stringify([peerId(from)]));
  // Beside the copy before its first pull, so the timeline opens its posts as they arrive; checked after it.
  if (readKey) writeReadKeyFile(s.file, readKey);
  n.streams.set(pkText, s);
  n.library.addStream({
    publicKey: pkText,
    file,
    owned: false,
    name: '',
    settings: { ...(from ? { sources: [peerId(from)] } : {}), ...(hold ? { hold: true } : {}) },
  });
  n.seenSeq.set(pkText, s.lastSeq());
  n.sync.tips.delete(pkText);
  emit(n, 'streamsChanged', {});
  // By key alone with the DHT on: who holds it out there is looked up first (bounded: dht.ts).
  if (!from && n.dht) await lookupOnDht(n, pkText, true);
  privateLanOf(n)?.learn(pk); // holders heard announcing it privately before it was held here
  // The address given, else the holders heard on the LAN, then those found on the DHT, one after another (best first) until one gives the stream.
  await syncStream(n, pkText, undefined, true, 'follow');
  if (readKey) keepReadKey(n, s, readKey);
  n.discovery?.holdingsChanged(); // a copy more on the LAN: Nearby on other computers learns it now, not in 30 s
  privateLanOf(n)?.listSoon(); // and, announced privately, its followers
  return summary(n, pkText);
}

function followHeld(n: NodeState, pk: string): StreamSummary {
  n.library.updateStream(pk, { settings: { hold: false } });
  forgetSummary(streamOf(n, pk));
  emit(n, 'streamsChanged', {});
  return summary(n, pk);
}

/** A read link for a stream held here without its read key (a blind copy): checked against the copy, then kept beside it, and its posts opened. */
function addReadKey(n: NodeState, s: Stream, readKey: ReadKey): StreamSummary {
  const pk = formatKey(s.publicKey);
  if (fs.existsSync(readKeyPathFor(s.file)))
    throw new DrayerError('EXISTS', `You already follow this stream and read it here (${cleanName(n.library.getStream(pk)?.name) || pk}).`);
  if (checkReadKeyFor(s, readKey, 'The read link does not open this stream') !== 'checked')
    throw new DrayerError(
      'INVALID_ARGUMENT',
      'The copy here holds nothing yet to check that read key against. Sync the stream first (Sync now on its page), then give the read link again.',
    );
  writeReadKeyFile(s.file, readKey);
  forgetReader(s);
  forgetSummary(s);
  n.library.indexStream(s, true);
  emit(n, 'streamsChanged', {});
  return summary(n, pk);
}

/** After a follow by read link: a key that does not open the stream is refused and the follow undone; one a public stream does not need goes. */
function keepReadKey(n: NodeState, s: Stream, readKey: ReadKey): void {
  let checked;
  try {
    checked = checkReadKeyFor(s, readKey, 'The read link does not open this stream');
  } catch (e) {
    unfollow(n, formatKey(s.publicKey), true);
    throw isDrayerError(e) ? new DrayerError(e.code, `${e.message} Nothing was followed.`, { cause: e }) : e;
  }
  if (checked === 'public') fs.rmSync(readKeyPathFor(s.file), { force: true });
  forgetReader(s);
  n.library.indexStream(s, true);
}

/** unfollow: stop holding a stream, its copy deleted or kept (then not taken in again). */
export function unfollow(n: NodeState, publicKey: string, deleteData?: boolean): void {
  const s = streamOf(n, publicKey);
  if (s.writable && deleteData)
    throw new DrayerError('PROTECTED', 'This is your own stream; its files are not deleted from here. Remove them by hand if you really mean it.');
  const pk = formatKey(s.publicKey);
  const e = entryOf(n, pk);
  releaseSyncs(n, pk);
  s.close();
  n.streams.delete(pk);
  n.library.removeStream(pk);
  if (deleteData) for (const f of ['', '-wal', '-shm', READ_KEY_SUFFIX]) fs.rmSync(path.join(n.dataDir, e.file + f), { force: true });
  // A file kept in the data directory would be taken in again at once: remember it was let go.
  else if (!path.isAbsolute(e.file)) n.library.setSetting(RELEASED_FILES, [...new Set([...releasedFiles(n), e.file])]);
  emit(n, 'streamsChanged', {});
  n.discovery?.announceNow();
}

/** restoreStream: the key goes beside a copy held here, or beside a fresh copy fetched whole first. */
export async function restore(n: NodeState, words: string, url?: string): Promise<StreamSummary> {
  const { keyPair: kp, readKey: readKeyBytes } = parseBackup(words);
  // a private stream's 64 words carry its read key too (DESIGN §8): it goes beside the copy with the secret key
  const readKey = readKeyBytes ? await ReadKey.from(readKeyBytes) : null;
  const pk = formatKey(kp.publicKey);
  const held = n.streams.get(pk);
  if (held?.writable) throw new DrayerError('EXISTS', `"${cleanName(held.info().name) || pk}" is already yours on this computer; nothing to restore.`);
  if ((url || !held) && syncModeOf(n) === 'paused') throw pausedError('the stream cannot be fetched to restore it');
  if (held) {
    const p = held.partial;
    if (p.minId || p.minMod || p.metaOnly) {
      throw new DrayerError(
        'INVALID_ARGUMENT',
        'The copy here is partial (latest records or titles only), and a stream you write to must be whole. Unfollow it (deleting the copy), then restore again.',
      );
    }
    if (url) await syncStream(n, pk, url, true);
    giveKey(n, held, kp, readKey);
    return summary(n, pk);
  }
  if (url !== undefined) peerId(url); // a bad address is said before anything is made
  if (url !== undefined && lanSkip(n, peerId(url)))
    throw new DrayerError('LAN_ONLY', lanSkip(n, peerId(url))!.replace('so it was not contacted', 'so the stream was not fetched to restore it'));
  const file = uniqueFile(n, `restored-${Buffer.from(kp.publicKey).toString('base64url').slice(0, 10)}`);
  const full = path.join(n.dataDir, file);
  const s = Stream.create(full, { followKey: kp.publicKey });
  if (url) s.setMeta('sources', JSON.stringify([peerId(url)]));
  n.streams.set(pk, s);
  n.library.addStream({ publicKey: pk, file, owned: false, name: '', settings: url ? { sources: [peerId(url)] } : {} });
  n.seenSeq.set(pk, s.lastSeq());
  n.sync.tips.delete(pk);
  const undo = () => {
    n.streams.delete(pk);
    n.seenSeq.delete(pk);
    n.sync.tips.delete(pk);
    n.library.removeStream(pk);
    s.close();
    for (const f of ['', '-wal', '-shm']) fs.rmSync(full + f, { force: true });
    emit(n, 'streamsChanged', {});
  };
  let reports: SyncReport[];
  try {
    reports = await syncStream(n, pk, undefined, true);
  } catch (e) {
    undo();
    throw e;
  }
  // A stream is never empty (its drayer/info record): without it, nothing of it was found, and
  // writing to an empty copy would sign records that clash with the ones already out there.
  // (a private stream's drayer/info is sealed: its cleartext drayer/private marker says the same)
  if (!s.get('drayer', 'info') && !s.get(MARKER_TYPE, MARKER_KEY)) {
    undo();
    if (reports.length > 0 && reports.every((r) => r.skipped))
      throw new DrayerError(
        'LAN_ONLY',
        'Sync is LAN only, and no computer on the local network has this stream. Switch sync back to Normal (Settings → Sync, or LAN Only in the tray menu) to fetch it from its sources, then try again.',
      );
    const failed = reports.find((r) => r.error);
    if (failed)
      throw new DrayerError('UNREACHABLE', `Could not fetch the stream to restore: ${failed.error} Nothing was changed; check the address and try again.`);
    if (reports.length === 0)
      throw new DrayerError(
        'NOT_FOUND',
        "No computer nearby has this stream, and no address was given. Give the address of a computer or mirror that holds it (its owner's, or any follower's), then try again.",
      );
    throw new DrayerError(
      'NOT_FOUND',
      `${reports.map((r) => r.peer).join(', ')} does not hold this stream. Check the words (a wrong word gives another stream), or give another address.`,
    );
  }
  if (s.unfinishedSyncs().length > 0) {
    undo();
    throw new DrayerError('UNREACHABLE', 'The stream could only be fetched in part, and a stream you write to must be whole. Nothing was changed; try again.');
  }
  try {
    giveKey(n, s, kp, readKey);
  } catch (e) {
    undo();
    throw e;
  }
  return summary(n, pk);
}

function giveKey(n: NodeState, s: Stream, kp: KeyPair, readKey: ReadKey | null): void {
  if (readKey && !fs.existsSync(readKeyPathFor(s.file))) {
    // checked before anything is written: a wrong read key must not sit beside the copy
    if (checkReadKeyFor(s, readKey, 'The read key in those words does not open this stream') === 'checked') {
      writeReadKeyFile(s.file, readKey);
      forgetReader(s);
      forgetSummary(s);
      n.library.indexStream(s, true); // its posts, indexed sealed, now open
    }
  }
  const keyFile = keyPathFor(s.file);
  if (!fs.existsSync(keyFile)) writeKeyFile(keyFile, kp);
  if (!s.takeKeyBeside()) throw new DrayerError('IO', `The secret key could not be put beside ${s.file}.`);
  n.library.indexStream(s); // records it as owned
  const pk = formatKey(s.publicKey);
  n.log(`${n.library.getStream(pk)?.file ?? s.file}: restored from its backup words, your own stream now.`);
  emit(n, 'streamsChanged', {});
  n.discovery?.announceNow();
}
