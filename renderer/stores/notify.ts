// Desktop notifications for new posts in followed streams, while the window is in the background:
// posts a refresh brings from elsewhere (behind the "new posts" pill, or shown at once in an empty
// timeline), when the node's notifications setting is on and
// the browser allows them. Clicking one opens the stream (a reply to you, a mention of you or a re-share of your post: the post).
import type { TimelineItem } from '../api/transport';
import { useSettings } from './settings';
import { isMineHere, useStreams } from './streams';
import { useTimeline } from './timeline';
import { useUi } from './ui';

export type Permission = 'granted' | 'denied' | 'default' | 'unsupported';

/**
 * The Permissions API's answer, kept current: some browsers (headless Chromium, embedded ones)
 * report `Notification.permission` as "denied" while notifications are in fact granted, and
 * `new Notification` works there. Granted by either means granted.
 */
let queried: PermissionState | null = null;
let watching = false;

function watchPermission(): void {
  if (watching || typeof navigator === 'undefined' || !navigator.permissions?.query) return;
  watching = true;
  navigator.permissions.query({ name: 'notifications' as PermissionName }).then(
    (status) => {
      queried = status.state;
      status.onchange = () => (queried = status.state);
    },
    () => {},
  );
}

export function notificationPermission(): Permission {
  if (typeof Notification === 'undefined') return 'unsupported';
  watchPermission();
  return Notification.permission !== 'granted' && queried === 'granted' ? 'granted' : Notification.permission;
}

export async function requestNotifications(): Promise<Permission> {
  if (typeof Notification === 'undefined') return 'unsupported';
  const now = notificationPermission();
  if (now !== 'default') return now;
  try {
    return await Notification.requestPermission();
  } catch {
    return notificationPermission();
  }
}

/** Yours here: owned, or written here as a device (one identity on several computers, DESIGN §9). */
function mineHere(pk: string): boolean {
  const s = useStreams.getState().byKey[pk];
  return !!s && isMineHere(s);
}

/** How a post from elsewhere concerns your streams, as a notification's title says it; null when it does not. */
export function aboutYou(p: TimelineItem): string | null {
  const mine = (pk: string | undefined) => !!pk && mineHere(pk);
  if (mine(p.replyTo?.streamKey)) return 'replied to you';
  if (mine(p.reshare?.streamKey)) return 're-shared your post';
  if (p.mentions?.some(mine)) return 'mentioned you';
  return null;
}

export function connectNotifications(): () => void {
  watchPermission();
  const seen = new Set<string>();
  return useTimeline.subscribe((st, prev) => {
    // Posts from elsewhere, whether held behind the pill or shown at once (a timeline that was empty).
    if (st.arrived === prev.arrived) return;
    const fresh = st.arrived.filter((id) => !seen.has(id));
    for (const id of st.arrived) seen.add(id);
    if (!fresh.length || !useSettings.getState().node?.notifications || notificationPermission() !== 'granted') return;
    if (document.visibilityState === 'visible' && document.hasFocus()) return;
    const items = fresh.map((id) => st.posts[id]!).filter((p) => p && !mineHere(p.streamKey));
    if (!items.length) return;
    const first = items[0]!;
    // a reply to one of your posts, a mention of one of your streams or a re-share of your post says so, and opens the post (issue 21)
    const toYou = items.length === 1 ? aboutYou(first) : null;
    const title = toYou ? `${first.streamName || 'Someone'} ${toYou}` : items.length === 1 ? first.streamName || 'New post' : `${items.length} new posts`;
    const n = new Notification(title, {
      body:
        items.length === 1
          ? (first.title || first.body).slice(0, 140)
          : items
              .map((p) => p.streamName)
              .filter((x, i, a) => a.indexOf(x) === i)
              .join(', '),
      tag: 'drayer-new-posts',
    });
    n.onclick = () => {
      window.focus();
      useUi.getState().navigate(toYou ? { name: 'post', publicKey: first.streamKey, key: first.key } : { name: 'stream', publicKey: first.streamKey });
      n.close();
    };
  });
}
