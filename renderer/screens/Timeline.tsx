// The list of posts with its states and the "N new posts" pill; shared by Home. Windowed
// (VirtualFeed): 100,000 posts cost what 100 do; pages come from the timeline cursor as the
// reader nears the end. At the top of the page new posts just appear; scrolled away, they wait
// behind the pill so nothing moves under the reader.
import { useEffect } from 'react';
import { VirtualFeed } from '../components/VirtualFeed';
import { PostCard } from '../components/PostCard';
import { EmptyState, ErrorBanner, SkeletonCards } from '../components/States';
import { Icon } from '../components/Icon';
import { ownPost, useStreams } from '../stores/streams';
import { useTimeline } from '../stores/timeline';
import { useUnread } from '../stores/unread';
import { useUi } from '../stores/ui';

/** Scrolled less than this, the reader is at the top: what arrives shows at once. */
const AT_TOP_PX = 8;

/** A post card in view marks its stream seen up to its time (the sidebar's unread dots). */
function markSeen(id: string): void {
  const p = useTimeline.getState().posts[id];
  if (p) useUnread.getState().markSeen(p.streamKey, p.ts);
}

export function Timeline() {
  const { ids, posts, pending, status, error, hasMore, loadingMore } = useTimeline();
  const byKey = useStreams((s) => s.byKey);
  const navigate = useUi((s) => s.navigate);
  const openDialog = useUi((s) => s.openDialog);
  const toast = useUi((s) => s.toast);

  // Where the reader is decides how new posts come in (stores/timeline.ts atTop).
  useEffect(() => {
    const report = () => useTimeline.getState().setAtTop(window.scrollY < AT_TOP_PX);
    report();
    window.addEventListener('scroll', report, { passive: true });
    return () => {
      window.removeEventListener('scroll', report);
      useTimeline.getState().setAtTop(false); // off Home: what arrives waits for the reader
    };
  }, []);

  // the first paint of posts since the page loaded, for the ui bench (bench/ui.ts)
  const painted = status === 'ready' && ids.length > 0;
  useEffect(() => {
    if (!painted || performance.getEntriesByName('drayer:timeline-painted').length) return;
    requestAnimationFrame(() => performance.mark('drayer:timeline-painted'));
  }, [painted]);

  if (status === 'loading' || status === 'idle') return <SkeletonCards />;
  if (status === 'error')
    return <ErrorBanner text={`The timeline could not be read. ${error ?? ''}`} onRetry={() => void useTimeline.getState().loadInitial()} />;

  return (
    <div className="timeline">
      {pending.length > 0 ? (
        <div className="pill-row">
          <button
            type="button"
            className="pill"
            onClick={() => {
              useTimeline.getState().showPending();
              // to the page's top, where the newest post is (the timeline's own top sits under the sticky header)
              window.scrollTo({ top: 0, behavior: window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
            }}
          >
            <Icon name="arrowUp" size={16} />
            {pending.length === 1 ? '1 new post' : `${pending.length} new posts`}
          </button>
        </div>
      ) : null}
      {error ? <ErrorBanner text={error} onRetry={() => void useTimeline.getState().refreshHead(true)} /> : null}
      {ids.length === 0 ? (
        <EmptyState
          icon="feather"
          title="Nothing here yet"
          text="Write your first post above, or follow someone to see theirs."
          action={
            <button type="button" className="button" onClick={() => openDialog({ kind: 'follow' })}>
              Follow a stream
            </button>
          }
        />
      ) : (
        <VirtualFeed
          ids={ids}
          label="Posts"
          busy={loadingMore}
          onSeen={markSeen}
          onNearEnd={hasMore ? () => void useTimeline.getState().loadMore() : undefined}
          render={(id) => {
            const item = posts[id]!;
            return (
              <PostCard
                key={id}
                item={item}
                own={ownPost(byKey[item.streamKey], item.id)}
                onOpenStream={(pk) => navigate({ name: 'stream', publicKey: pk })}
                onDelete={(it) => openDialog({ kind: 'deletePost', item: it })}
                loadFull={(it) => useTimeline.getState().fullPost(it)}
                onSave={async (it, t, b) => {
                  await useTimeline.getState().edit(it, t, b);
                  toast('Post updated');
                }}
              />
            );
          }}
        />
      )}
      {loadingMore ? <SkeletonCards count={1} /> : null}
      {!hasMore && ids.length > 8 ? <p className="end-note">You're all caught up.</p> : null}
    </div>
  );
}
