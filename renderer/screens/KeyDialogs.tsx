// Dialogs of the key and stream-file journeys: back up a key, restore a stream from its words,
// open a stream file, export a copy, verify. Each keeps what was typed when a request fails.
import { useEffect, useState } from 'react';
import type { WordsCheck } from '../../app/node/api';
import { Dialog, FormError } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { KeyBackupFlow } from '../components/KeyBackupFlow';
import { formatCount } from '../lib/time';
import { formatBytes } from '../lib/progress';
import { useStreams } from '../stores/streams';
import { exportDownloadUrl, useStreamTools } from '../stores/streamTools';
import { useSettings } from '../stores/settings';
import { useSync } from '../stores/sync';
import { useUi, type Dialog as DialogState } from '../stores/ui';
import { useSubmit } from '../lib/useSubmit';
import { codeOf, messageOf } from '../stores/errors';
import { KeyVerifyDialog } from './KeyVerify';
import { streamCounts } from './StreamTools';

function KeyBackupDialog({ publicKey }: { publicKey: string }) {
  const { closeDialog } = useUi();
  return (
    <Dialog title="Back up your key" size="lg" onClose={closeDialog}>
      <KeyBackupFlow publicKey={publicKey} onDone={closeDialog} onSkip={closeDialog} skipLabel="Later" />
    </Dialog>
  );
}

export function RestoreForm({ onRestored, onCancel }: { onRestored: (publicKey: string) => void; onCancel: () => void }) {
  const [words, setWords] = useState('');
  const [url, setUrl] = useState('');
  const [check, setCheck] = useState<WordsCheck | null>(null);
  useEffect(() => {
    setCheck(null);
    if (
      words
        .trim()
        .split(/[^A-Za-z0-9+/=]+/)
        .filter(Boolean).length < 32 &&
      words.trim().length < 40
    )
      return;
    const t = setTimeout(
      () =>
        void useStreamTools
          .getState()
          .checkWords(words)
          .then(setCheck, () => setCheck(null)),
      250,
    );
    return () => clearTimeout(t);
  }, [words]);
  const { busy, error, run } = useSubmit(
    () => useStreamTools.getState().restore(words, url),
    (s) => onRestored(s.publicKey),
    [words, url],
  );
  return (
    <form
      id="restore-form"
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p className="backup-lead">
        Type or paste the words of your backup (32, or 64 for a private stream), in order. Spaces, commas or new lines between them are all fine.
      </p>
      <label className="field">
        <span className="field-label">Backup words</span>
        <textarea
          className="input mono"
          rows={4}
          value={words}
          onChange={(e) => setWords(e.target.value)}
          spellCheck={false}
          autoComplete="off"
          autoFocus
          placeholder="aardvark adroitness absurd adviser …"
        />
      </label>
      {check ? (
        <p className="check-line" role="status">
          <Icon name="key" size={16} />
          <span>
            {check.held === 'owned' ? (
              <>
                These are the words of <strong>{check.name}</strong>, already yours on this computer.
              </>
            ) : check.held === 'mirror' ? (
              <>
                These are the words of <strong>{check.name || 'a stream'}</strong>, which you follow here: restoring makes it yours to write.
              </>
            ) : (
              <>
                A stream with the fingerprint <span className="mono">{check.fingerprint.split(' ').slice(0, 4).join(' ')}…</span>
              </>
            )}
          </span>
        </p>
      ) : null}
      {check?.held !== 'mirror' ? (
        <label className="field">
          <span className="field-label">
            Fetch it from <span className="field-optional">optional</span>
          </span>
          <input
            className="input mono"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="http://192.168.1.20:15723"
            spellCheck={false}
            inputMode="url"
          />
          <span className="field-hint">
            The address of a computer or mirror that holds the stream: your old computer, a follower, a server. Computers nearby are asked by themselves.
          </span>
        </label>
      ) : null}
      {busy ? (
        <div className="progress" role="status">
          <div className="progress-bar progress-indeterminate">
            <span />
          </div>
          <span>Fetching your stream…</span>
        </div>
      ) : null}
      <FormError text={error} />
      <div className="form-actions">
        <button type="button" className="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={!words.trim() || busy || check?.held === 'owned'}>
          {busy ? 'Restoring…' : 'Restore'}
        </button>
      </div>
    </form>
  );
}

function RestoreDialog() {
  const { closeDialog, navigate, toast } = useUi();
  return (
    <Dialog title="Restore from backup words" onClose={closeDialog}>
      <RestoreForm
        onCancel={closeDialog}
        onRestored={(pk) => {
          closeDialog();
          toast('Stream restored: it is yours to write here');
          navigate({ name: 'stream', publicKey: pk });
        }}
      />
    </Dialog>
  );
}

