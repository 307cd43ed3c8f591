// The app shell: sidebar, main column, right rail and dialogs, or the first-run screen when this
// computer holds no stream yet (and the shell's skeleton until the first reads are in). Keyboard
// shortcuts live here.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { Sidebar } from './components/Sidebar';
import { ErrorBanner } from './components/States';
import { Icon } from './components/Icon';
import { BootShell } from './components/Skeleton';
import { Dialogs } from './screens/Dialogs';
import { FirstRun } from './screens/FirstRun';
import { Home } from './screens/Home';
import { Nearby } from './screens/Nearby';
import { RightRail } from './screens/RightRail';
import { SkeletonCards } from './components/States';
import { reloadAll } from './stores/events';
import { selectFollowedHere, selectMineHere, useStreams } from './stores/streams';
import { selectActive, useSync } from './stores/sync';
import { hashOf, useUi } from './stores/ui';
import { ErrorBoundary, ScreenError } from './components/ErrorBoundary';

// Home comes in the first bundle; the other screens load when first opened, or once the page is idle.
const loadStreamPage = () => import('./screens/StreamPage');
const loadPostView = () => import('./screens/PostView');
const loadSearch = () => import('./screens/Search');
const loadSettings = () => import('./screens/Settings');
const loadTalkNotes = () => import('./screens/TalkNotes');
const StreamPage = lazy(() => loadStreamPage().then((m) => ({ default: m.StreamPage })));
const PostView = lazy(() => loadPostView().then((m) => ({ default: m.PostView })));
const Search = lazy(() => loadSearch().then((m) => ({ default: m.Search })));
const Settings = lazy(() => loadSettings().then((m) => ({ default: m.Settings })));
const TalkNotes = lazy(() => loadTalkNotes().then((m) => ({ default: m.TalkNotes })));

/** A dialog that failed to render: closed, and said so. */
function DialogError() {
  useEffect(() => {
    useUi.getState().closeDialog();
    useUi.getState().toast('That window could not be shown: something in it is malformed.', 'error');
  }, []);
  return null;
}

/** What the event channel's state means to a person, and the one thing to do. */
const CONNECTION_BANNER = {
  lost: 'Live updates paused: reconnecting to Drayer…',
  gone: 'Drayer is not answering at this address. If it was restarted, it may be at a new one: open the link it printed (or run drayer ui-link).',
  signedOut: 'This tab is not signed in to Drayer. Open the link it printed (or run drayer ui-link).',
} as const;

