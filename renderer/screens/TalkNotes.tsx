// "Mentions & replies" (issue 21): what other streams wrote about yours, newest first: replies to
// your posts, mentions of your streams, re-shares of your posts. Each says why it is here and
// opens its thread (or the post). It reads again whenever records change (a reply arriving).
import { useCallback, useEffect, useState } from 'react';
import { transport } from '../api';
import type { TalkNote } from '../api/transport';
import { Icon, type IconName } from '../components/Icon';
import { KeepCopy } from '../components/KeepCopy';
import { PostCard } from '../components/PostCard';
import { EmptyState, ErrorBanner, SkeletonCards } from '../components/States';
import { messageOf } from '../stores/errors';
import { ownPost, useStreams } from '../stores/streams';
import { useTalk } from '../stores/talk';
import { useTimeline } from '../stores/timeline';
import { hashOf, useUi } from '../stores/ui';

const PAGE = 50;
const WHY: Record<TalkNote['why'], { icon: IconName; text: string }> = {
  reply: { icon: 'reply', text: 'replied to your post' },
  mention: { icon: 'at', text: 'mentioned you' },
  reshare: { icon: 'repost', text: 're-shared your post' },
};

export function TalkNotes() {
  const version = useTalk((s) => s.version);
  const byKey = useStreams((s) => s.byKey);
  const { navigate, openDialog, toast } = useUi();
  const [notes, setNotes] = useState<TalkNote[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async (before?: number) => {
    try {
      const page = await transport().call('talkNotes', { limit: PAGE, ...(before !== undefined ? { before } : {}) });
      setNotes((old) => (before !== undefined && old ? [...old, ...page] : page));
      setMore(page.length === PAGE);
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    }
  }, []);
  useEffect(() => void load(), [load, version]);

  let content;
  if (error && !notes) content = <ErrorBanner text={`Mentions and replies could not be read. ${error}`} onRetry={() => void load()} />;
  else if (!notes) content = <SkeletonCards count={2} />;
  else if (notes.length === 0)
    content = (
      <EmptyState
        icon="at"
        title="No mentions or replies yet"
        text="When a stream you follow replies to your posts, mentions one of your streams or re-shares your posts, it shows here."
      />
    );
  else
    content = (
      <ol className="talk-notes">
        {notes.map((n) => {
          const why = WHY[n.why];
          // a reply opens its thread; a mention or a re-share opens the post itself
          const target = { name: 'post' as const, publicKey: n.streamKey, key: n.key };
          return (
            <li key={`${n.streamKey}/${n.key}`} className="talk-note">
              <a
                className="talk-note-why"
                href={hashOf(target)}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(target);
                }}
              >
                <Icon name={why.icon} size={14} />
                <bdi className="talk-note-name" title={n.streamName}>
                  {n.streamName || 'Unnamed stream'}
                </bdi>
                <span>{why.text}</span>
              </a>
              {n.unfollowed ? (
                <div className="thread-stranger">
                  <span>Kept here · from a stream you don’t follow (no notifications)</span>
                  <KeepCopy streamKey={n.streamKey} name={n.streamName} />
                </div>
              ) : null}
              <PostCard
                item={n}
                own={ownPost(byKey[n.streamKey], n.id)}
                onOpenStream={(pk) => navigate({ name: 'stream', publicKey: pk })}
                onDelete={(x) => openDialog({ kind: 'deletePost', item: x })}
                loadFull={(x) => useTimeline.getState().fullPost(x)}
                onSave={async (x, t, b) => {
                  await useTimeline.getState().edit(x, t, b);
                  toast('Post updated');
                }}
              />
            </li>
          );
        })}
      </ol>
    );
  return (
    <>
      <header className="page-head">
        <h1>Mentions &amp; replies</h1>
      </header>
      {error && notes ? <ErrorBanner text={error} onRetry={() => void load()} /> : null}
      {content}
      {more && notes ? (
        <button type="button" className="button button-quiet talk-notes-more" onClick={() => void load(notes[notes.length - 1]!.ts)}>
          Older
        </button>
      ) : null}
    </>
  );
}
