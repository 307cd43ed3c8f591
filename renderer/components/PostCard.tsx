// One post: avatar, stream name, time (a link to the post's own page), title and markdown body;
// a ⋯ menu (open, copy link; edit and delete on your own posts) and edit in place, where
// pictures can be attached as in the composer. A long post is collapsed after about 12 lines
// with "Show more"; an excerpt (the timeline keeps the start of long posts) loads the whole post
// when opened. Each card renders inside its own error boundary: one bad post shows a note, and
// the rest of the list stays.
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import type { TimelineItem } from '../api/transport';
import { Markdown } from '../lib/markdown';
import { absoluteTime } from '../lib/time';
import { messageOf } from '../stores/errors';
import { attachTo } from '../stores/files';
import { useDeletes } from '../stores/deletes';
import { postId } from '../stores/timeline';
import { hashOf, useUi } from '../stores/ui';
import { Avatar } from './Avatar';
import { copyText } from './CopyButton';
import { ErrorBoundary } from './ErrorBoundary';
import { Menu, type MenuItem } from './Menu';
import { PostEditor } from './PostEditor';
import { PostActions, ReplyingTo } from './PostTalk';
import { ReshareEmbed, ResharedBy } from './Reshare';
import { RelativeTime } from './RelativeTime';
import { Lock } from './Lock';
import { useStreams } from '../stores/streams';

export interface PostCardProps {
  item: TimelineItem;
  own: boolean;
  onOpenStream: (publicKey: string) => void;
  onDelete: (item: TimelineItem) => void;
  /** the full post to edit (the timeline holds excerpts) */
  loadFull: (item: TimelineItem) => Promise<{ title: string; body: string }>;
  onSave: (item: TimelineItem, title: string, body: string) => Promise<void>;
  /** the post's own page: the whole post, never collapsed, no link to itself */
  standalone?: boolean;
  /** shown in its thread: no "N replies" link to the thread itself, no "Replying to" for a direct reply */
  inThread?: boolean;
}

/** Collapsed height, in lines of body text (UI.md: "collapse after ~12 lines"). */
const COLLAPSED_LINES = 12;
/** A post only a little longer than that is shown whole: a "Show more" for two lines is noise. */
const SLACK_LINES = 3;

/**
 * Whole bodies loaded and posts opened by "Show more", by post and version: a windowed feed
 * unmounts cards scrolled away, and they come back as the reader left them.
 */
const opened = new Map<string, { full?: string; expanded: boolean }>();
const openedKey = (item: TimelineItem) => `${postId(item)}@${item.mod}`;
function remember(item: TimelineItem, v: { full?: string; expanded: boolean }) {
  opened.delete(openedKey(item));
  opened.set(openedKey(item), v);
  if (opened.size > 300) opened.delete(opened.keys().next().value!);
}

/** A link to a post's own page, as this app is opened (without its query: no token in a copied link). */
export function postLink(publicKey: string, key: string): string {
  return `${location.origin}${location.pathname}${hashOf({ name: 'post', publicKey, key })}`;
}

export function PostCard(props: PostCardProps) {
  const hidden = useDeletes((s) => !!s.hidden[postId(props.item)]);
  if (hidden) return null;
  return (
    <ErrorBoundary
      resetKey={openedKey(props.item)}
      fallback={() => (
        <article className="card post post-broken" aria-label={`Post by ${props.item.streamName || 'Unnamed stream'}`} data-post-key={props.item.key}>
          <p>This post could not be shown.</p>
        </article>
      )}
    >
      <PostCardInner {...props} />
    </ErrorBoundary>
  );
}

