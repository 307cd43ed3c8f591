// Where a person meets a stream they don't follow (a stranger's reply in a thread, a stream page,
// a Nearby row): "Follow", and "Keep a copy" beside it (issue 21): this computer keeps and shares
// the stream without its posts in Home (follow with `hold`), so its replies stay in the threads
// they belong to. A stream kept that way offers "Follow" and "Stop keeping" instead.
import { useState } from 'react';
import { codeOf, explainFollowError, messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';

/** What "Keep a copy" does, said once where the button is (its title) and in its toast. */
export const KEEP_HINT = 'Keep and share a copy on this computer without following: its posts stay out of Home.';

type Busy = null | 'follow' | 'keep' | 'stop';

/** A name inside a sentence, isolated (an Arabic name does not reorder the words around it). */
export const isolate = (name: string) => `\u2068${name}\u2069`;

export function KeepCopy({
  streamKey,
  name,
  url,
  small = true,
  keepOnly = false,
}: {
  streamKey: string;
  name: string;
  url?: string;
  small?: boolean;
  /** only "Keep a copy" (or "Stop keeping"): where a Follow button is beside it already */
  keepOnly?: boolean;
}) {
  const held = useStreams((s) => s.byKey[streamKey]);
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState<Busy>(null);
  if (held && !held.hold) return null; // followed, or yours
  const run = async (what: Busy, act: () => Promise<unknown>, done: string) => {
    setBusy(what);
    try {
      await act();
      toast(done);
    } catch (e) {
      const x = explainFollowError(codeOf(e), messageOf(e));
      toast(`${x.text} ${x.advice}`, 'error');
    } finally {
      setBusy(null);
    }
  };
  const streams = useStreams.getState();
  const size = small ? ' button-sm' : '';
  return (
    <span className="keep-copy">
      {keepOnly ? null : (
        <button
          type="button"
          className={`button button-primary${size}`}
          disabled={busy !== null}
          aria-label={`Follow ${name}`}
          onClick={() => void run('follow', () => streams.follow({ key: streamKey, ...(url && !held ? { url } : {}) }), `Following ${isolate(name)}`)}
        >
          {busy === 'follow' ? 'Following…' : 'Follow'}
        </button>
      )}
      {held ? (
        <button
          type="button"
          className={`button button-quiet${size}`}
          disabled={busy !== null}
          aria-label={`Stop keeping a copy of ${name}`}
          onClick={() =>
            void run('stop', () => streams.unfollow(streamKey, true), `No longer keeping ${isolate(name)}: its copy was removed from this computer.`)
          }
        >
          {busy === 'stop' ? 'Removing…' : 'Stop keeping'}
        </button>
      ) : (
        <button
          type="button"
          className={`button${size}`}
          disabled={busy !== null}
          title={KEEP_HINT}
          aria-label={`Keep a copy of ${name} without following`}
          onClick={() =>
            void run(
              'keep',
              () => streams.follow({ key: streamKey, hold: true, ...(url ? { url } : {}) }),
              `Keeping a copy of ${isolate(name)}, not followed: its posts stay out of Home.`,
            )
          }
        >
          {busy === 'keep' ? 'Keeping…' : 'Keep a copy'}
        </button>
      )}
    </span>
  );
}