export function OpenFileForm({ onOpened, onCancel }: { onOpened: (publicKey: string, owned: boolean) => void; onCancel: () => void }) {
  const [path, setPath] = useState('');
  // a file of the original Drayer: what importing it does, said before it is done
  const [offer, setOffer] = useState<string | null>(null);
  useEffect(() => setOffer(null), [path]);
  const dataDir = useSettings((st) => st.status?.dataDir ?? null);
  const { busy, error, run } = useSubmit(
    async () => {
      try {
        return await useStreamTools.getState().openFile(path.trim(), offer !== null);
      } catch (e) {
        if (offer === null && codeOf(e) === 'ORIGINAL_FILE') {
          setOffer(messageOf(e));
          return null;
        }
        throw e;
      }
    },
    (s) => {
      if (s) onOpened(s.publicKey, s.owned);
    },
    [path],
  );
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p className="backup-lead">
        A stream is one file, <span className="mono">NAME.stream</span>. Give its path on the computer running Drayer. With its key file (
        <span className="mono">NAME.stream.privatekey</span>) beside it, it is yours to write; without, it opens as a read-only copy that keeps syncing.
      </p>
      <label className="field">
        <span className="field-label">Path of the stream file</span>
        <input
          className="input mono"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder={`${dataDir ?? '/home/you'}/notes.stream`}
          spellCheck={false}
          autoComplete="off"
          autoFocus
        />
        <span className="field-hint">The file stays where it is, so keep it there (a file on a USB stick is read while the stick is in).</span>
      </label>
      {offer ? (
        <div className="banner banner-warn original-offer" role="status" aria-label="An original Drayer file">
          <Icon name="file" size={16} />
          <span>{offer}</span>
        </div>
      ) : null}
      <FormError text={error} />
      <div className="form-actions">
        <button type="button" className="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={!path.trim() || busy}>
          {offer ? (busy ? 'Importing…' : 'Import and open') : busy ? 'Opening…' : 'Open'}
        </button>
      </div>
    </form>
  );
}

function OpenFileDialog() {
  const { closeDialog, navigate, toast } = useUi();
  return (
    <Dialog title="Open a stream file" onClose={closeDialog}>
      <OpenFileForm
        onCancel={closeDialog}
        onOpened={(pk, owned) => {
          closeDialog();
          toast(owned ? 'Opened: your stream, writable here' : 'Opened as a read-only copy');
          navigate({ name: 'stream', publicKey: pk });
        }}
      />
    </Dialog>
  );
}