function PostCardInner({ item, own, onOpenStream, onDelete, loadFull, onSave, standalone = false, inThread = false }: PostCardProps) {
  const [editing, setEditing] = useState<{ title: string; body: string } | null>(null);
  const [state, setState] = useState(() => opened.get(openedKey(item)) ?? { expanded: false });
  const [loading, setLoading] = useState(false);
  const [overflows, setOverflows] = useState(false);
  const body = useRef<HTMLDivElement>(null);
  const overflowing = useRef(overflows);
  overflowing.current = overflows;
  const { navigate, toast } = useUi();
  const name = item.streamName || 'Unnamed stream';
  const access = useStreams((st) => st.byKey[item.streamKey]?.private);
  const base = `post-${item.streamKey.slice(0, 8).replace(/[^\w-]/g, '_')}-${item.key.replace(/[^\w-]/g, '_')}`;
  const titleId = `${base}-title`;
  const bodyId = `${base}-body`;
  const source = state.full ?? item.body;
  // an excerpt always has more; a whole body only when it is taller than the collapsed height
  const more = !standalone && !!item.cut && state.full === undefined;
  const collapsible = !standalone && (overflows || more);
  const collapsed = collapsible && !state.expanded;

  useLayoutEffect(() => {
    const el = body.current;
    const content = el?.firstElementChild;
    if (!el || !content || standalone) return;
    const over = (height: number) => height > (parseFloat(getComputedStyle(el).lineHeight) || 22) * (COLLAPSED_LINES + SLACK_LINES);
    if (typeof ResizeObserver === 'undefined') return void setOverflows(over(el.scrollHeight));
    // Measured by the observer, after the browser's own layout and before its paint: reading the height
    // here, as the card mounts, forced a layout per card (a thread scrolled past hundreds: most of each
    // frame). A change is drawn at once (flushSync), so a tall post never shows uncollapsed for a frame.
    const ro = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]!.borderBoxSize?.[0];
      const now = over(box ? box.blockSize : content.getBoundingClientRect().height);
      if (now !== overflowing.current) flushSync(() => setOverflows(now));
    });
    // the content's size, not the clipped box's: pictures load, the window narrows
    ro.observe(content);
    return () => ro.disconnect();
  }, [source, standalone, editing]);

  useEffect(() => setState(opened.get(openedKey(item)) ?? { expanded: false }), [item.mod]); // eslint-disable-line react-hooks/exhaustive-deps

  const openPost = () => navigate({ name: 'post', publicKey: item.streamKey, key: item.key });
  const toggle = async () => {
    if (state.expanded) {
      const next = { ...state, expanded: false };
      setState(next);
      remember(item, next);
      // the reader was at the end of a long post: bring its start back into view
      const card = body.current?.closest('article');
      if (card && card.getBoundingClientRect().top < 0) card.scrollIntoView({ block: 'start' });
      return;
    }
    let full = state.full;
    if (item.cut && full === undefined) {
      setLoading(true);
      try {
        full = (await loadFull(item)).body;
      } catch (e) {
        toast(`The rest of this post could not be read: ${messageOf(e)}`, 'error');
        return;
      } finally {
        setLoading(false);
      }
    }
    const next = { full, expanded: true };
    setState(next);
    remember(item, next);
  };

  const menu: MenuItem[] = [
    ...(standalone ? [] : [{ label: 'Open post', onSelect: openPost }]),
    {
      label: 'Copy link',
      onSelect: () =>
        void copyText(postLink(item.streamKey, item.key)).then((ok) => toast(ok ? 'Link copied' : 'The link could not be copied', ok ? 'info' : 'error')),
    },
    ...(own
      ? [
          {
            label: 'Edit',
            onSelect: () => void loadFull(item).then(setEditing, (e) => toast(`This post could not be opened for editing: ${messageOf(e)}`, 'error')),
          },
          { label: 'Delete…', danger: true, onSelect: () => onDelete(item) },
        ]
      : []),
  ];

  return (
    <article
      className={standalone ? 'card post post-standalone' : 'card post'}
      data-post-key={item.key}
      aria-labelledby={item.title && !editing ? titleId : undefined}
      aria-label={item.title && !editing ? undefined : item.title || `Post by ${name}`}
    >
      <button type="button" className="post-avatar" onClick={() => onOpenStream(item.streamKey)} aria-label={`Open ${name}`} tabIndex={-1}>
        <Avatar publicKey={item.streamKey} name={name} />
      </button>
      <div className="post-main">
        <header className="post-head">
          {/* the name is cut with an ellipsis when long: the tooltip and the accessible name hold it whole */}
          <button type="button" className="post-author" onClick={() => onOpenStream(item.streamKey)} title={name}>
            <bdi>{name}</bdi>
          </button>
          <Lock access={access} size={13} />
          <span className="post-dot" aria-hidden="true">
            ·
          </span>
          {standalone ? (
            <span className="post-time">
              <time dateTime={new Date(item.ts / 1000).toISOString()}>{absoluteTime(item.ts)}</time>
            </span>
          ) : (
            <a
              className="post-time post-time-link"
              href={hashOf({ name: 'post', publicKey: item.streamKey, key: item.key })}
              onClick={(e) => {
                e.preventDefault();
                openPost();
              }}
            >
              <RelativeTime us={item.ts} />
            </a>
          )}
          {item.edited ? (
            <span className="post-edited" title={absoluteTime(item.edited)}>
              edited
            </span>
          ) : null}
          {!editing ? <Menu label="Post actions" items={menu} /> : null}
        </header>
        {editing ? (
          <PostEditor
            idBase={`edit-${base}`}
            initialTitle={editing.title}
            initialBody={editing.body}
            submitLabel="Save"
            attach={attachTo(item.streamKey)}
            streamKey={item.streamKey}
            onCancel={() => setEditing(null)}
            onSubmit={async (t, b) => {
              await onSave(item, t, b);
              setEditing(null);
            }}
          />
        ) : (
          <>
            {inThread ? null : <ReplyingTo item={item} />}
            <ResharedBy item={item} />
            {item.title ? (
              <h3 id={titleId} className="post-title" dir="auto">
                {item.title}
              </h3>
            ) : null}
            {source ? (
              <div ref={body} id={bodyId} className={collapsed && overflows ? 'post-body-wrap collapsed' : 'post-body-wrap'}>
                <Markdown source={source} className="md post-body" streamKey={item.streamKey} />
              </div>
            ) : null}
            {item.reshare ? <ReshareEmbed item={item} /> : null}
            {item.unavailable && !source ? <p className="post-unavailable">{item.unavailable}</p> : null}
            {collapsible ? (
              <button type="button" className="post-more" aria-expanded={!collapsed} aria-controls={bodyId} onClick={() => void toggle()} disabled={loading}>
                {loading ? 'Loading…' : collapsed ? 'Show more' : 'Show less'}
              </button>
            ) : null}
            <PostActions item={item} inThread={inThread} />
          </>
        )}
      </div>
    </article>
  );
}
