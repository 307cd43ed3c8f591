// A stream's page: profile header (avatar, name, about, one status line, and the actions: Share,
// Following or Edit profile, ⋯ with Key & verify) and its tabs: posts, files, and its site when it
// has an index.html. The key and its words stay behind Key & verify until asked for.
import { useCallback, useEffect, useState } from 'react';
import type { TimelineItem } from '../api/transport';
import { Avatar } from '../components/Avatar';
import { Icon } from '../components/Icon';
import { Menu, type MenuItem } from '../components/Menu';
import { PostCard } from '../components/PostCard';
import { EmptyState, ErrorBanner, SkeletonCards } from '../components/States';
import { ProfileSkeleton } from '../components/Skeleton';
import { codeOf, messageOf } from '../stores/errors';
import { isMineHere, ownPost, useStreams } from '../stores/streams';
import { StreamToolsCard, SyncStatus } from './StreamTools';
import { useTimeline } from '../stores/timeline';
import { useUi, type StreamTab } from '../stores/ui';
import { formatCount } from '../lib/time';
import { FilesTab } from './StreamFiles';
import { SitePanel } from './SitePanel';
import { userFiles } from '../lib/files';
import { KeepCopy } from '../components/KeepCopy';
import { FollowState } from './FollowState';
import { Lock } from '../components/Lock';
import { webBase } from './FileDialogs';
import { useTalk } from '../stores/talk';
import { DevicesCard } from './Devices';
import { Composer } from './Composer';

type Tab = 'posts' | 'files' | 'site';

function useStreamPosts(publicKey: string, version: string) {
  const posts = useStreams((s) => s.posts[publicKey] ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    useStreams
      .getState()
      .loadPosts(publicKey)
      .then(
        () => setError(null),
        (e) => setError(messageOf(e)),
      );
  }, [publicKey, version]);
  return { posts, error };
}

export function StreamPage({ publicKey, tab: routeTab }: { publicKey: string; tab?: StreamTab }) {
  const details = useStreams((s) => s.details[publicKey]);
  const summary = useStreams((s) => s.byKey[publicKey]);
  const loaded = useStreams((s) => s.loaded);
  const pendingName = useStreams((s) => s.pending[publicKey]?.name);
  const { openDialog, navigate, toast } = useUi();
  const [loadError, setLoadError] = useState<{ code: string; text: string } | null>(null);

  const reload = useCallback(() => {
    useStreams
      .getState()
      .loadDetails(publicKey)
      .then(
        () => setLoadError(null),
        (e) => setLoadError({ code: codeOf(e), text: messageOf(e) }),
      );
  }, [publicKey]);
  // a blind copy given its read key reads what it held: same records, new posts
  useEffect(reload, [reload, summary?.records, summary?.private]);
  // read again when the stream changes, or a reply or reaction to one of its posts arrives
  const talk = useTalk((s) => s.version);
  const { posts, error } = useStreamPosts(publicKey, `${details?.lastSeq ?? 0} ${summary?.private ?? ''} ${talk}`);
  const hasSite = !!details?.files.some((f) => f.path === 'index.html');
  const tab: Tab = routeTab === 'files' ? 'files' : routeTab === 'site' && (hasSite || !details) ? 'site' : 'posts';

  if (loadError?.code === 'NOT_FOUND' || (loaded && !summary && !details)) {
    return (
      <EmptyState
        icon="search"
        title="Not on this computer"
        text="This node does not hold that stream. Follow it by its key to read it here."
        action={
          <span className="keep-copy">
            <button type="button" className="button button-primary" onClick={() => openDialog({ kind: 'follow', key: publicKey })}>
              Follow this stream
            </button>
            <KeepCopy streamKey={publicKey} name="this stream" small={false} keepOnly />
          </span>
        }
      />
    );
  }
  const s = details ?? summary;
  if (!s)
    return (
      <>
        <ProfileSkeleton />
        <SkeletonCards count={2} />
      </>
    );
  const name = pendingName || s.name || 'Unnamed stream';
  return (
    <>
      <header className="page-head page-head-back">
        <button type="button" className="icon-button" onClick={() => (history.length > 1 ? history.back() : navigate({ name: 'home' }))} aria-label="Back">
          <Icon name="arrowLeft" size={18} />
        </button>
        <h1 className="page-head-title">
          {name}
          <Lock access={s.private} size={16} className="title-lock" />
        </h1>
      </header>
      <section className="card profile" aria-label="Profile">
        <div className="profile-top">
          <Avatar publicKey={s.publicKey} name={name} size={72} />
          <div className="profile-actions">
            <button type="button" className="button" onClick={() => openDialog({ kind: 'share', publicKey })}>
              <Icon name={s.private === 'reader' ? 'lock' : 'share'} size={16} /> {s.private === 'reader' ? 'Share read access' : 'Share'}
            </button>
            {s.owned ? (
              <button type="button" className="button" onClick={() => openDialog({ kind: 'editProfile', publicKey })}>
                Edit profile
              </button>
            ) : isMineHere(s) ? null /* written here as a device: not a stream you follow (Unfollow stays under ⋯) */ : summary?.hold ? (
              <KeepCopy streamKey={publicKey} name={name} small={false} />
            ) : (
              <button type="button" className="button button-following" onClick={() => openDialog({ kind: 'unfollow', publicKey })}>
                <span className="when-idle">Following</span>
                <span className="when-hover">Unfollow</span>
              </button>
            )}
            <Menu label={`More for ${name}`} items={moreItems(s.owned, publicKey, openDialog)} />
          </div>
        </div>
        <h2 className="profile-name">{name}</h2>
        {s.about ? <p className="profile-about">{s.about}</p> : null}
        {s.private ? (
          <p className="profile-private" data-access={s.private}>
            <Icon name="lock" size={14} />{' '}
            {s.private === 'reader'
              ? 'Private: only people with its read link can read it. Computers that carry it see sealed data only.'
              : 'Sealed: no read key. This computer carries and shares it encrypted, and cannot read it.'}
          </p>
        ) : null}
        {hasSite && webBase(details) ? (
          <a className="profile-link" href={webBase(details)!} target="_blank" rel="noopener noreferrer">
            <Icon name="globe" size={16} /> Website
          </a>
        ) : null}
        <SyncStatus s={s} />
      </section>
      {loadError ? <ErrorBanner text={loadError.text} onRetry={reload} /> : null}
      <FollowState s={s} name={name} />
      <DevicesCard s={s} />
      {details ? <StreamToolsCard d={details} /> : null}
      <StreamTabs
        tab={tab}
        tabs={[
          { id: 'posts', label: 'Posts', count: s.posts },
          { id: 'files', label: 'Files', count: details ? userFiles(details.files).length : undefined },
          ...(hasSite ? [{ id: 'site' as const, label: 'Site' }] : []),
        ]}
        onSelect={(t) => navigate({ name: 'stream', publicKey, ...(t === 'posts' ? {} : { tab: t }) }, { replace: true })}
      />
      <div role="tabpanel" id={`stream-panel-${tab}`} aria-labelledby={`stream-tab-${tab}`}>
        {tab === 'files' ? (
          details ? (
            <FilesTab s={details} />
          ) : (
            <SkeletonCards count={2} />
          )
        ) : tab === 'site' ? (
          details ? (
            <SitePanel s={details} />
          ) : (
            <SkeletonCards count={1} />
          )
        ) : (
          <>
            {error ? <ErrorBanner text={error} /> : null}
            {s.owned || s.device === 'listed' ? <Composer only={publicKey} /> : null}
            {posts === null ? (
              <SkeletonCards count={2} />
            ) : posts.length === 0 && s.private === 'sealed' ? (
              <EmptyState
                icon="lock"
                title="Sealed: no read key"
                text="This is a private stream: its posts arrive here encrypted. Ask its owner for the read link (or its 64 words) to read them."
                action={
                  <button type="button" className="button" onClick={() => openDialog({ kind: 'follow' })}>
                    Add the read link
                  </button>
                }
              />
            ) : posts.length === 0 ? (
              <EmptyState
                icon="feather"
                title="No posts yet"
                text={s.owned || s.device === 'listed' ? 'Posts you write here or on Home appear here.' : 'When this stream posts, the posts appear here.'}
              />
            ) : (
              <div className="feed" role="feed" aria-label={`Posts of ${name}`}>
                {posts.map((p) => {
                  const item: TimelineItem = { ...p, streamKey: publicKey, streamName: name };
                  return (
                    <PostCard
                      key={p.key}
                      item={item}
                      own={ownPost(s, p.id)}
                      onOpenStream={() => window.scrollTo({ top: 0, behavior: 'smooth' })}
                      onDelete={(it) => openDialog({ kind: 'deletePost', item: it })}
                      loadFull={async (it) => ({ title: it.title, body: it.body })}
                      onSave={async (it, t, b) => {
                        await useTimeline.getState().edit(it, t, b);
                        toast('Post updated');
                      }}
                    />
                  );
                })}
              </div>
            )}
          </>
        )}
      </div>
    </>
  );
}

