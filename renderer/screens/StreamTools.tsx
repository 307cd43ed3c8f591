// The stream page's status and tools: the one status line ("Synced 2 min ago · 128 posts · 8 files
// · 180 kB", and what a partial copy keeps) with "Sync now" and its progress, primary servers
// (editable on your own streams), key backup, export and verify.
import { useState } from 'react';
import type { SourceKind, StreamDetails, StreamSummary } from '../api/transport';
import { Icon } from '../components/Icon';
import { agoSentence, formatCount } from '../lib/time';
import { formatBytes } from '../lib/progress';
import { userFiles } from '../lib/files';
import { messageOf } from '../stores/errors';
import { serverProblem, useStreamTools } from '../stores/streamTools';
import { syncView, useSync } from '../stores/sync';
import { useUi } from '../stores/ui';
import { useSettings } from '../stores/settings';
import { useStreams } from '../stores/streams';

const host = (u: string) => u.replace(/^https?:\/\//, '').replace(/\/+$/, '');

/** What a partial copy keeps, in a person's words; null for a full copy. */
function partialText(s: StreamSummary): string | null {
  if (s.partial.metaOnly) return 'Titles only';
  if (s.partial.latest) return `Latest ${formatCount(s.partial.latest)} posts and files`;
  if (s.partial.minId > 0 || s.partial.minMod > 0) return 'Latest posts and files only';
  return null;
}

/** Where the last records came from, in a person's words (the address itself is on hover). */
export const VIA_WORDS: Record<SourceKind, string> = {
  primary: 'from a primary server',
  given: 'from the address you gave',
  lan: 'from a nearby computer',
  dht: 'from a computer found on the internet',
};

const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** "128 posts · 8 files · 180 kB": what people count in a stream (never records). */
export function streamCounts(s: StreamSummary & Partial<StreamDetails>): string[] {
  const files = s.files ? userFiles(s.files).length : 0;
  return [plural(s.posts, 'post', 'posts'), ...(files ? [plural(files, 'file', 'files')] : []), ...(s.bytes ? [formatBytes(s.bytes)] : [])];
}

/** The sync line of a stream's header, and for a copy of someone else's, Sync now with its progress. */
export function SyncStatus({ s }: { s: StreamSummary & Partial<StreamDetails> }) {
  const progress = useSync((st) => st.progress[s.publicKey]);
  const liveOk = useSync((st) => st.lastOk[s.publicKey]);
  const toast = useUi((st) => st.toast);
  // The button and Ctrl+R (App's shortcuts) both go through the store, so either shows here.
  const manual = useSync((st) => st.manual[s.publicKey]);
  const syncing = !!manual?.busy;
  const counts = streamCounts(s);
  if (s.owned) {
    return <p className="profile-sync">{['Your stream', ...counts].join(' · ')}</p>;
  }
  const active = (progress && !progress.done) || syncing;
  const ok = liveOk && (!s.lastOk || liveOk.at >= s.lastOk.at) ? liveOk : (s.lastOk ?? null);
  // Its progress, a stop and failures show in full once, below the header (FollowState); here a word.
  const stopped =
    syncView({ progress: progress ? { [s.publicKey]: progress } : {}, lastOk: liveOk ? { [s.publicKey]: liveOk } : {}, manual: {} }, s.publicKey, s).kind ===
    'stopped';
  const partial = partialText(s);
  const line = [
    stopped
      ? 'Sync stopped'
      : ok
        ? `${s.incomplete ? 'Partly synced' : 'Synced'} ${agoSentence(ok.at)}${ok.via ? ` ${VIA_WORDS[ok.via]}` : ''}`
        : active
          ? 'Fetching…'
          : 'Not synced yet',
    ...counts,
    ...(partial ? [partial] : []),
  ].join(' · ');
  // Where from is there on hover, not in the line: a host and port means little to most people.
  const from = ok ? `Last synced from ${host(ok.peer)}` : s.sources[0] ? `Syncs from ${host(s.sources[0])}` : undefined;

  const syncNow = async () => {
    const outcome = await useSync.getState().syncByHand(s.publicKey);
    if (outcome.ok) toast(outcome.text);
  };
  return (
    <div className="sync-status">
      <div className="sync-status-row">
        <p className="profile-sync" title={from}>
          {line}
        </p>
        <button type="button" className="button button-sm" onClick={() => void syncNow()} disabled={syncing} aria-keyshortcuts="Control+R">
          <Icon name="sync" size={14} className={active ? 'spin' : undefined} /> {active ? 'Syncing…' : 'Sync now'}
        </button>
      </div>
    </div>
  );
}

function ServersEditor({ d }: { d: StreamDetails }) {
  const [url, setUrl] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const urls = d.primaryServers.map((p) => p.url);
  const save = async (next: string[]) => {
    setBusy(true);
    try {
      await useStreamTools.getState().setServers(d.publicKey, next);
      return true;
    } catch (e) {
      setProblem(messageOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="servers">
      {urls.length ? (
        <ul className="server-list" aria-label="Primary servers">
          {urls.map((u) => (
            <li key={u} className="server-row">
              <Icon name="server" size={16} />
              <span className="mono server-url">{u}</span>
              {d.owned ? (
                <button
                  type="button"
                  className="icon-button icon-button-sm"
                  aria-label={`Remove ${u}`}
                  disabled={busy}
                  onClick={() => void save(urls.filter((x) => x !== u))}
                >
                  <Icon name="close" size={14} />
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        <p className="setting-hint">{d.owned ? 'None yet.' : 'The author names none.'}</p>
      )}
      {d.owned ? (
        <form
          className="server-add"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const p = serverProblem(url, urls);
            setProblem(p);
            if (p) return;
            void save([...urls, url.trim()]).then((saved) => {
              if (saved) setUrl('');
            });
          }}
        >
          <div className="inline-form">
            <label className="visually-hidden" htmlFor="server-url">
              Server address
            </label>
            <input
              id="server-url"
              className="input mono"
              value={url}
              placeholder="Add a server, like https://mirror.example.org"
              spellCheck={false}
              inputMode="url"
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? 'server-error' : undefined}
              onChange={(e) => {
                setUrl(e.target.value);
                setProblem(null);
              }}
            />
            <button type="submit" className="button" disabled={busy}>
              Add
            </button>
          </div>
          {problem ? (
            <span className="field-error" id="server-error" role="alert">
              {problem}
            </span>
          ) : null}
        </form>
      ) : null}
    </div>
  );
}

/** "Findable on the internet": this stream announced on the DHT, with what that tells the world. */
function FindableRow({ d }: { d: StreamDetails }) {
  const setFindable = useStreams((s) => s.setFindable);
  const reach = useSettings((s) => s.node?.dht);
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState(false);
  return (
    <div className="tool-row">
      <div className="setting-text">
        <label htmlFor="stream-findable" className="setting-label">
          Findable on the internet
        </label>
        <p className="setting-hint" id="stream-findable-hint">
          Anyone who has this stream's key can find this computer's address in the public BitTorrent DHT and fetch the stream from it.
          {reach === false ? ' It takes effect while "Reach beyond this network" is on in Settings.' : ''}
        </p>
      </div>
      <input
        id="stream-findable"
        type="checkbox"
        role="switch"
        className="switch"
        checked={d.dht}
        disabled={busy}
        aria-describedby="stream-findable-hint"
        onChange={(e) => {
          const on = e.target.checked;
          setBusy(true);
          setFindable(d.publicKey, on)
            .catch((err: unknown) => toast(messageOf(err), 'error'))
            .finally(() => setBusy(false));
        }}
      />
    </div>
  );
}

/** "Announce privately": this stream announced on the LAN only sealed, with what that hides. */
function PrivateRow({ d }: { d: StreamDetails }) {
  const setPrivately = useStreams((s) => s.setAnnouncePrivately);
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState(false);
  return (
    <div className="tool-row">
      <div className="setting-text">
        <label htmlFor="stream-private" className="setting-label">
          Announce privately
        </label>
        <p className="setting-hint" id="stream-private-hint">
          Only computers that already have this stream's key can tell it is here: others on this network no longer see its name, key or posts, nor find it in
          Nearby or this computer's list.
        </p>
      </div>
      <input
        id="stream-private"
        type="checkbox"
        role="switch"
        className="switch"
        checked={d.announcePrivately}
        disabled={busy}
        aria-describedby="stream-private-hint"
        onChange={(e) => {
          const on = e.target.checked;
          setBusy(true);
          setPrivately(d.publicKey, on)
            .catch((err: unknown) => toast(messageOf(err), 'error'))
            .finally(() => setBusy(false));
        }}
      />
    </div>
  );
}

/** "Compatible with the original Drayer": new posts and files written in its shape, so its apps show them. */
function CompatibleRow({ d }: { d: StreamDetails }) {
  const setCompatible = useStreams((s) => s.setCompatible);
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState(false);
  return (
    <div className="tool-row">
      <div className="setting-text">
        <label htmlFor="stream-compatible" className="setting-label">
          Compatible with the original Drayer
        </label>
        <p className="setting-hint" id="stream-compatible-hint">
          New posts are written the way the original Drayer's apps read them: titled by their title, as plain text; new files up to 7.9 MiB are kept whole, so
          the original can serve them. What was written before stays as it is.
        </p>
      </div>
      <input
        id="stream-compatible"
        type="checkbox"
        role="switch"
        className="switch"
        checked={d.compatible === true}
        disabled={busy}
        aria-describedby="stream-compatible-hint"
        onChange={(e) => {
          const on = e.target.checked;
          setBusy(true);
          setCompatible(d.publicKey, on)
            .catch((err: unknown) => toast(messageOf(err), 'error'))
            .finally(() => setBusy(false));
        }}
      />
    </div>
  );
}

/** The card of tools under a stream's header, folded until opened. */
export function StreamToolsCard({ d }: { d: StreamDetails }) {
  const openDialog = useUi((s) => s.openDialog);
  return (
    <details className="card tools">
      <summary className="tools-summary">
        <Icon name="settings" size={18} />
        <span className="tools-title">Stream file, servers{d.owned ? ' and key' : ''}</span>
        <span className="tools-sub">{d.primaryServers.length ? `${d.primaryServers.length} ${d.primaryServers.length === 1 ? 'server' : 'servers'}` : ''}</span>
      </summary>
      <div className="tool-row tool-row-top">
        <div className="setting-text">
          <span className="setting-label">Primary servers</span>
          <p className="setting-hint">
            {d.owned
              ? 'Always-on mirrors you name in the stream itself: followers sync from them when you are away.'
              : 'Always-on mirrors the author names: this copy syncs from them too.'}
          </p>
        </div>
      </div>
      <ServersEditor d={d} />
      <PrivateRow d={d} />
      <FindableRow d={d} />
      {d.owned && !d.private ? <CompatibleRow d={d} /> : null}
      {d.owned ? (
        <div className="tool-row">
          <div className="setting-text">
            <span className="setting-label">Secret key</span>
            <p className="setting-hint">
              Back it up as {d.private ? 64 : 32} words, to restore this stream on another computer{d.private ? ', its read key with it' : ''}.
            </p>
          </div>
          <button type="button" className="button" onClick={() => openDialog({ kind: 'keyBackup', publicKey: d.publicKey })}>
            <Icon name="shield" size={16} /> Back up key
          </button>
        </div>
      ) : null}
      <div className="tool-row">
        <div className="setting-text">
          <span className="setting-label">Stream file</span>
          <p className="setting-hint mono" title={d.path}>
            {d.path}
          </p>
        </div>
        <div className="tool-actions">
          <button type="button" className="button" onClick={() => openDialog({ kind: 'verify', publicKey: d.publicKey })}>
            <Icon name="check" size={16} /> Verify
          </button>
          <button type="button" className="button" onClick={() => openDialog({ kind: 'exportStream', publicKey: d.publicKey })}>
            <Icon name="download" size={16} /> Export
          </button>
        </div>
      </div>
    </details>
  );
}
