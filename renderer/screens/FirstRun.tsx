// First run: make your stream in one step (name, about, a picture), or follow someone first.
import { useEffect, useMemo, useRef, useState } from 'react';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';
import { Avatar } from '../components/Avatar';
import { AVATAR_ACCEPT } from '../components/AvatarPicker';
import { Icon } from '../components/Icon';
import { useFiles } from '../stores/files';

export function FirstRun({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [about, setAbout] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [picture, setPicture] = useState<File | null>(null);
  const pictureInput = useRef<HTMLInputElement>(null);
  const preview = useMemo(() => (picture ? URL.createObjectURL(picture) : null), [picture]);
  useEffect(() => () => {
    if (preview) URL.revokeObjectURL(preview);
  }, [preview]);
  const openDialog = useUi((s) => s.openDialog);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!name.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      const s = await useStreams.getState().create(name.trim(), about.trim());
      if (picture) {
        // The stream exists now: a picture that fails is said, and can be set again in Edit profile.
        await useFiles.getState().setAvatar(s.publicKey, picture).catch((err) => useUi.getState().toast(`Your picture was not saved: ${messageOf(err)}`, 'error'));
      }
      onDone();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="welcome">
      <div className="welcome-card card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">Drayer</span>
        </div>
        <h1>Make your stream</h1>
        <p className="lead">A stream is your own feed of posts and files. It lives on this computer, and anyone you share it with keeps a signed copy: no account, no server.</p>
        <form onSubmit={submit} className="form">
          <div className="welcome-preview">
            <Avatar publicKey={name || 'drayer'} name={name || '?'} size={56} src={preview} />
            <div className="welcome-preview-text" aria-hidden="true">
              <div className="welcome-preview-name">{name.trim() || 'Your name'}</div>
              <div className="welcome-preview-about">{about.trim() || 'A line about you'}</div>
            </div>
            <input ref={pictureInput} type="file" accept={AVATAR_ACCEPT} className="visually-hidden" tabIndex={-1} aria-hidden="true"
              onChange={(e) => {
                const f = e.currentTarget.files?.[0];
                e.currentTarget.value = '';
                if (f) setPicture(f);
              }} />
            <div className="welcome-preview-actions">
              <button type="button" className="button button-sm" onClick={() => pictureInput.current?.click()}>
                <Icon name="image" size={16} /> {picture ? 'Change picture' : 'Add a picture'}
              </button>
              {picture ? <button type="button" className="button button-sm button-quiet" onClick={() => setPicture(null)}>Remove</button> : null}
            </div>
          </div>
          <label className="field">
            <span className="field-label">Name</span>
            <input className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Ada's notes" required autoFocus maxLength={80} />
          </label>
          <label className="field">
            <span className="field-label">About <span className="field-optional">optional</span></span>
            <textarea className="input" value={about} onChange={(e) => setAbout(e.target.value)} rows={3} placeholder="What you'll post about" maxLength={500} />
          </label>
          {error ? <p className="form-error" role="alert">{error}</p> : null}
          <div className="form-actions">
            <button type="button" className="button button-quiet" onClick={() => openDialog({ kind: 'follow' })}>Follow someone instead</button>
            <button type="submit" className="button button-primary" disabled={!name.trim() || busy}>{busy ? 'Creating…' : 'Create stream'}</button>
          </div>
        </form>
      </div>
    </main>
  );
}
