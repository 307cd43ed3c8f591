// A post's thread under it on its page (issue 21): the root, then the replies this computer holds,
// by time, nested one level as Mastodon does; the opened post is the one drawn whole (`focused`).
// Replies from streams held here without being followed (app/node/hold.ts) are never mixed in
// silently: "N more replies from people you don't follow" shows them, marked, on request. A long
// thread is windowed (VirtualFeed), so a thousand replies open and scroll like a short one.
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import type { Thread, TimelineItem } from '../api/transport';
import { KeepCopy } from '../components/KeepCopy';
import { PostCard } from '../components/PostCard';
import { VirtualFeed } from '../components/VirtualFeed';
import { ownPost, useStreams } from '../stores/streams';
import { useTimeline } from '../stores/timeline';
import { useUi } from '../stores/ui';

/** Replies drawn all at once up to this many; a longer thread is windowed. */
const WINDOW_FROM = 40;

type Reply = Thread['replies'][number];
type At = { streamKey: string; key: string };
const isAt = (p: At, q: At) => p.streamKey === q.streamKey && p.key === q.key;
const idOf = (p: At) => `${p.streamKey}/${p.key}`;
const count = (n: number, one: string, many: string) => (n === 1 ? `1 ${one}` : `${n.toLocaleString('en-US')} ${many}`);

/** Where a reply seen nearby came from, to follow or keep it from there. */
const urlOf = (r: Reply) => (r.nearby ? `http://${r.nearby.address.includes(':') ? `[${r.nearby.address}]` : r.nearby.address}:${r.nearby.port}` : undefined);

export function ThreadView({
  thread,
  nearby = [],
  focused,
  focusedKey,
}: {
  thread: Thread | null;
  /** replies in streams not held here that computers nearby gave (nearbyReplies): behind the same button */
  nearby?: Reply[];
  focused: React.ReactNode;
  focusedKey: At;
}) {
  const byKey = useStreams((s) => s.byKey);
  const { navigate, openDialog, toast } = useUi();
  const focusRef = useRef<HTMLDivElement>(null);
  const [showAll, setShowAll] = useState(false);
  const isRoot = !thread || isAt(thread.rootRef, focusedKey);
  const all = useMemo(() => {
    const held = thread?.replies ?? [];
    const have = new Set(held.map(idOf));
    return [...held, ...nearby.filter((r) => !have.has(idOf(r)))];
  }, [thread, nearby]);
  const hidden = all.filter((r) => r.unfollowed).length;
  const replies = useMemo(() => (showAll ? all : all.filter((r) => !r.unfollowed)), [all, showAll]);
  const byId = useMemo(() => new Map(replies.map((r) => [idOf(r), r])), [replies]);
  const ids = useMemo(() => replies.map(idOf), [replies]);
  const windowed = replies.length > WINDOW_FROM;
  // the focused reply is drawn in the list when the list is drawn whole; above it otherwise (it may be far down)
  const focusInList = !windowed && replies.some((r) => isAt(r, focusedKey));

  // a reply opened from elsewhere: scrolled into view under its thread's start
  useEffect(() => {
    if (!isRoot && thread) focusRef.current?.scrollIntoView({ block: 'center' });
  }, [isRoot, !!thread]); // eslint-disable-line react-hooks/exhaustive-deps
  // what `bench ui` times: the first paint of a thread's replies
  useEffect(() => {
    if (thread) requestAnimationFrame(() => performance.mark('drayer:thread-painted'));
  }, [thread]);

  const card = (it: TimelineItem, inThread: boolean) => (
    <PostCard
      item={it}
      own={ownPost(byKey[it.streamKey], it.id)}
      inThread={inThread}
      onOpenStream={(pk) => navigate({ name: 'stream', publicKey: pk })}
      onDelete={(x) => openDialog({ kind: 'deletePost', item: x })}
      loadFull={(x) => useTimeline.getState().fullPost(x)}
      onSave={async (x, t, b) => {
        await useTimeline.getState().edit(x, t, b);
        toast('Post updated');
      }}
    />
  );
  const item = (r: Reply) => (
    <div
      className={`thread-item${r.depth === 1 ? ' thread-nested' : ''}${r.nearby ? ' thread-nearby' : ''}`}
      ref={focusInList && isAt(r, focusedKey) ? focusRef : undefined}
    >
      {r.unfollowed ? (
        <div className="thread-stranger">
          <span>{r.nearby ? 'Seen nearby · from a stream you don’t follow' : 'Kept here · from a stream you don’t follow'}</span>
          <KeepCopy streamKey={r.streamKey} name={r.streamName} url={urlOf(r)} />
        </div>
      ) : null}
      {focusInList && isAt(r, focusedKey) ? <div className="thread-focused">{focused}</div> : card(r, r.depth === 0)}
    </div>
  );

  return (
    <div className="thread">
      {isRoot ? (
        focused
      ) : thread?.root ? (
        <div className="thread-root">{card(thread.root, true)}</div>
      ) : (
        <p className="thread-missing">The post this conversation starts from is not on this computer.</p>
      )}
      {!isRoot && !focusInList ? (
        <div className="thread-focused" ref={focusRef}>
          {focused}
        </div>
      ) : null}
      {replies.length > 0 ? (
        <section className="thread-replies" aria-label={count(replies.length, 'reply', 'replies')}>
          <h2 className="thread-count">{count(replies.length, 'reply', 'replies')}</h2>
          {windowed ? (
            <VirtualFeed ids={ids} label="Replies" estimate={150} keys={false} render={(id) => item(byId.get(id)!)} />
          ) : (
            replies.map((r) => <Fragment key={idOf(r)}>{item(r)}</Fragment>)
          )}
        </section>
      ) : null}
      {hidden > 0 ? (
        <button type="button" className="button button-quiet thread-more" aria-expanded={showAll} onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Hide replies from people you don’t follow' : `${count(hidden, 'more reply', 'more replies')} from people you don’t follow`}
        </button>
      ) : null}
    </div>
  );
}
