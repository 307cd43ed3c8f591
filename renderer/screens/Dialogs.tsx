// The dialogs: follow by key, delete a post, unfollow, edit your profile, make another stream.
// Each keeps what was typed when the request fails and says why.
import { useEffect, useRef, useState } from 'react';
import { ConfirmDialog, Dialog, FormError } from '../components/Dialog';
import { codeOf, explainFollowError, explainSyncError, messageOf, type Explained } from '../stores/errors';
import { Problem } from '../components/Problem';
import { displayName, scopeRequest, useStreams, type FollowScope } from '../stores/streams';
import { ScopePicker } from '../components/FollowScope';
import { SyncProgress } from '../components/SyncProgress';
import { peerLabel } from '../lib/progress';
import { selectActive, useSync } from '../stores/sync';
import { useTimeline } from '../stores/timeline';
import { useUi, type Dialog as DialogState } from '../stores/ui';
import { formatCount } from '../lib/time';
import { useShallow } from 'zustand/react/shallow';
import { DeleteFileDialog, FilePreviewDialog } from './FileDialogs';
import { AvatarPicker } from '../components/AvatarPicker';
import { useFiles } from '../stores/files';
import { ShareDialog } from './ShareDialog';
import { KeyDialogs } from './KeyDialogs';
import { useSubmit } from '../lib/useSubmit';
import { deleteWithUndo } from '../stores/deletes';
import { AnnounceSwitch, PrivateSwitch } from '../components/Lock';
import { JoinDeviceDialog } from './Devices';
import { httpAddress } from '../lib/address';
import { AddressField, ReadLinkHint } from '../components/KeyFields';
import { QrScanner, ScanButton } from '../components/QrScanner';

