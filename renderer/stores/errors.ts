// What the UI says when a request fails: the node's sentence when it sent one, never a stack;
// and, for the follow and sync errors a person meets most, one short sentence in plain words
// with the one thing to do, the node's exact words kept for a "Details" disclosure.
import { ApiError } from '../api/transport';

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return `Something went wrong: ${e.message}`;
  return 'Something went wrong. Try again.';
}

export function codeOf(e: unknown): string {
  return e instanceof ApiError ? e.code : 'INTERNAL';
}

/** Which field of a form an error is about, so that field can be marked. */
export type ErrorField = 'key' | 'address';

/** An error for people: what happened, what to do, and the technical words behind "Details". */
export interface Explained {
  /** one short sentence: what happened */
  text: string;
  /** the one thing to do */
  advice: string;
  /** the node's own words (addresses cut to host:port), for Details */
  detail: string;
  field?: ErrorField;
  /** a stream held already (EXISTS): offer to open it */
  exists?: boolean;
  /** trying again may help (a network failure, a busy peer) */
  retry?: boolean;
}

/** host:port of the first http(s) address in a message, or '' */
function hostIn(message: string): string {
  return /https?:\/\/([^/\s:]+(?::\d+)?|\[[^\]]+\](?::\d+)?)/.exec(message)?.[1] ?? '';
}

/** A peer's error with its request URL cut to host:port: what Details shows. */
export function detailOf(message: string): string {
  return message.replace(/https?:\/\/([^/\s]+)\/[^\s]*?(?=:\s|\s|$|\))/g, '$1').trim();
}

/**
 * A sync's failure (a syncProgress event's `error`, a report's, the last sync's) in plain words.
 * The node words these for its CLI and log; people get the gist and what to do.
 */
export function explainSyncError(message: string): Explained {
  const detail = detailOf(message);
  const host = hostIn(message);
  const them = host ? `The computer at ${host}` : 'The other computer';
  const at = host ? ` at ${host}` : '';
  const out = (text: string, advice: string, more: Partial<Explained> = {}): Explained => ({ text, advice, detail, ...more });
  if (/[Ss]ync is paused|paused/.test(message) && !host) {
    return out('Sync is paused, so nothing was fetched.', 'Turn sync back on in Settings.');
  }
  if (/not contacted|not on the local network|LAN only|this network only/i.test(message)) {
    return out(
      `The computer${at} is not on this network, and Drayer syncs only on this network.`,
      'Allow other networks in Settings, or sync from a computer nearby.',
    );
  }
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(message)) {
    return out(`No computer answers to the name ${host || 'given'}.`, 'Check the address, or follow from Nearby.', { field: 'address', retry: true });
  }
  if (/^Cannot reach|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ETIMEDOUT/.test(message)) {
    return out(`Could not reach the computer${at}.`, 'Check that it is on, awake and on this network with Drayer open, then try again.', { retry: true });
  }
  if (/did not answer within/.test(message)) {
    return out(`${them} did not answer in time.`, 'It may be busy or asleep: try again in a moment.', { retry: true });
  }
  if (/does not share stream|does not serve (this )?stream|does not hold this stream/.test(message)) {
    return out(`${them} does not have this stream.`, 'Check the key, or follow it from Nearby where a computer that has it shows up.', { retry: true });
  }
  if (/HTTP 429|too many requests|\(busy\)/.test(message)) {
    return out(`${them} is busy right now.`, 'Drayer tries again by itself in a moment.', { retry: true });
  }
  if (/took too long/.test(message)) {
    return out('This sync took too long and was paused.', 'It goes on from where it stopped next time, by itself.', { retry: true });
  }
  if (/broke off its answer/.test(message)) {
    return out(`The connection to ${host || 'the other computer'} broke off.`, 'What arrived is kept; try again to fetch the rest.', { retry: true });
  }
  if (/is a Drayer node and failed|answered HTTP 5\d\d/.test(message)) {
    return out(`${them} had a problem answering.`, 'Try again later; if it keeps failing, whoever runs it can look at its log.', { retry: true });
  }
  if (/redirects|redirected|answered HTTP 4\d\d/.test(message)) {
    return out(`${them} is not answering as Drayer does.`, 'Check the address: it should be the one Drayer shows under Share.', { field: 'address' });
  }
  if (/disk is full/i.test(message)) {
    return out('The disk is full, so nothing more could be saved.', 'Free some space on this computer, then try again.', { retry: true });
  }
  if (/was stopped/.test(message)) {
    return out('The sync was stopped.', 'What arrived is kept; sync again to fetch the rest.', { retry: true });
  }
  // malformed pages, replays, forged records, store ids that keep changing: a broken or hostile peer
  if (
    /malformed|not msgpack|kept sending|keeps|no valid record|more records than|goes backwards|oversized|sent more than|sent \d+ bytes|did not send|sent something/.test(
      message,
    )
  ) {
    return out(`${them} sent data Drayer cannot use, so the sync stopped.`, 'What arrived is kept. Try another computer that has the stream.');
  }
  return out('The sync did not work.', 'Try again in a moment; Details say what the other computer answered.', { retry: true });
}

