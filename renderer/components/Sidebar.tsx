// The left column: where to go (Home, Mentions & replies, Search, Nearby, Settings) and the streams you hold.
// Narrow windows show it as icons, then as a bottom bar (CSS).
import { memo, startTransition, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { StreamSummary } from '../api/transport';
import type { Route } from '../stores/ui';
import { useSettings } from '../stores/settings';
import { useStreams } from '../stores/streams';
import { useTimeline } from '../stores/timeline';
import { newestByStream, unreadStreams, useUnread } from '../stores/unread';
import { Avatar } from './Avatar';
import { Icon, type IconName } from './Icon';
import { Menu } from './Menu';
import { Lock } from './Lock';
import { useUi } from '../stores/ui';
import { useSync } from '../stores/sync';

export interface SidebarProps {
  route: Route;
  mine: StreamSummary[];
  followed: StreamSummary[];
  syncing: Set<string>;
  nearbyCount: number;
  onNavigate: (r: Route) => void;
  onFollow: () => void;
  onNewStream: () => void;
}

function NavItem({ icon, label, active, onClick, badge }: { icon: IconName; label: string; active: boolean; onClick: () => void; badge?: number }) {
  return (
    <li>
      <a
        href="#"
        className={active ? 'nav-item active' : 'nav-item'}
        aria-current={active ? 'page' : undefined}
        onClick={(e) => {
          e.preventDefault();
          onClick();
        }}
      >
        <Icon name={icon} />
        <span className="nav-label">{label}</span>
        {badge ? (
          <span className="nav-badge" aria-label={`${badge} new`}>
            {badge}
          </span>
        ) : null}
      </a>
    </li>
  );
}

/**
 * Followed streams holding posts newer than the reader has seen (stores/unread.ts), from the posts
 * this window holds (Home's timeline, a stream page's list). The stream whose page is open is seen.
 */
function useUnreadFollowed(followed: StreamSummary[], route: Route): Set<string> {
  const timelinePosts = useTimeline((st) => st.posts);
  const pagePosts = useStreams((st) => st.posts);
  const lastSeen = useUnread((st) => st.lastSeen);
  const newest = useMemo(() => {
    const all: { streamKey: string; ts: number }[] = Object.values(timelinePosts);
    for (const [streamKey, list] of Object.entries(pagePosts)) for (const p of list) all.push({ streamKey, ts: p.ts });
    return newestByStream(all);
  }, [timelinePosts, pagePosts]);
  const open = route.name === 'stream' ? route.publicKey : null;
  const openNewest = open ? newest[open] : undefined;
  useEffect(() => {
    if (open && openNewest !== undefined) useUnread.getState().markSeen(open, openNewest);
  }, [open, openNewest]);
  const keys = followed.map((s) => s.publicKey).filter((k) => k !== open);
  return unreadStreams(keys, newest, lastSeen);
}

/**
 * Streams of a list shown in the sidebar's first render (more than a window holds); the rest
 * come just after, in a transition, so a library of 500 streams does not lay out its whole list
 * before Home can paint.
 */
export const FIRST_RENDER_STREAMS = 30;

function useWholeLists(): boolean {
  const [whole, setWhole] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => startTransition(() => setWhole(true)), 0);
    return () => clearTimeout(t);
  }, []);
  return whole;
}

interface StreamItemProps {
  s: StreamSummary;
  active: boolean;
  syncing: boolean;
  unread?: boolean;
  onOpen: (publicKey: string) => void;
}

/**
 * A row drawn again only when what it shows changed: every post that arrives refreshes the
 * timeline and the stream list (new objects, equal values), and redrawing 500 rows each time
 * held a new post's card back by a tenth of a second or more.
 */
const StreamItem = memo(
  StreamItemRow,
  (a: StreamItemProps, b: StreamItemProps) =>
    a.active === b.active && a.syncing === b.syncing && a.unread === b.unread && a.onOpen === b.onOpen && sameSummary(a.s, b.s),
);

