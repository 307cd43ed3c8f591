// What a post card shows of its conversation (issue 21): "Replying to NAME" above a reply, and
// under every post a Reply button (with the number of replies held, opening the thread), the
// a Re-share button (Reshare.tsx), the reactions (one pill per emoji used: its count, pressed when yours; who reacted shows on hover
// and on focus) and a small picker of the offered emoji. You reply and react as your first stream.
import { useEffect, useRef, useState } from 'react';
import { REACTIONS } from '../../app/core/shapes';
import type { ReactionCount, TimelineItem } from '../api/transport';
import { messageOf } from '../stores/errors';
import { selectPoster, useStreams } from '../stores/streams';
import { useTalk } from '../stores/talk';
import { hashOf, useUi } from '../stores/ui';
import { Icon } from './Icon';
import { PostEditor } from './PostEditor';
import { ReshareForm } from './Reshare';

const NAMES: Record<string, string> = { '👍': 'Like', '❤️': 'Love', '😂': 'Laugh', '🎉': 'Celebrate', '😮': 'Wow', '😢': 'Sad' };

export function ReplyingTo({ item }: { item: TimelineItem }) {
  const navigate = useUi((s) => s.navigate);
  const to = item.replyTo;
  if (!to) return null;
  return (
    <p className="post-replying">
      <Icon name="reply" size={14} />
      <span>Replying to </span>
      <a
        href={hashOf({ name: 'post', publicKey: to.streamKey, key: to.key })}
        onClick={(e) => {
          e.preventDefault();
          navigate({ name: 'post', publicKey: to.streamKey, key: to.key });
        }}
        title={to.streamName}
      >
        <bdi>{to.streamName}</bdi>
      </a>
      {to.changed ? <span className="post-replying-note"> · edited since</span> : null}
    </p>
  );
}

function who(c: ReactionCount): string {
  const names = c.by.map((b) => b.name);
  const more = c.count - names.length;
  return `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

export function PostActions({ item, inThread = false }: { item: TimelineItem; inThread?: boolean }) {
  const me = useStreams(selectPoster);
  const { navigate, toast } = useUi();
  const [replying, setReplying] = useState(false);
  const [resharing, setResharing] = useState(false);
  // a private stream's post is not re-shared: the re-share would name it in the clear
  const sealed = useStreams((s) => !!s.byKey[item.streamKey]?.private);
  const [picking, setPicking] = useState(false);
  // the node's answer to your reaction, until the post comes back from it with its own
  const [counts, setCounts] = useState<ReactionCount[] | null>(null);
  useEffect(() => setCounts(null), [item]);
  const reactions = counts ?? item.reactions ?? [];
  const mine = me ? (reactions.find((c) => c.by.some((b) => b.streamKey === me.publicKey))?.emoji ?? null) : null;
  const picker = useRef<HTMLDivElement>(null);
  const base = `talk-${item.streamKey.slice(0, 8).replace(/[^\w-]/g, '_')}-${item.key.replace(/[^\w-]/g, '_')}`;

  useEffect(() => {
    if (!picking) return;
    picker.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const onDown = (e: MouseEvent) => {
      if (!picker.current?.parentElement?.contains(e.target as Node)) setPicking(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [picking]);

  const react = async (emoji: string) => {
    if (!me) return;
    setPicking(false);
    try {
      setCounts(await useTalk.getState().react(me.publicKey, item, emoji, mine));
    } catch (e) {
      toast(`The reaction could not be saved: ${messageOf(e)}`, 'error');
    }
  };
  const replies = item.replies ?? 0;

  return (
    <>
      <div className="post-actions" role="group" aria-label="Reply and react">
        {me ? (
          <button
            type="button"
            className="post-action"
            aria-expanded={replying}
            aria-controls={`${base}-reply`}
            onClick={() => {
              setReplying(!replying);
              setResharing(false);
            }}
          >
            <Icon name="reply" size={16} />
            <span>Reply</span>
          </button>
        ) : null}
        {me && !sealed ? (
          <button
            type="button"
            className="post-action"
            aria-expanded={resharing}
            aria-controls={`${base}-reshare`}
            onClick={() => {
              setResharing(!resharing);
              setReplying(false);
            }}
          >
            <Icon name="repost" size={16} />
            <span>Re-share</span>
          </button>
        ) : null}
        {replies > 0 && !inThread ? (
          <a
            className="post-action post-replies"
            href={hashOf({ name: 'post', publicKey: item.streamKey, key: item.key })}
            onClick={(e) => {
              e.preventDefault();
              navigate({ name: 'post', publicKey: item.streamKey, key: item.key });
            }}
          >
            {replies === 1 ? '1 reply' : `${replies} replies`}
          </a>
        ) : null}
        {/* one group: on a narrow card the reactions and the add button move to a line of their own together */}
        {reactions.length > 0 || me ? (
          <span className="post-reactions">
            {reactions.map((c) => (
              <span className="reaction-wrap" key={c.emoji}>
                <button
                  type="button"
                  className={c.emoji === mine ? 'reaction reaction-mine' : 'reaction'}
                  aria-pressed={me ? c.emoji === mine : undefined}
                  aria-label={`${NAMES[c.emoji] ?? c.emoji}: ${c.count} (${who(c)})`}
                  aria-describedby={`${base}-who-${NAMES[c.emoji] ?? 'x'}`}
                  disabled={!me}
                  onClick={() => void react(c.emoji)}
                >
                  <span aria-hidden="true">{c.emoji}</span>
                  <span className="reaction-count">{c.count}</span>
                </button>
                <span role="tooltip" id={`${base}-who-${NAMES[c.emoji] ?? 'x'}`} className="reaction-who">
                  {who(c)}
                </span>
              </span>
            ))}
            {me ? (
              <span className="reaction-add-wrap">
                <button
                  type="button"
                  className="post-action reaction-add"
                  aria-label={mine ? 'Change your reaction' : 'React'}
                  aria-expanded={picking}
                  onClick={() => setPicking(!picking)}
                >
                  <Icon name="smile" size={16} />
                </button>
                {picking ? (
                  <div
                    ref={picker}
                    className="reaction-picker"
                    role="group"
                    aria-label="Reactions"
                    onKeyDown={(e) => {
                      if (e.key === 'Escape') {
                        e.stopPropagation();
                        setPicking(false);
                      }
                    }}
                  >
                    {REACTIONS.map((e) => (
                      <button
                        type="button"
                        key={e}
                        className={e === mine ? 'reaction-pick reaction-mine' : 'reaction-pick'}
                        aria-pressed={e === mine}
                        aria-label={NAMES[e]}
                        title={NAMES[e]}
                        onClick={() => void react(e)}
                      >
                        {e}
                      </button>
                    ))}
                  </div>
                ) : null}
              </span>
            ) : null}
          </span>
        ) : null}
      </div>
      {resharing && me ? (
        <div className="post-reply-editor">
          <ReshareForm item={item} me={me} idBase={base} onClose={() => setResharing(false)} />
        </div>
      ) : null}
      {replying && me ? (
        <div id={`${base}-reply`} className="post-reply-editor">
          <PostEditor
            idBase={`${base}-reply`}
            submitLabel="Reply"
            bodyPlaceholder={`Reply to ${item.streamName || 'this post'}…`}
            writer={me}
            onCancel={() => setReplying(false)}
            onSubmit={async (title, body) => {
              await useTalk.getState().reply(me.publicKey, item, title, body);
              setReplying(false);
              toast('Reply posted');
            }}
          />
        </div>
      ) : null}
    </>
  );
}
