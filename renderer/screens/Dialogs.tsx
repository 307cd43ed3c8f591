// The dialogs: follow by key, delete a post, unfollow, edit your profile, make another stream.
// Each keeps what was typed when the request fails and says why.
import { useState } from 'react';
import { Dialog } from '../components/Dialog';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
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

function useSubmit<T>(fn: () => Promise<T>, then: (v: T) => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      then(await fn());
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function FollowDialog({ initialKey }: { initialKey?: string }) {
  const { closeDialog, navigate, toast } = useUi();
  const [key, setKey] = useState(initialKey ?? '');
  const [url, setUrl] = useState('');
  const [mode, setMode] = useState<'all' | 'latest' | 'meta'>('all');
  const [latest, setLatest] = useState(50);
  const active = useSync(useShallow(selectActive));
  const { busy, error, run } = useSubmit(
    () => useStreams.getState().follow({
      key: key.trim(),
      url: url.trim() || undefined,
      latest: mode === 'latest' ? latest : undefined,
      metaOnly: mode === 'meta' ? true : undefined,
    }),
    (s) => {
      closeDialog();
      toast(`Following ${s.name || 'the stream'}`);
      navigate({ name: 'stream', publicKey: s.publicKey });
    },
  );
  const p = active[0];
  return (
    <Dialog
      title="Follow a stream"
      onClose={closeDialog}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={closeDialog}>Cancel</button>
          <button type="submit" form="follow-form" className="button button-primary" disabled={!key.trim() || busy}>{busy ? 'Following…' : 'Follow'}</button>
        </>
      }
    >
      <form id="follow-form" className="form" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <label className="field">
          <span className="field-label">Key or link</span>
          <textarea className="input mono" rows={2} value={key} onChange={(e) => setKey(e.target.value)} placeholder="Paste a key, its words, or a drayer: link" autoFocus spellCheck={false} />
        </label>
        <label className="field">
          <span className="field-label">Address <span className="field-optional">optional</span></span>
          <input className="input mono" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://192.168.1.20:15723" spellCheck={false} inputMode="url" />
          <span className="field-hint">Where to fetch it from, if it is not nearby or on a known server.</span>
        </label>
        <fieldset className="field choice">
          <legend className="field-label">Keep</legend>
          <label className="radio"><input type="radio" name="mode" checked={mode === 'all'} onChange={() => setMode('all')} /> Everything</label>
          <label className="radio">
            <input type="radio" name="mode" checked={mode === 'latest'} onChange={() => setMode('latest')} /> The latest
            <input className="input input-num" type="number" min={1} value={latest} aria-label="Number of latest posts" onChange={(e) => setLatest(Math.max(1, Number(e.target.value) || 1))} onFocus={() => setMode('latest')} /> posts
          </label>
          <label className="radio"><input type="radio" name="mode" checked={mode === 'meta'} onChange={() => setMode('meta')} /> Titles only, fetch the rest when opened</label>
        </fieldset>
        {busy && p ? (
          <div className="progress" role="status">
            <div className="progress-bar"><span style={{ width: p.recordsTotal ? `${Math.min(100, (100 * p.records) / p.recordsTotal)}%` : '30%' }} /></div>
            <span>{formatCount(p.records)}{p.recordsTotal ? ` of ${formatCount(p.recordsTotal)}` : ''} records</span>
          </div>
        ) : null}
        {error ? <p className="form-error" role="alert">{error}</p> : null}
      </form>
    </Dialog>
  );
}

function DeletePostDialog({ d }: { d: Extract<DialogState, { kind: 'deletePost' }> }) {
  const { closeDialog, toast } = useUi();
  const { busy, error, run } = useSubmit(() => useTimeline.getState().remove(d.item), () => {
    closeDialog();
    toast('Post deleted');
  });
  return (
    <Dialog title="Delete this post?" size="sm" onClose={closeDialog}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={closeDialog} autoFocus>Cancel</button>
          <button type="button" className="button button-danger" onClick={() => void run()} disabled={busy}>{busy ? 'Deleting…' : 'Delete'}</button>
        </>
      }>
      <p>It disappears from your stream, and from every copy of it the next time they sync.</p>
      {d.item.title ? <p className="quote">{d.item.title}</p> : null}
      {error ? <p className="form-error" role="alert">{error}</p> : null}
    </Dialog>
  );
}

function UnfollowDialog({ publicKey }: { publicKey: string }) {
  const { closeDialog, navigate, toast } = useUi();
  const s = useStreams((st) => st.byKey[publicKey]);
  const [deleteData, setDeleteData] = useState(false);
  const { busy, error, run } = useSubmit(() => useStreams.getState().unfollow(publicKey, deleteData), () => {
    closeDialog();
    toast(`Unfollowed ${s?.name || 'the stream'}`);
    void useTimeline.getState().loadInitial();
    navigate({ name: 'home' });
  });
  return (
    <Dialog title={`Unfollow ${s?.name || 'this stream'}?`} size="sm" onClose={closeDialog}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={closeDialog}>Cancel</button>
          <button type="button" className="button button-danger" onClick={() => void run()} disabled={busy}>{busy ? 'Unfollowing…' : 'Unfollow'}</button>
        </>
      }>
      <p>Its posts leave your timeline and this computer stops fetching it.</p>
      <label className="radio"><input type="checkbox" checked={deleteData} onChange={(e) => setDeleteData(e.target.checked)} /> Also delete the copy on this computer</label>
      {error ? <p className="form-error" role="alert">{error}</p> : null}
    </Dialog>
  );
}

function ProfileDialog({ publicKey }: { publicKey?: string }) {
  const { closeDialog, navigate, toast } = useUi();
  const s = useStreams((st) => (publicKey ? st.byKey[publicKey] : undefined));
  const [name, setName] = useState(s?.name ?? '');
  const [about, setAbout] = useState(s?.about ?? '');
  const [picture, setPicture] = useState<File | null | undefined>(undefined);
  const { busy, error, run } = useSubmit(
    async () => {
      const pk = publicKey ? (await useStreams.getState().setInfo(publicKey, name.trim(), about.trim()), publicKey) : (await useStreams.getState().create(name.trim(), about.trim())).publicKey;
      if (picture !== undefined) {
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
  );
  return (
    <Dialog title={publicKey ? 'Edit profile' : 'New stream'} onClose={closeDialog}
      footer={
        <>
          <button type="button" className="button button-quiet" onClick={closeDialog}>Cancel</button>
          <button type="submit" form="profile-form" className="button button-primary" disabled={!name.trim() || busy}>{busy ? 'Saving…' : publicKey ? 'Save' : 'Create'}</button>
        </>
      }>
      <form id="profile-form" className="form" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <AvatarPicker publicKey={publicKey ?? (name || 'new')} name={name} value={picture} hasCurrent={!!s?.avatar} onChange={setPicture} />
        <label className="field">
          <span className="field-label">Name</span>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} autoFocus maxLength={80} required />
        </label>
        <label className="field">
          <span className="field-label">About <span className="field-optional">optional</span></span>
          <textarea className="input" rows={3} value={about} onChange={(e) => setAbout(e.target.value)} maxLength={500} />
        </label>
        {error ? <p className="form-error" role="alert">{error}</p> : null}
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