function sameSummary(a: StreamSummary, b: StreamSummary): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function StreamItemRow({ s, active, syncing, unread = false, onOpen }: StreamItemProps) {
  const pendingName = useStreams((st) => st.pending[s.publicKey]?.name);
  const name = pendingName || s.name;
  return (
    <li>
      <a
        href="#"
        className={active ? 'stream-item active' : 'stream-item'}
        aria-current={active ? 'page' : undefined}
        onClick={(e) => {
          e.preventDefault();
          onOpen(s.publicKey);
        }}
      >
        <Avatar publicKey={s.publicKey} name={name || '?'} size={28} />
        <span className="stream-item-name" title={name || undefined}>
          {name || 'Fetching…'}
          {/* a stream of yours written here with a key of this computer's own (DESIGN §9) */}
          {!s.owned && s.device ? (
            <span className="stream-item-hint">{s.device === 'waiting' ? 'waiting to be added as a device' : 'on this computer as a device'}</span>
          ) : null}
        </span>
        <Lock access={s.private} size={13} />
        {unread ? (
          <span className="unread-dot" data-unread="">
            <span className="visually-hidden">, new posts</span>
          </span>
        ) : null}
        {syncing ? <span className="spinner" role="status" aria-label="Syncing" /> : null}
      </a>
      <StreamItemMenu s={s} name={name || 'Unnamed stream'} />
    </li>
  );
}

/** Shown only while sync is paused or LAN only (Settings → Sync, or the tray), so it is not forgotten. */
function SyncModeItem({ onClick }: { onClick: () => void }) {
  const mode = useSettings((st) => st.node?.syncMode);
  if (mode !== 'paused' && mode !== 'lan') return null;
  const label = mode === 'paused' ? 'Sync paused' : 'LAN only';
  const hint =
    mode === 'paused' ? 'Nothing is fetched until you turn sync back on. Open Settings.' : 'Syncing only with computers on this network. Open Settings.';
  return (
    <li>
      <a
        href="#"
        className="nav-item sync-mode-item"
        data-mode={mode}
        title={hint}
        onClick={(e) => {
          e.preventDefault();
          onClick();
        }}
      >
        <Icon name={mode === 'paused' ? 'alert' : 'nearby'} />
        <span className="nav-label" role="status">
          {label}
        </span>
      </a>
    </li>
  );
}