function Toasts() {
  const { toasts, dismissToast } = useUi();
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.tone}`}>
          <span>{t.text}</span>
          {t.action ? (
            <button
              type="button"
              className="toast-action"
              onClick={() => {
                t.action!.run();
                dismissToast(t.id);
              }}
            >
              {t.action.label}
            </button>
          ) : null}
          <button type="button" className="icon-button icon-button-sm" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
            <Icon name="close" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

/**
 * Ctrl+R: on the page of a stream you follow, pull that stream (its page shows the progress);
 * anywhere else, every stream. A toast says how it went.
 */
async function syncShortcut(): Promise<void> {
  const route = useUi.getState().route;
  const s = route.name === 'stream' ? useStreams.getState().byKey[route.publicKey] : undefined;
  const key = s && !s.owned ? s.publicKey : undefined;
  if (useSync.getState().manual[key ?? '']?.busy) return;
  const outcome = await useSync.getState().syncByHand(key);
  useUi.getState().toast(outcome.text, outcome.ok ? 'info' : 'error');
}

function useShortcuts() {
  const { navigate } = useUi();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod || e.altKey) return;
      // Ctrl+R is "sync now", never a reload that would lose what is typed (Shift+Ctrl+R still reloads).
      if (e.key === 'r' && !e.shiftKey) e.preventDefault();
      if (useUi.getState().dialog) return;
      if (e.key === 'r' && !e.shiftKey) {
        if (!e.repeat) void syncShortcut();
      } else if (e.key === 'k') {
        e.preventDefault();
        navigate({ name: 'search', query: '' });
      } else if (e.key === ',') {
        e.preventDefault();
        navigate({ name: 'settings' });
      } else if (e.key === 'n') {
        e.preventDefault();
        navigate({ name: 'home' });
        setTimeout(() => document.getElementById('composer-body')?.focus(), 0);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate]);
}

export function App() {
  const route = useUi((s) => s.route);
  const connection = useUi((s) => s.connection);
  const dialog = useUi((s) => s.dialog);
  const { navigate, openDialog } = useUi();
  const { loaded, error } = useStreams(useShallow((s) => ({ loaded: s.loaded, error: s.error })));
  const mine = useStreams(useShallow(selectMineHere));
  const followed = useStreams(useShallow(selectFollowedHere));
  const nearbyCount = useStreams((s) => s.nearby.filter((n) => !n.following).length);
  const active = useSync(useShallow(selectActive));
  const syncing = useMemo(() => new Set(active.map((p) => p.publicKey)), [active]);
  const [welcomeDone, setWelcomeDone] = useState(false);
  useShortcuts();

  // Not while Home's first page is drawn: a while after, when the page is idle.
  useEffect(() => {
    let idle = 0;
    const t = setTimeout(() => {
      idle = requestIdleCallback(() => void Promise.all([loadStreamPage(), loadPostView(), loadSearch(), loadSettings(), loadTalkNotes()]).catch(() => {}), {
        timeout: 3000,
      });
    }, 2000);
    return () => (clearTimeout(t), cancelIdleCallback(idle));
  }, []);

  useEffect(() => {
    const onPop = () => useUi.getState().syncFromLocation();
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  // A new page starts at its top (another stream's page is a new page too).
  const page = route.name === 'stream' ? `stream:${route.publicKey}` : route.name;
  useEffect(() => {
    window.scrollTo({ top: 0 });
  }, [page]);

  if (!loaded) return <BootShell />;
  if (error && mine.length + followed.length === 0) {
    return (
      <main className="welcome">
        <div className="welcome-card card">
          <h1>{connection === 'signedOut' ? 'This tab is not signed in' : 'Drayer is not reachable'}</h1>
          <ErrorBanner text={error} onRetry={() => void reloadAll()} />
        </div>
      </main>
    );
  }
  const firstRun = (mine.length + followed.length === 0 && !welcomeDone) || route.name === 'welcome';
  if (firstRun) {
    return (
      <>
        <FirstRun
          onDone={() => {
            setWelcomeDone(true);
            navigate({ name: 'home' }, { replace: true });
          }}
        />
        <Dialogs />
        <Toasts />
      </>
    );
  }

  let screen;
  switch (route.name) {
    case 'stream':
      screen = <StreamPage key={route.publicKey} publicKey={route.publicKey} tab={route.tab} />;
      break;
    case 'post':
      screen = <PostView key={`${route.publicKey}/${route.key}`} publicKey={route.publicKey} postKey={route.key} />;
      break;
    case 'search':
      screen = <Search initial={route.query} />;
      break;
    case 'nearby':
      screen = <Nearby />;
      break;
    case 'talk':
      screen = <TalkNotes />;
      break;
    case 'settings':
      screen = <Settings />;
      break;
    default:
      screen = <Home />;
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar
        route={route}
        mine={mine}
        followed={followed}
        syncing={syncing}
        nearbyCount={nearbyCount}
        onNavigate={(r) => navigate(r)}
        onFollow={() => openDialog({ kind: 'follow' })}
        onNewStream={() => openDialog({ kind: 'newStream' })}
      />
      <main id="main" className="main" tabIndex={-1}>
        {connection === 'lost' || connection === 'gone' || connection === 'signedOut' ? (
          <div className="banner banner-warn" role="status">
            {CONNECTION_BANNER[connection]}
          </div>
        ) : null}
        {/* one screen that fails to render shows a note; the sidebar and the rest keep working */}
        <ErrorBoundary resetKey={hashOf(route)} fallback={(_, retry) => <ScreenError retry={retry} />}>
          <Suspense fallback={<SkeletonCards />}>{screen}</Suspense>
        </ErrorBoundary>
      </main>
      <RightRail />
      <ErrorBoundary resetKey={dialog} fallback={() => <DialogError />}>
        <Dialogs />
      </ErrorBoundary>
      <Toasts />
    </div>
  );
}