/**
 * An error of a follow (the Follow dialog, Nearby's Follow, adding an address): the key, the
 * address, the node's state, or the first sync's failure, each in plain words.
 */
export function explainFollowError(code: string, message: string): Explained {
  const detail = detailOf(message);
  const out = (text: string, advice: string, more: Partial<Explained> = {}): Explained => ({ text, advice, detail, ...more });
  switch (code) {
    case 'EXISTS':
      return out('You have this stream already.', 'Open it to read it.', { exists: true });
    case 'SYNC_PAUSED':
      return out('Sync is paused, so nothing can be fetched now.', 'Turn sync back on in Settings, then follow again.');
    case 'LAN_ONLY':
      return out(
        'That address is outside this network, and Drayer syncs only on this network.',
        'Use an address on this network, or allow other networks in Settings.',
        { field: 'address' },
      );
    case 'DISK_FULL':
      return out('The disk is full.', 'Free some space on this computer, then try again.', { retry: true });
    case 'INVALID_ARGUMENT':
      if (/^That is not a stream key/.test(message)) {
        if (/fingerprint/.test(message))
          return out('Those are the fingerprint words, not the key.', 'Ask for the full key, a drayer: link or the QR code.', { field: 'key' });
        if (/check its spelling/.test(message)) return out('One of the words is not in the word list.', 'Check the spelling of each word.', { field: 'key' });
        if (/it is empty/.test(message)) return out('There is no key yet.', 'Paste the key, its words or a drayer: link.', { field: 'key' });
        return out('That is not a stream key.', 'Copy the key again, whole: it is under Share on the other computer.', { field: 'key' });
      }
      if (/does not name a stream|a stream's web address/.test(message))
        return out('That web address does not point to a stream.', 'Copy the stream\u2019s link from Share instead.', { field: 'key' });
      if (/is not a URL|Only http and https|Invalid URL/.test(message)) {
        return out('That address is not one Drayer can use.', 'Type it like 192.168.1.20:15723, or leave it empty to find the stream nearby.', {
          field: 'address',
        });
      }
      if (/latest records/.test(message))
        return out('To keep only the latest posts, Drayer needs an address.', 'Give the address of a computer that has the stream, or follow it from Nearby.', {
          field: 'address',
        });
      return out('Drayer could not follow that.', 'Check the key and the address.');
    case 'NOT_FOUND':
      return explainSyncError(message);
    case 'IO':
    case 'UNREACHABLE':
      return explainSyncError(message);
    default:
      return out('Something went wrong while following.', 'Try again; if it keeps happening, Details help whoever looks into it.', { retry: true });
  }
}