function FollowDialog({ initialKey }: { initialKey?: string }) {
  const { closeDialog, navigate, toast, openDialog } = useUi();
  const [key, setKey] = useState(initialKey ?? '');
  const [url, setUrl] = useState('');
  const [scope, setScope] = useState<FollowScope>({ kind: 'all' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Explained | null>(null);
  const [scanning, setScanning] = useState(false);
  // Streams held when the dialog opened: the new one's progress is the one not among them.
  const [before] = useState(() => new Set(useStreams.getState().keys));
  const visible = useRef(true);
  useEffect(
    () => () => {
      visible.current = false;
    },
    [],
  );
  const active = useSync(useShallow(selectActive));
  const p = active.find((x) => !before.has(x.publicKey));
  const names = useStreams(useShallow((st) => ({ byKey: st.byKey, pending: st.pending, nearby: st.nearby })));
  const existing = error?.exists ? useStreams.getState().keys.find((k) => key.includes(k)) : undefined;

  const run = async () => {
    if (busy || !key.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const address = httpAddress(url);
      const s = await useStreams.getState().follow({ key: key.trim(), url: address || undefined, ...scopeRequest(scope) });
      const last = useSync.getState().progress[s.publicKey];
      const name = s.name || 'the stream';
      const failed = !!last?.error && s.records === 0;
      // the stream's page says what went wrong; a toast says it when the dialog was put away
      if (last?.cancelled) toast(`Stopped fetching ${name}: what arrived is kept. Resume it on its page.`);
      else if (failed && !visible.current) toast(`Following ${name}, but nothing arrived yet: ${explainSyncError(last!.error!).text}`, 'error');
      else if (!failed) toast(`Following ${name}`);
      if (visible.current) {
        closeDialog();
        navigate({ name: 'stream', publicKey: s.publicKey });
      }
    } catch (e) {
      const explained = explainFollowError(codeOf(e), messageOf(e));
      if (visible.current) setError(explained);
      else toast(`${explained.text} ${explained.advice}`, 'error');
    } finally {
      if (visible.current) setBusy(false);
    }
  };
  return (
    <Dialog
      title="Follow a stream"
      onClose={closeDialog}
      footer={
        busy ? (
          <button type="button" className="button button-quiet" onClick={closeDialog}>
            Continue in background
          </button>
        ) : (
          <>
            <button type="button" className="button button-quiet" onClick={closeDialog}>
              Cancel
            </button>
            <button type="submit" form="follow-form" className="button button-primary" disabled={!key.trim()}>
              Follow
            </button>
          </>
        )
      }
    >
      <form
        id="follow-form"
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label className="field">
          <span className="field-label">Key or link</span>
          <textarea
            className={error?.field === 'key' ? 'input mono input-invalid' : 'input mono'}
            rows={3}
            value={key}
            onChange={(e) => {
              setKey(e.target.value);
              setError(null);
            }}
            placeholder="Paste a key, its 32 words, or a drayer: link (a private stream's read link or 64 words)"
            autoFocus
            spellCheck={false}
            disabled={busy}
            aria-invalid={error?.field === 'key' || undefined}
            aria-describedby={error ? 'follow-key-hint follow-problem' : 'follow-key-hint'}
          />
          <ReadLinkHint
            id="follow-key-hint"
            text={key}
            reader="A read link: this private stream will be readable here, its read key kept on this computer only."
            plain="The person you follow finds it under Share on their stream."
          />
        </label>
        {scanning ? (
          <QrScanner
            kind="follow"
            onCode={(r) => {
              setKey(r.text);
              if (r.address) setUrl(r.address); // a phone address says where the stream is served
              setError(null);
              setScanning(false);
            }}
            onClose={() => setScanning(false)}
          />
        ) : (
          <ScanButton onClick={() => setScanning(true)} disabled={busy} />
        )}
        <AddressField
          value={url}
          onChange={(v) => {
            setUrl(v);
            setError(null);
          }}
          busy={busy}
          invalid={error?.field === 'address'}
          describedBy={error?.field === 'address' ? 'follow-problem' : undefined}
          hint="Where to fetch it from, if it is not nearby or on a known server."
        />
        <ScopePicker scope={scope} onChange={setScope} />
        {busy ? null : (
          <p className="follow-device">
            Your own stream, to write from this computer too?{' '}
            <button type="button" className="link-button" onClick={() => openDialog({ kind: 'joinDevice' })}>
              Use a stream of yours here too
            </button>
          </p>
        )}
        {busy ? (
          <div className="follow-progress" role="status" aria-live="polite">
            {p ? (
              <SyncProgress
                p={p}
                label={`Fetching ${displayName(names, p.publicKey, 'the stream')}`}
                head={`Fetching ${displayName(names, p.publicKey, 'the stream')} from ${peerLabel(p.peer)}`}
                onCancel={() => void useSync.getState().cancel(p.publicKey)}
                cancelLabel={`Cancel fetching ${displayName(names, p.publicKey, 'the stream')}`}
              />
            ) : (
              <SyncProgress
                p={{ publicKey: '', peer: '', records: 0, bytes: 0, done: false, at: 0 }}
                label="Looking for the stream"
                head="Looking for the stream…"
              />
            )}
          </div>
        ) : null}
        {error ? (
          <div id="follow-problem">
            <Problem
              e={error}
              className="follow-error"
              actions={
                existing ? (
                  <button
                    type="button"
                    className="button button-sm"
                    onClick={() => {
                      closeDialog();
                      navigate({ name: 'stream', publicKey: existing });
                    }}
                  >
                    Open it
                  </button>
                ) : undefined
              }
            />
          </div>
        ) : null}
      </form>
    </Dialog>
  );
}

function DeletePostDialog({ d }: { d: Extract<DialogState, { kind: 'deletePost' }> }) {
  const { closeDialog } = useUi();
  // The toast that follows offers Undo for 5 s (stores/deletes.ts says why nothing is written before).
  const run = () => {
    closeDialog();
    deleteWithUndo(d.item);
    d.then?.();
  };
  return (
    <ConfirmDialog title="Delete this post?" action="Delete" onConfirm={run} onClose={closeDialog}>
      <p>It disappears from your stream, and from every copy of it the next time they sync.</p>
      {d.item.title ? (
        <p className="quote" dir="auto">
          {d.item.title}
        </p>
      ) : null}
    </ConfirmDialog>
  );
}

function UnfollowDialog({ publicKey }: { publicKey: string }) {
  const { closeDialog, navigate, toast } = useUi();
  const s = useStreams((st) => st.byKey[publicKey]);
  const [deleteData, setDeleteData] = useState(false);
  const name = s?.name || 'this stream';
  const { busy, error, run } = useSubmit(
    () => useStreams.getState().unfollow(publicKey, deleteData),
    () => {
      closeDialog();
      toast(deleteData ? `Unfollowed ${s?.name || 'the stream'} and deleted its copy` : `Unfollowed ${s?.name || 'the stream'}`);
      void useTimeline.getState().loadInitial();
      navigate({ name: 'home' });
    },
    [deleteData],
  );
  return (
    <ConfirmDialog
      title={`Unfollow ${name}?`}
      action={deleteData ? 'Unfollow and delete' : 'Unfollow'}
      busyAction="Unfollowing…"
      busy={busy}
      error={error}
      onConfirm={() => void run()}
      onClose={closeDialog}
    >
      <p>Its posts leave your timeline and this computer stops fetching it.</p>
      <fieldset className="field choice unfollow-choice">
        <legend className="visually-hidden">The copy on this computer</legend>
        <label className="radio">
          <input type="radio" name="unfollow-data" checked={!deleteData} onChange={() => setDeleteData(false)} />
          <span className="radio-text">
            Keep the copy
            <span className="radio-hint">
              {s
                ? `Its ${formatCount(s.posts)} ${s.posts === 1 ? 'post stays' : 'posts stay'} on this computer, in the data folder, with its files`
                : 'It stays on this computer'}
            </span>
          </span>
        </label>
        <label className="radio">
          <input type="radio" name="unfollow-data" checked={deleteData} onChange={() => setDeleteData(true)} />
          <span className="radio-text">
            Delete the copy<span className="radio-hint">Frees the space; following again downloads it again</span>
          </span>
        </label>
      </fieldset>
    </ConfirmDialog>
  );
}

function ProfileDialog({ publicKey }: { publicKey?: string }) {
  const { closeDialog, navigate, toast } = useUi();
  const s = useStreams((st) => (publicKey ? st.byKey[publicKey] : undefined));
  const [name, setName] = useState(s?.name ?? '');
  const [about, setAbout] = useState(s?.about ?? '');
  const [picture, setPicture] = useState<File | null | undefined>(undefined);
  const [privately, setPrivately] = useState(false);
  const [sealed, setSealed] = useState(false);
  // a private stream's picture is sealed like its other files; a copy without its read key cannot seal one
  const pictures = s?.private !== 'sealed';
  const { busy, error, run } = useSubmit(
    async () => {
      const pk = publicKey
        ? (await useStreams.getState().setInfo(publicKey, name.trim(), about.trim()), publicKey)
        : (await useStreams.getState().create(name.trim(), about.trim(), privately, sealed)).publicKey;
      if (picture !== undefined && pictures) {
        const saving = useFiles.getState().setAvatar(pk, picture);
        // A new stream exists once made: a picture that fails then is said, not a reason to make it twice.
        if (publicKey) await saving;
        else await saving.catch((e) => toast(`The picture was not saved: ${messageOf(e)}`, 'error'));
      }
      return pk;
    },
    (pk) => {
      closeDialog();
      toast(publicKey ? 'Profile saved' : 'Stream created');
      navigate({ name: 'stream', publicKey: pk });
    },
    [name, about, picture, privately, sealed, pictures],
  );
  return (
    <Dialog
      title={publicKey ? 'Edit profile' : 'New stream'}
      onClose={closeDialog}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={closeDialog}>
            Cancel
          </button>
          <button type="submit" form="profile-form" className="button button-primary" disabled={!name.trim() || busy}>
            {busy ? 'Saving…' : publicKey ? 'Save' : 'Create'}
          </button>
        </>
      }
    >
      <form
        id="profile-form"
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        {pictures ? <AvatarPicker publicKey={publicKey ?? (name || 'new')} name={name} value={picture} hasCurrent={!!s?.avatar} onChange={setPicture} /> : null}
        <label className="field">
          <span className="field-label">Name</span>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} autoFocus maxLength={80} required />
        </label>
        <label className="field">
          <span className="field-label">
            About <span className="field-optional">optional</span>
          </span>
          <textarea className="input" rows={3} value={about} onChange={(e) => setAbout(e.target.value)} maxLength={500} />
        </label>
        {publicKey ? null : <PrivateSwitch id="new-sealed" checked={sealed} onChange={setSealed} />}
        {publicKey ? null : <AnnounceSwitch id="new-private" checked={privately} onChange={setPrivately} />}
        <FormError text={error} />
      </form>
    </Dialog>
  );
}

export function Dialogs() {
  const d = useUi((s) => s.dialog);
  if (!d) return null;
  switch (d.kind) {
    case 'follow':
      return <FollowDialog initialKey={d.key} />;
    case 'deletePost':
      return <DeletePostDialog d={d} />;
    case 'unfollow':
      return <UnfollowDialog publicKey={d.publicKey} />;
    case 'editProfile':
      return <ProfileDialog publicKey={d.publicKey} />;
    case 'newStream':
      return <ProfileDialog />;
    case 'joinDevice':
      return <JoinDeviceDialog />;
    case 'share':
      return <ShareDialog publicKey={d.publicKey} />;
    case 'deleteFile':
      return <DeleteFileDialog publicKey={d.publicKey} path={d.path} />;
    case 'filePreview':
      return <FilePreviewDialog publicKey={d.publicKey} path={d.path} />;
    default:
      return <KeyDialogs d={d} />;
  }
}