export function Sidebar({ route, mine, followed: all, syncing, nearbyCount, onNavigate, onFollow, onNewStream }: SidebarProps) {
  // streams held without being followed (app/node/hold.ts) are listed apart: their posts are not on Home
  const followed = all.filter((s) => !s.hold);
  const held = all.filter((s) => s.hold);
  const isStream = (pk: string) => route.name === 'stream' && route.publicKey === pk;
  const unread = useUnreadFollowed(followed, route);
  const whole = useWholeLists();
  // one callback for every row (App's onNavigate is new on each render), so rows can skip redrawing
  const navigateRef = useRef(onNavigate);
  navigateRef.current = onNavigate;
  const onOpen = useCallback((publicKey: string) => navigateRef.current({ name: 'stream', publicKey }), []);
  const shown = (list: StreamSummary[]) => (whole ? list : list.slice(0, FIRST_RENDER_STREAMS));
  return (
    <nav className="sidebar" aria-label="Main">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span className="brand-name">Drayer</span>
      </div>
      <ul className="nav">
        <NavItem icon="home" label="Home" active={route.name === 'home'} onClick={() => onNavigate({ name: 'home' })} />
        <NavItem icon="at" label="Mentions & replies" active={route.name === 'talk'} onClick={() => onNavigate({ name: 'talk' })} />
        <NavItem icon="search" label="Search" active={route.name === 'search'} onClick={() => onNavigate({ name: 'search', query: '' })} />
        <NavItem icon="nearby" label="Nearby" active={route.name === 'nearby'} onClick={() => onNavigate({ name: 'nearby' })} badge={nearbyCount} />
        <li className="nav-follow-narrow">
          <button type="button" className="nav-item" onClick={onFollow}>
            <Icon name="userPlus" />
            <span className="nav-label">Follow</span>
          </button>
        </li>
      </ul>
      <div className="sidebar-streams">
        <h2 className="section-label" id="mine-label">
          My streams
        </h2>
        <ul aria-labelledby="mine-label">
          {shown(mine).map((s) => (
            <StreamItem key={s.publicKey} s={s} active={isStream(s.publicKey)} syncing={false} onOpen={onOpen} />
          ))}
          <li>
            <button type="button" className="stream-item stream-add" onClick={onNewStream}>
              <span className="stream-add-icon">
                <Icon name="plus" size={16} />
              </span>
              <span className="stream-item-name">New stream</span>
            </button>
          </li>
        </ul>
        <h2 className="section-label" id="following-label">
          Following
        </h2>
        <ul aria-labelledby="following-label">
          {shown(followed).map((s) => (
            <StreamItem
              key={s.publicKey}
              s={s}
              active={isStream(s.publicKey)}
              syncing={syncing.has(s.publicKey)}
              unread={unread.has(s.publicKey)}
              onOpen={onOpen}
            />
          ))}
          <li>
            <button type="button" className="stream-item stream-add" onClick={onFollow}>
              <span className="stream-add-icon">
                <Icon name="userPlus" size={16} />
              </span>
              <span className="stream-item-name">Follow a stream</span>
            </button>
          </li>
        </ul>
        {held.length > 0 ? (
          <>
            <h2 className="section-label" id="held-label" title="Kept and shared here; their posts are not on Home">
              Held, not followed
            </h2>
            <ul aria-labelledby="held-label">
              {shown(held).map((s) => (
                <StreamItem key={s.publicKey} s={s} active={isStream(s.publicKey)} syncing={syncing.has(s.publicKey)} onOpen={onOpen} />
              ))}
            </ul>
          </>
        ) : null}
      </div>
      <ul className="nav nav-bottom">
        <SyncModeItem onClick={() => onNavigate({ name: 'settings' })} />
        <NavItem icon="settings" label="Settings" active={route.name === 'settings'} onClick={() => onNavigate({ name: 'settings' })} />
      </ul>
    </nav>
  );
}

/**
 * ⋯ beside each stream: what its page offers (share, settings, unfollow or edit profile), one
 * click from anywhere, so a stream whose page cannot be shown can still be left.
 */
function StreamItemMenu({ s, name }: { s: StreamSummary; name: string }) {
  const { navigate, openDialog, toast } = useUi.getState();
  const settings = () => {
    navigate({ name: 'stream', publicKey: s.publicKey });
    // the page's tools card holds the stream's settings: opened and brought into view once drawn
    let tries = 0;
    const find = () => {
      const tools = document.querySelector<HTMLDetailsElement>('#main details.tools');
      if (!tools) return void (tries++ < 20 && setTimeout(find, 50));
      tools.open = true;
      tools.scrollIntoView({ block: 'start' });
      tools.querySelector<HTMLElement>('summary')?.focus({ preventScroll: true });
    };
    setTimeout(find, 0);
  };
  const items = s.owned
    ? [
        { label: 'Share…', onSelect: () => openDialog({ kind: 'share', publicKey: s.publicKey }) },
        { label: 'Edit profile…', onSelect: () => openDialog({ kind: 'editProfile', publicKey: s.publicKey }) },
        { label: 'Stream settings', onSelect: settings },
      ]
    : [
        {
          label: 'Sync now',
          onSelect: () =>
            void useSync
              .getState()
              .syncByHand(s.publicKey)
              .then((o) => toast(o.text, o.ok ? 'info' : 'error')),
        },
        { label: 'Share…', onSelect: () => openDialog({ kind: 'share', publicKey: s.publicKey }) },
        { label: 'Stream settings', onSelect: settings },
        { label: 'Unfollow…', danger: true, onSelect: () => openDialog({ kind: 'unfollow', publicKey: s.publicKey }) },
      ];
  return (
    <div className="stream-item-menu">
      <Menu label={`Actions for ${name}`} items={items} />
    </div>
  );
}
