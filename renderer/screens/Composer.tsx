// The composer over Home's timeline and on the page of a stream written here (yours, or one this
// computer is an added device of): title, body, attachments, and which stream it posts to.
import { useState } from 'react';
import { Avatar } from '../components/Avatar';
import { PostEditor } from '../components/PostEditor';
import { selectWritable, useStreams } from '../stores/streams';
import { useTimeline } from '../stores/timeline';
import { attachTo } from '../stores/files';
import { useShallow } from 'zustand/react/shallow';
import { useUi } from '../stores/ui';

/** A name as the stream picker lists it: cut at a word near 48 characters (the option's title holds it whole). */
function shortName(name: string): string {
  if (name.length <= 48) return name || 'Unnamed stream';
  const cut = name.slice(0, 48);
  const space = cut.lastIndexOf(' ');
  return `${(space > 24 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The composer: on Home, to any stream written here (a picker when there are several); on a stream's page (`only`), to that one. */
export function Composer({ only }: { only?: string }) {
  const all = useStreams(useShallow(selectWritable));
  const mine = only ? all.filter((s) => s.publicKey === only) : all;
  const [pk, setPk] = useState<string | null>(null);
  const current = mine.find((s) => s.publicKey === pk) ?? mine[0];
  if (!current) {
    if (only) return null;
    return (
      <section className="card composer composer-empty" aria-label="New post">
        <p>Make a stream of your own to post.</p>
        <button type="button" className="button button-primary" onClick={() => useUi.getState().openDialog({ kind: 'newStream' })}>
          Make your stream
        </button>
      </section>
    );
  }
  return (
    <section className="card composer" aria-label="New post">
      <Avatar publicKey={current.publicKey} name={current.name} />
      <div className="composer-main">
        <PostEditor
          idBase={only ? 'stream-composer' : 'composer'}
          autoFocus={false}
          submitLabel="Post"
          bodyPlaceholder="What's new?"
          onSubmit={(title, body) => useTimeline.getState().post(current.publicKey, title, body)}
          attach={attachTo(current.publicKey)}
          streamKey={current.publicKey}
          leading={
            mine.length > 1 ? (
              <>
                <label className="visually-hidden" htmlFor="composer-stream">
                  Post to
                </label>
                {/* a long name is cut with an ellipsis here; the tooltip holds it whole */}
                <select
                  id="composer-stream"
                  className="select select-sm composer-stream"
                  value={current.publicKey}
                  onChange={(e) => setPk(e.target.value)}
                  title={`Post to ${current.name}`}
                >
                  {mine.map((s) => (
                    <option key={s.publicKey} value={s.publicKey} title={s.name}>
                      {shortName(s.name)}
                    </option>
                  ))}
                </select>
              </>
            ) : null
          }
        />
      </div>
    </section>
  );
}
