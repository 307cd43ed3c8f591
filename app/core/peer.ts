// A peer's identity: the one form of its base URL that sync state, cursors and peer lists key on.
import { DrayerError } from './errors.js';

/** Normalise a peer base URL: scheme://host:port/path without a trailing slash. */
export function peerId(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DrayerError('INVALID_ARGUMENT', `"${url}" is not a URL; give one like http://192.168.1.5:8089`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new DrayerError('INVALID_ARGUMENT', `Only http and https peers are supported, not ${u.protocol}`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}
