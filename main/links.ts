// drayer: links handed to the app by the OS: on macOS in `open-url`, on Windows and Linux as an
// argument of the process (the first launch's argv, or a second launch's, given to the first by
// the single-instance lock). Plain module (tested under Node).
import { formatKey, parseKey } from '../app/core/keys.js';

export interface DrayerLink {
  /** the stream's public key, standard base64 */
  publicKey: string;
  /** the link as given (what `follow` takes) */
  link: string;
}

/** Links are short; anything longer is not one. */
const MAX_LINK = 2048;

/** A drayer: link's stream, or null when the text is not a link to a stream. */
export function parseDrayerLink(text: unknown): DrayerLink | null {
  if (typeof text !== 'string' || text.length > MAX_LINK) return null;
  const t = text.trim();
  if (!/^drayer:/i.test(t)) return null;
  try {
    return { publicKey: formatKey(parseKey(t)), link: t };
  } catch {
    return null;
  }
}

/** The drayer: link among a process's arguments (flags and the executable's path are not links). */
export function linkFromArgv(argv: readonly unknown[]): DrayerLink | null {
  for (const a of argv) {
    if (typeof a !== 'string' || a.startsWith('-')) continue;
    const l = parseDrayerLink(a);
    if (l) return l;
  }
  return null;
}

/** The app route (the UI's URL hash) that shows a stream. */
export function streamRoute(publicKey: string): string {
  return `#/stream/${encodeURIComponent(publicKey)}`;
}

/** The stream the app's page shows now (its URL hash is #/stream/<key>[/tab]), or null. */
export function streamOfPage(url: string): string | null {
  const hash = url.includes('#') ? url.slice(url.indexOf('#') + 1) : '';
  const m = /^\/?stream\/([^/]+)/.exec(hash);
  if (!m) return null;
  try {
    return formatKey(parseKey(decodeURIComponent(m[1]!)));
  } catch {
    return null;
  }
}
