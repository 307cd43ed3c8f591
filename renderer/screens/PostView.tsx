// A post's own page (its permalink, #/post/<stream>/<key>): the whole post, never collapsed, its
// pictures, and who wrote it, read whole from the node (the timeline keeps only excerpts). It
// follows edits as they arrive, and says so plainly when the post is not (or no longer) here.
// Below it, its thread (issue 21): the root and every reply this computer holds, by time, nested
// one level as Mastodon does; the post opened is the one shown whole.
import { useCallback, useEffect, useState } from 'react';
import type { PostView as Post, TimelineItem } from '../api/transport';
import { transport } from '../api';
import { Icon } from '../components/Icon';
import { PostCard } from '../components/PostCard';
import { EmptyState, ErrorBanner, SkeletonCards } from '../components/States';
import { useCall } from '../lib/useCall';
import { messageOf } from '../stores/errors';
import { ownPost, useStreams } from '../stores/streams';
import { useTimeline } from '../stores/timeline';
import { useUnread } from '../stores/unread';
import { useUi } from '../stores/ui';
import { useTalk } from '../stores/talk';
import { ThreadView } from './ThreadView';

export function PostView({ publicKey, postKey }: { publicKey: string; postKey: string }) {
  const summary = useStreams((s) => s.byKey[publicKey]);
  const pendingName = useStreams((s) => s.pending[publicKey]?.name);
  const { navigate, openDialog, toast } = useUi();
  const [post, setPost] = useState<Post | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const name = pendingName || summary?.name || 'Unnamed stream';
  const version = useTalk((s) => s.version);
  const heldKeys = useStreams((s) => s.keys.join(' '));
  // what computers nearby hold of this thread in streams not held here (at most a few seconds; cached by the node)
  const nearby = useCall('nearbyReplies', { streamKey: publicKey, key: postKey }, [], [publicKey, postKey, heldKeys]);
  // without its thread the post itself still shows; its error says why
  const thread = useCall('thread', { streamKey: publicKey, key: postKey }, null, [publicKey, postKey, version, summary?.records]);

  const load = useCallback(() => {
    transport()
      .call('getPost', { publicKey, key: postKey })
      .then(
        (p) => {
          setPost(p);
          setError(null);
        },
        (e) => setError(messageOf(e)),
      );
  }, [publicKey, postKey]);
  // again whenever the stream changes (an edit or a delete arriving)
  useEffect(load, [load, summary?.records]);
  // a post read on its own page counts as seen, as on Home (the sidebar's unread dot)
  useEffect(() => {
    if (post) useUnread.getState().markSeen(publicKey, post.ts);
  }, [publicKey, post]);

  const back = () => (history.length > 1 ? history.back() : navigate({ name: 'home' }));
  let content;
  if (error && post === undefined) content = <ErrorBanner text={`This post could not be read. ${error}`} onRetry={load} />;
  else if (post === undefined) content = <SkeletonCards count={1} />;
  else if (post === null) {
    content = (
      <EmptyState
        icon="feather"
        title="This post is not here"
        text={summary ? 'It was deleted, or this computer has not received it yet.' : 'This computer does not hold the stream it belongs to.'}
        action={
          summary ? (
            <button type="button" className="button" onClick={() => navigate({ name: 'stream', publicKey })}>
              Open <bdi className="post-view-name">{name}</bdi>
            </button>
          ) : (
            <button type="button" className="button" onClick={() => openDialog({ kind: 'follow', key: publicKey })}>
              Follow this stream
            </button>
          )
        }
      />
    );
  } else {
    const item: TimelineItem = { ...post, streamKey: publicKey, streamName: name };
    const focused = (
      <PostCard
        item={item}
        own={ownPost(summary, item.id)}
        standalone
        inThread={!thread?.root || thread.root.key === postKey}
        onOpenStream={(pk) => navigate({ name: 'stream', publicKey: pk })}
        onDelete={(it) => openDialog({ kind: 'deletePost', item: it, then: back })}
        loadFull={async (it) => ({ title: it.title, body: it.body })}
        onSave={async (it, t, b) => {
          await useTimeline.getState().edit(it, t, b);
          toast('Post updated');
          load();
        }}
      />
    );
    content = (
      <>
        {error ? <ErrorBanner text={error} onRetry={load} /> : null}
        <ThreadView thread={thread} nearby={nearby} focused={focused} focusedKey={{ streamKey: publicKey, key: postKey }} />
        <button type="button" className="button button-quiet post-view-more" onClick={() => navigate({ name: 'stream', publicKey })}>
          All posts of{' '}
          <bdi className="post-view-name" title={name}>
            {name}
          </bdi>
        </button>
      </>
    );
  }
  return (
    <>
      <header className="page-head page-head-back">
        <button type="button" className="icon-button" onClick={back} aria-label="Back">
          <Icon name="arrowLeft" size={18} />
        </button>
        <h1 className="page-head-title">Post</h1>
      </header>
      {content}
    </>
  );
}