function ExportDialog({ publicKey }: { publicKey: string }) {
  const { closeDialog } = useUi();
  const s = useStreams((st) => st.details[publicKey] ?? st.byKey[publicKey]);
  const [path, setPath] = useState('');
  const [done, setDone] = useState<{ path: string; bytes: number } | null>(null);
  const { busy, error, run } = useSubmit(
    () => {
      setDone(null);
      return useStreamTools.getState().exportTo(publicKey, path.trim());
    },
    setDone,
    [path],
  );
  const href = exportDownloadUrl(publicKey);
  return (
    <Dialog
      title="Export a copy"
      onClose={closeDialog}
      footer={
        <button type="button" className="button button-quiet" onClick={closeDialog}>
          Close
        </button>
      }
    >
      <p>A copy of “{s?.name || 'this stream'}” without its secret key: anyone who opens it can read and mirror it, not write to it.</p>
      {href ? (
        <a className="button button-primary download-link" href={href} download>
          <Icon name="download" size={16} /> Download the stream file
        </a>
      ) : null}
      <form
        className="form export-form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label className="field">
          <span className="field-label">{href ? 'Or save it on the computer running Drayer' : 'Save it to'}</span>
          <div className="inline-form">
            <input
              className="input mono"
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/media/usb or ~/Desktop/copy.stream"
              spellCheck={false}
              autoComplete="off"
            />
            <button type="submit" className="button" disabled={!path.trim() || busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
          <span className="field-hint">A folder (the copy is named after the stream) or a file name. Nothing is ever overwritten.</span>
        </label>
      </form>
      {done ? (
        <p className="ok-line" role="status">
          <Icon name="check" size={16} /> Saved a copy ({formatBytes(done.bytes)}) to <span className="mono">{done.path}</span>
        </p>
      ) : null}
      <FormError text={error} />
    </Dialog>
  );
}

export function VerifyReport({ publicKey }: { publicKey: string }) {
  const v = useStreamTools((st) => st.verify[publicKey]);
  const owned = useStreams((st) => st.byKey[publicKey]?.owned);
  const stream = useStreams((st) => st.details[publicKey] ?? st.byKey[publicKey]);
  // People count posts and files, not records: the stream's own counts, without the size.
  const counts = stream ? streamCounts({ ...stream, bytes: undefined }).join(', ') : '';
  const [syncing, setSyncing] = useState(false);
  const syncToFinish = async () => {
    setSyncing(true);
    try {
      await useSync.getState().syncNow(publicKey);
    } catch {
      /* the report below says what is left */
    }
    try {
      await useStreamTools.getState().runVerify(publicKey);
    } finally {
      setSyncing(false);
    }
  };
  if (!v || v.running) {
    return (
      <div className="progress" role="status">
        <div className="progress-bar progress-indeterminate">
          <span />
        </div>
        <span>Checking every signature, value and link…</span>
      </div>
    );
  }
  if (v.error) return <FormError text={v.error} />;
  const r = v.report!;
  const extra = [
    r.metaOnly ? `${formatCount(r.metaOnly)} without their content (titles only)` : '',
    r.partial ? 'a partial copy: the latest posts and files' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <div className="verify" role="status">
      {r.intact ? (
        <div className="verify-head verify-ok">
          <span className="ok-badge">
            <Icon name="shield" size={22} />
          </span>
          <div>
            <h3>Intact</h3>
            <p>
              Every signature, value and link checks out{counts ? ` (${counts})` : ''}: this is the stream as its author wrote it{extra ? `; ${extra}` : ''}.
            </p>
          </div>
        </div>
      ) : null}
      {r.incomplete && !r.problems.length ? (
        <div className="verify-head verify-warn">
          <span className="warn-badge">
            <Icon name="sync" size={22} />
          </span>
          <div>
            <h3>Incomplete</h3>
            <p>
              What is here verifies, but this copy is still being synced
              {r.incomplete.missing ? ` (${formatCount(r.incomplete.missing)} more to fetch)` : ''}
              {r.incomplete.unfinished.length
                ? ` (the last sync from ${r.incomplete.unfinished.map((u) => u.replace(/^https?:\/\//, '')).join(', ')} did not finish)`
                : ''}
              . Sync to finish it.
            </p>
          </div>
        </div>
      ) : null}
      {r.problems.length ? (
        <div className="verify-head verify-bad">
          <span className="bad-badge">
            <Icon name="alert" size={22} />
          </span>
          <div>
            <h3>{r.problems.length === 1 ? '1 problem found' : `${formatCount(r.problems.length)} problems found`}</h3>
            <p>{owned ? 'Restore the stream file from a backup.' : 'Unfollow the stream deleting this copy, then follow it again to fetch a sound one.'}</p>
          </div>
        </div>
      ) : null}
      {r.problems.length ? (
        <ul className="problem-list">
          {r.problems.slice(0, 50).map((p, i) => (
            <li key={i}>
              {p.id ? <span className="mono">#{p.id}</span> : null} {p.what}
            </li>
          ))}
        </ul>
      ) : null}
      {r.incomplete && !owned ? (
        <button type="button" className="button button-primary" disabled={syncing} onClick={() => void syncToFinish()}>
          <Icon name="sync" size={16} className={syncing ? 'spin' : undefined} /> {syncing ? 'Syncing…' : 'Sync to finish'}
        </button>
      ) : null}
    </div>
  );
}

function VerifyDialog({ publicKey }: { publicKey: string }) {
  const { closeDialog } = useUi();
  const s = useStreams((st) => st.byKey[publicKey]);
  useEffect(() => void useStreamTools.getState().runVerify(publicKey), [publicKey]);
  return (
    <Dialog
      title={`Verify ${s?.name || 'stream'}`}
      onClose={closeDialog}
      footer={
        <button type="button" className="button" onClick={closeDialog}>
          Close
        </button>
      }
    >
      <VerifyReport publicKey={publicKey} />
    </Dialog>
  );
}

export function KeyDialogs({ d }: { d: DialogState }) {
  switch (d.kind) {
    case 'keyBackup':
      return <KeyBackupDialog publicKey={d.publicKey} />;
    case 'restore':
      return <RestoreDialog />;
    case 'openFile':
      return <OpenFileDialog />;
    case 'exportStream':
      return <ExportDialog publicKey={d.publicKey} />;
    case 'verify':
      return <VerifyDialog publicKey={d.publicKey} />;
    case 'keyVerify':
      return <KeyVerifyDialog publicKey={d.publicKey} />;
    default:
      return null;
  }
}
