// On a followed stream's page: the first clone's progress with its totals, or, when nothing has
// arrived, why (the computer it comes from cannot be reached, or no one has shared it yet) and
// what to do about it.
import { useState } from 'react';
import type { StreamSummary } from '../api/transport';
import { Icon } from '../components/Icon';
import { SyncProgress } from '../components/SyncProgress';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useSync } from '../stores/sync';
import { useUi } from '../stores/ui';
import { cleanSyncError, peerLabel } from '../lib/progress';

function SourceForm({ publicKey, onSynced }: { publicKey: string; onSynced: () => void }) {
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!url.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      const clean = /^https?:\/\//i.test(url.trim()) ? url.trim() : `http://${url.trim()}`;
      await useStreams.getState().setSources(publicKey, [clean]);
      const reports = await useSync.getState().syncNow(publicKey);
      const bad = reports.find((r) => r.error || r.skipped);
      if (bad && !reports.some((r) => !r.error && !r.skipped)) setError(bad.error ?? bad.skipped!);
      else onSynced();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="source-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <label className="visually-hidden" htmlFor={`source-${publicKey}`}>Address to fetch it from</label>
      <input id={`source-${publicKey}`} className="input mono" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="192.168.1.20:15723" spellCheck={false} inputMode="url" disabled={busy} />
      <button type="submit" className="button" disabled={!url.trim() || busy}>{busy ? 'Trying…' : 'Fetch from here'}</button>
      {error ? <p className="form-error" role="alert">{error}</p> : null}
    </form>
  );
}

export function FollowState({ s, name }: { s: StreamSummary; name: string }) {
  const progress = useSync((st) => st.progress[s.publicKey]);
  const pending = useStreams((st) => !!st.pending[s.publicKey]);
  const heardNearby = useStreams((st) => st.nearby.some((n) => n.publicKey === s.publicKey));
  const toast = useUi((st) => st.toast);
  const [retrying, setRetrying] = useState(false);
  if (s.owned) return null;
  const active = progress && !progress.done;
  const retry = async () => {
    setRetrying(true);
    try {
      const reports = await useSync.getState().syncNow(s.publicKey);
      if (reports.length > 0 && reports.every((r) => r.skipped)) toast(reports[0]!.skipped!, 'error');
      else if (reports.length > 0 && reports.every((r) => r.error || r.skipped)) toast(`Still cannot reach ${peerLabel(reports[0]!.peer)}.`, 'error');
    } catch (e) {
      toast(messageOf(e), 'error');
    } finally {
      setRetrying(false);
    }
  };

  if (active) {
    // Every sync reports progress; a card only for one that brings a lot (a first clone, a big catch-up).
    const left = (progress.recordsTotal ?? 0) - progress.records;
    if (!(pending || s.records === 0 || left > 20 || progress.chunksTotal)) return null;
    return (
      <section className="card follow-state" aria-label="Sync progress">
        <SyncProgress p={progress} label={`Fetching ${name}`} head={<>Fetching {name} from <span className="mono">{peerLabel(progress.peer)}</span></>} />
        <p className="follow-state-hint">Posts show up here as they arrive. You can leave this page; it carries on.</p>
      </section>
    );
  }
  if (s.records > 0) return null;
  if (pending) {
    return (
      <section className="card follow-state" aria-label="Sync progress">
        <SyncProgress p={{ publicKey: s.publicKey, peer: '', records: 0, bytes: 0, done: false, at: 0 }} label={`Connecting for ${name}`} head={`Fetching ${name}`} line="Connecting…" />
      </section>
    );
  }
  if (progress?.error) {
    return (
      <section className="card follow-state follow-state-error" role="alert" aria-label="Nothing arrived">
        <div className="follow-state-title"><Icon name="alert" size={18} /> Could not reach {peerLabel(progress.peer)}</div>
        <p>The computer this stream comes from may be off, asleep or on another network. Drayer keeps trying by itself; you can also try now, or give another address.</p>
        <p className="follow-state-detail">{cleanSyncError(progress.error)}</p>
        <div className="follow-state-actions">
          <button type="button" className="button button-primary" onClick={() => void retry()} disabled={retrying}>
            <Icon name="sync" size={16} className={retrying ? 'spin' : undefined} /> {retrying ? 'Trying…' : 'Try again'}
          </button>
        </div>
        <p className="follow-state-or">Or fetch it from another address:</p>
        <SourceForm publicKey={s.publicKey} onSynced={() => toast('Fetched')} />
      </section>
    );
  }
  return (
    <section className="card follow-state" aria-label="Waiting for this stream">
      <div className="follow-state-title"><Icon name="nearby" size={18} /> Waiting for {name}</div>
      <p>
        {heardNearby
          ? 'A computer nearby has it: it arrives in a moment.'
          : 'No computer on this network has shared it yet, and no address was given. It arrives by itself when its author, or anyone who follows it, opens Drayer on this network. Or give an address to fetch it from:'}
      </p>
      {heardNearby ? null : <SourceForm publicKey={s.publicKey} onSynced={() => toast('Fetched')} />}
    </section>
  );
}
