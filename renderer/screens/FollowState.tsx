// On a followed stream's page, the one place its sync shows in full: a big pull's progress (bytes,
// time left, Cancel), a pull the user stopped (Resume), a failure in plain words (Details, Try
// again, another address), or, when nothing has arrived, why and what to do. The header's status
// line stays compact beside it.
import { useState } from 'react';
import type { StreamDetails, StreamSummary } from '../api/transport';
import { Icon } from '../components/Icon';
import { Problem } from '../components/Problem';
import { SyncProgress } from '../components/SyncProgress';
import { codeOf, explainFollowError, explainSyncError, messageOf, type Explained } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { syncView, useSync, type Progress } from '../stores/sync';
import { useUi } from '../stores/ui';
import { formatBytes, peerLabel } from '../lib/progress';
import { formatCount } from '../lib/time';

/** A pull worth a card: a first clone, or one bringing more than a glance's worth. */
export function bigPull(p: Progress, records: number): boolean {
  const left = (p.recordsTotal ?? 0) - p.records;
  return records === 0 || left > 20 || !!p.chunksTotal || (p.sizeTotal ?? 0) - (p.size ?? 0) > 1_000_000;
}

function SourceForm({ publicKey, onSynced }: { publicKey: string; onSynced: () => void }) {
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Explained | null>(null);
  const submit = async () => {
    if (!url.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      const clean = /^https?:\/\//i.test(url.trim()) ? url.trim() : `http://${url.trim()}`;
      await useStreams.getState().setSources(publicKey, [clean]);
      const reports = await useSync.getState().syncNow(publicKey);
      const bad = reports.find((r) => r.error || r.skipped);
      if (bad && !reports.some((r) => !r.error && !r.skipped))
        setError(
          bad.error ? explainSyncError(bad.error) : { text: bad.skipped!, advice: 'Change it in Settings, or give an address on this network.', detail: '' },
        );
      else onSynced();
    } catch (e) {
      setError(explainFollowError(codeOf(e), messageOf(e)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="source-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label className="visually-hidden" htmlFor={`source-${publicKey}`}>
        Address to fetch it from
      </label>
      <input
        id={`source-${publicKey}`}
        className="input mono"
        value={url}
        onChange={(e) => {
          setUrl(e.target.value);
          setError(null);
        }}
        placeholder="192.168.1.20:15723"
        spellCheck={false}
        inputMode="url"
        disabled={busy}
      />
      <button type="submit" className="button" disabled={!url.trim() || busy}>
        {busy ? 'Trying…' : 'Fetch from here'}
      </button>
      {error ? <Problem e={error} className="source-form-error" /> : null}
    </form>
  );
}

export function FollowState({ s, name }: { s: StreamSummary & Partial<StreamDetails>; name: string }) {
  const progress = useSync((st) => st.progress[s.publicKey]);
  const lastOk = useSync((st) => st.lastOk);
  const manual = useSync((st) => st.manual);
  const pending = useStreams((st) => !!st.pending[s.publicKey]);
  const heardNearby = useStreams((st) => st.nearby.some((n) => n.publicKey === s.publicKey));
  const toast = useUi((st) => st.toast);
  const retrying = !!manual[s.publicKey]?.busy;
  if (s.owned) return null;
  const view = syncView({ progress: progress ? { [s.publicKey]: progress } : {}, lastOk, manual }, s.publicKey, s);
  const retry = async () => {
    const outcome = await useSync.getState().syncByHand(s.publicKey);
    if (!outcome.ok) toast(outcome.text, 'error');
  };
  const cancel = () => void useSync.getState().cancel(s.publicKey);

  if (view.kind === 'active') {
    const p = view.p;
    // Every sync reports progress; a card only for one that brings a lot (a first clone, a big file).
    if (!(pending || bigPull(p, s.records))) return null;
    return (
      <section className="card follow-state" aria-label="Sync progress">
        <SyncProgress
          p={p}
          label={`Fetching ${name}`}
          onCancel={cancel}
          cancelLabel={`Cancel fetching ${name}`}
          head={
            <>
              Fetching {name} from <span className="mono">{peerLabel(p.peer)}</span>
            </>
          }
        />
        <p className="follow-state-hint">Posts show up here as they arrive. You can leave this page; it carries on. Cancel keeps what arrived.</p>
      </section>
    );
  }
  if (pending) {
    return (
      <section className="card follow-state" aria-label="Sync progress">
        <SyncProgress
          p={{ publicKey: s.publicKey, peer: '', records: 0, bytes: 0, done: false, at: 0 }}
          label={`Connecting for ${name}`}
          head={`Fetching ${name}`}
          line="Connecting…"
          onCancel={cancel}
          cancelLabel={`Cancel fetching ${name}`}
        />
      </section>
    );
  }
  if (view.kind === 'stopped') {
    const got = s.records > 0;
    const amount = progress?.cancelled && progress.sizeTotal ? `${formatBytes(progress.size ?? 0)} of ${formatBytes(progress.sizeTotal)}` : null;
    const posts = `${formatCount(s.posts)} ${s.posts === 1 ? 'post' : 'posts'}`;
    return (
      <section className="card follow-state" aria-label="Sync stopped">
        <div className="follow-state-title">
          <Icon name="sync" size={18} /> {got ? `You stopped fetching ${name}` : `You stopped fetching ${name} before anything arrived`}
        </div>
        <p>
          {got
            ? `What arrived is kept: ${amount ? `${amount}, ` : ''}${posts} to read. Drayer fetches nothing more of it until you resume.`
            : 'Resume to fetch it, or unfollow it if you changed your mind.'}
        </p>
        <div className="follow-state-actions">
          <button type="button" className="button button-primary" onClick={() => void retry()} disabled={retrying}>
            <Icon name="sync" size={16} className={retrying ? 'spin' : undefined} /> {retrying ? 'Resuming…' : 'Resume'}
          </button>
        </div>
      </section>
    );
  }
  if (view.kind === 'failed') {
    const e = explainSyncError(view.error);
    const again = (
      <button type="button" className="button button-primary button-sm" onClick={() => void retry()} disabled={retrying}>
        <Icon name="sync" size={16} className={retrying ? 'spin' : undefined} /> {retrying ? 'Trying…' : 'Try again'}
      </button>
    );
    if (s.records > 0) {
      return (
        <section className="follow-state-banner" aria-label="Sync problem">
          <Problem e={{ ...e, advice: `${e.advice} What is here stays readable.` }} actions={again} />
        </section>
      );
    }
    return (
      <section className="card follow-state follow-state-error" aria-label="Nothing arrived">
        <Problem e={e} actions={again} />
        <p className="follow-state-or">Or fetch it from another address:</p>
        <SourceForm publicKey={s.publicKey} onSynced={() => toast('Fetched')} />
      </section>
    );
  }
  if (s.records > 0) return null;
  return (
    <section className="card follow-state" aria-label="Waiting for this stream">
      <div className="follow-state-title">
        <Icon name="nearby" size={18} /> Waiting for {name}
      </div>
      <p>
        {heardNearby
          ? 'A computer nearby has it: it arrives in a moment.'
          : 'No computer on this network has shared it yet, and no address was given. It arrives by itself when its author, or anyone who follows it, opens Drayer on this network. Or give an address to fetch it from:'}
      </p>
      {heardNearby ? null : <SourceForm publicKey={s.publicKey} onSynced={() => toast('Fetched')} />}
    </section>
  );
}