/** The ⋯ of a stream's header: what is there but seldom needed. */
function moreItems(owned: boolean, publicKey: string, openDialog: ReturnType<typeof useUi.getState>['openDialog']): MenuItem[] {
  return [
    { label: 'Key & verify', onSelect: () => openDialog({ kind: 'keyVerify', publicKey }) },
    ...(owned ? [{ label: 'Back up key', onSelect: () => openDialog({ kind: 'keyBackup', publicKey }) }] : []),
    { label: 'Check the stream file', onSelect: () => openDialog({ kind: 'verify', publicKey }) },
    { label: 'Export a copy', onSelect: () => openDialog({ kind: 'exportStream', publicKey }) },
    ...(owned ? [] : [{ label: 'Unfollow', danger: true, onSelect: () => openDialog({ kind: 'unfollow', publicKey }) }]),
  ];
}

function StreamTabs({ tab, tabs, onSelect }: { tab: Tab; tabs: { id: Tab; label: string; count?: number }[]; onSelect: (t: Tab) => void }) {
  const onKey = (e: React.KeyboardEvent, i: number) => {
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    const next = tabs[(i + d + tabs.length) % tabs.length]!;
    onSelect(next.id);
    setTimeout(() => document.getElementById(`stream-tab-${next.id}`)?.focus(), 0);
  };
  return (
    <div className="tabs" role="tablist" aria-label="Stream sections">
      {tabs.map((t, i) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`stream-tab-${t.id}`}
          aria-controls={tab === t.id ? `stream-panel-${t.id}` : undefined}
          aria-selected={tab === t.id}
          tabIndex={tab === t.id ? 0 : -1}
          className={tab === t.id ? 'tab active' : 'tab'}
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
          {t.count !== undefined ? <span className="tab-count">{formatCount(t.count)}</span> : null}
        </button>
      ))}
    </div>
  );
}
