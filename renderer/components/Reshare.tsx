// Re-shares in the UI (issue 21): the form that re-shares a post with an optional comment, the
// "NAME re-shared" line of a re-share's card, and the post it shares embedded under the comment:
// as this computer holds it, or, when its stream is not followed here, its name with a one-click
// Follow (from a computer nearby that has it, else from where the re-share came from). That is
// how people find new streams.
import { useEffect, useState } from 'react';
import { transport } from '../api';
import type { TimelineItem } from '../api/transport';
import { Markdown } from '../lib/markdown';
import { messageOf } from '../stores/errors';
import { nearbyUrl, useStreams } from '../stores/streams';
import { useTalk } from '../stores/talk';
import { hashOf, useUi } from '../stores/ui';
import { Avatar } from './Avatar';
import { Icon } from './Icon';
import { PostEditor } from './PostEditor';
import { RelativeTime } from './RelativeTime';

/** Re-share `item` as `me`, with an optional comment: the post composer (mentions, pictures), without a title. */
export function ReshareForm({
  item,
  me,
  idBase,
  onClose,
}: {
  item: TimelineItem;
  me: { publicKey: string; name: string };
  idBase: string;
  onClose: () => void;
}) {
  const toast = useUi((s) => s.toast);
  return (
    <div id={`${idBase}-reshare`}>
      <PostEditor
        idBase={`${idBase}-reshare-comment`}
        className="reshare-form"
        withTitle={false}
        optional
        bodyLabel="Comment (optional)"
        bodyPlaceholder="Add a comment (optional)…"
        submitLabel="Re-share"
        writer={me}
        onCancel={onClose}
        onSubmit={async (_title, body) => {
          await useTalk.getState().reshare(me.publicKey, item, body.trim());
          toast('Re-shared');
          onClose();
        }}
      />
    </div>
  );
}

/** "NAME re-shared", above a re-share's comment. */
export function ResharedBy({ item }: { item: TimelineItem }) {
  if (!item.reshare) return null;
  return (
    <p className="post-replying post-reshared">
      <Icon name="repost" size={14} />
      <bdi className="post-reshared-name" title={item.streamName}>
        {item.streamName || 'Unnamed stream'}
      </bdi>
      <span>re-shared</span>
    </p>
  );
}

/** The post a re-share shares: embedded when held (read here once its stream is followed), else a name and Follow. */
export function ReshareEmbed({ item }: { item: TimelineItem }) {
  const to = item.reshare!;
  const held = useStreams((s) => !!s.byKey[to.streamKey]);
  const records = useStreams((s) => s.byKey[to.streamKey]?.records);
  const { navigate } = useUi();
  const [fetched, setFetched] = useState<TimelineItem | null>(null);
  // followed since the card was drawn: read the post from this computer
  useEffect(() => {
    if (to.post || !held) return;
    let live = true;
    transport()
      .call('getPost', { publicKey: to.streamKey, key: to.key })
      .then(
        (p) => live && setFetched(p ? { ...p, streamKey: to.streamKey, streamName: useStreams.getState().byKey[to.streamKey]?.name || to.streamName } : null),
        () => {},
      );
    return () => {
      live = false;
    };
  }, [to.post, to.streamKey, to.key, to.streamName, held, records]);
  // a stream not held here may be announced nearby under its own name (the re-share names only its key)
  const nearName = useStreams((s) => s.nearby.find((n) => n.publicKey === to.streamKey)?.name);
  const post = to.post ?? fetched;
  const name = post?.streamName || nearName || to.streamName;
  const open = (e: React.MouseEvent) => {
    e.preventDefault();
    navigate({ name: 'post', publicKey: to.streamKey, key: to.key });
  };
  if (!post) {
    return (
      <div className="reshare-embed reshare-missing" role="group" aria-label={`Re-shared from ${name}`}>
        <Avatar publicKey={to.streamKey} name={name} size={32} />
        <p className="reshare-missing-text">
          A post of <bdi className="reshare-name">{name}</bdi>
          {held ? ', not on this computer yet.' : ', a stream you do not follow yet.'}{' '}
          <a href={hashOf({ name: 'post', publicKey: to.streamKey, key: to.key })} onClick={open}>
            Open post
          </a>
        </p>
        {held ? null : <FollowOriginal item={item} name={name} />}
      </div>
    );
  }
  return (
    <div className="reshare-embed" role="group" aria-label={`Re-shared from ${name}`}>
      <div className="reshare-head">
        <Avatar publicKey={to.streamKey} name={name} size={24} />
        <button type="button" className="post-author" onClick={() => navigate({ name: 'stream', publicKey: to.streamKey })} title={name}>
          <bdi>{name}</bdi>
        </button>
        <span className="post-dot" aria-hidden="true">
          ·
        </span>
        <a className="post-time post-time-link" href={hashOf({ name: 'post', publicKey: to.streamKey, key: to.key })} onClick={open}>
          <RelativeTime us={post.ts} />
        </a>
      </div>
      {post.title ? (
        <p className="reshare-title" dir="auto">
          {post.title}
        </p>
      ) : null}
      {post.body ? <Markdown source={post.body} className="md post-body reshare-body" streamKey={to.streamKey} /> : null}
      {post.cut ? (
        <a className="post-more" href={hashOf({ name: 'post', publicKey: to.streamKey, key: to.key })} onClick={open}>
          Read the whole post
        </a>
      ) : null}
      {post.reshare ? <InnerReshare to={post.reshare} /> : null}
    </div>
  );
}

/** What a re-share with a comment itself re-shares: a link to it, never another embed (a quote of a quote of… stays one level). */
function InnerReshare({ to }: { to: NonNullable<TimelineItem['reshare']> }) {
  const navigate = useUi((s) => s.navigate);
  return (
    <p className="post-replying reshare-inner">
      <Icon name="repost" size={14} />
      <span>Re-sharing </span>
      <a
        href={hashOf({ name: 'post', publicKey: to.streamKey, key: to.key })}
        onClick={(e) => {
          e.preventDefault();
          navigate({ name: 'post', publicKey: to.streamKey, key: to.key });
        }}
        title={to.streamName}
      >
        a post of <bdi>{to.streamName}</bdi>
      </a>
    </p>
  );
}

/** Follow the stream a re-share came from, in one click. */
function FollowOriginal({ item, name }: { item: TimelineItem; name: string }) {
  const to = item.reshare!;
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState(false);
  const follow = async () => {
    const st = useStreams.getState();
    const near = st.nearby.find((n) => n.publicKey === to.streamKey);
    // a computer nearby that announces it, else where the re-share itself came from (it follows the stream, and serves it)
    const url = (near && nearbyUrl(near)) || st.byKey[item.streamKey]?.sources[0];
    setBusy(true);
    try {
      const followed = await st.follow({ key: to.streamKey, ...(url ? { url } : {}) });
      toast(`Following ${followed.name || name}`);
    } catch (e) {
      toast(`${name} could not be followed: ${messageOf(e)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" className="button button-primary reshare-follow" onClick={() => void follow()} disabled={busy}>
      <Icon name="userPlus" size={16} />
      <span>{busy ? 'Following…' : 'Follow'}</span>
    </button>
  );
}
