// First run: make your stream in one step (name, about, a picture), then back up its key
// (skippable); or restore one from its backup words, open a stream file, or follow someone first.
import { FormError } from '../components/Dialog';
import { useEffect, useMemo, useRef, useState } from 'react';
import { KeyBackupFlow } from '../components/KeyBackupFlow';
import { OpenFileForm, RestoreForm } from './KeyDialogs';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';
import { Avatar } from '../components/Avatar';
import { AVATAR_ACCEPT } from '../components/AvatarPicker';
import { Icon } from '../components/Icon';
import { useFiles } from '../stores/files';
import { AnnounceSwitch, Lock, PrivateSwitch } from '../components/Lock';

export function FirstRun({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [about, setAbout] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [picture, setPicture] = useState<File | null>(null);
  const [sealed, setSealed] = useState(false);
  const [privately, setPrivately] = useState(false);
  const pictureInput = useRef<HTMLInputElement>(null);
  const preview = useMemo(() => (picture ? URL.createObjectURL(picture) : null), [picture]);
  useEffect(
    () => () => {
      if (preview) URL.revokeObjectURL(preview);
    },
    [preview],
  );
  const openDialog = useUi((s) => s.openDialog);
  const [step, setStep] = useState<{ name: 'create' | 'restore' | 'open' } | { name: 'backup'; publicKey: string }>({ name: 'create' });
  const finish = (publicKey?: string) => {
    onDone();
    if (publicKey) useUi.getState().navigate({ name: 'stream', publicKey });
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!name.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      // stay on this screen for the key backup step once the stream exists
      useUi.getState().navigate({ name: 'welcome' }, { replace: true });
      const s = await useStreams.getState().create(name.trim(), about.trim(), privately, sealed);
      if (picture) {
        // The stream exists now: a picture that fails is said, and can be set again in Edit profile.
        await useFiles
          .getState()
          .setAvatar(s.publicKey, picture)
          .catch((err) => useUi.getState().toast(`Your picture was not saved: ${messageOf(err)}`, 'error'));
      }
      setStep({ name: 'backup', publicKey: s.publicKey });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const brand = (
    <div className="brand brand-large">
      <span className="brand-mark" aria-hidden="true" />
      <span className="brand-name">Drayer</span>
    </div>
  );
  if (step.name === 'backup') {
    return (
      <main className="welcome">
        <div className="welcome-card welcome-wide card">
          {brand}
          <h1>Back up your key</h1>
          <KeyBackupFlow publicKey={step.publicKey} onDone={() => finish()} onSkip={() => finish()} />
        </div>
      </main>
    );
  }
  if (step.name === 'restore' || step.name === 'open') {
    return (
      <main className="welcome">
        <div className="welcome-card welcome-wide card">
          {brand}
          <h1>{step.name === 'restore' ? 'Restore your stream' : 'Open a stream file'}</h1>
          {step.name === 'restore' ? (
            <RestoreForm onCancel={() => setStep({ name: 'create' })} onRestored={(pk) => finish(pk)} />
          ) : (
            <OpenFileForm onCancel={() => setStep({ name: 'create' })} onOpened={(pk) => finish(pk)} />
          )}
        </div>
      </main>
    );
  }

  return (
    <main className="welcome">
      <div className="welcome-card card">
        {brand}
        <h1>Make your stream</h1>
        <p className="lead">
          A stream is your own feed of posts and files. It lives on this computer, and anyone you share it with keeps a signed copy: no account, no server.
        </p>
        <form onSubmit={(e) => void submit(e)} className="form">
          <div className="welcome-preview">
            <Avatar publicKey={name || 'drayer'} name={name || '?'} size={56} src={preview} />
            <div className="welcome-preview-text" aria-hidden="true">
              <div className="welcome-preview-name">
                {name.trim() || 'Your name'} {sealed ? <Lock access="reader" size={14} /> : null}
              </div>
              <div className="welcome-preview-about">{about.trim() || 'A line about you'}</div>
            </div>
            <input
              ref={pictureInput}
              type="file"
              accept={AVATAR_ACCEPT}
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => {
                const f = e.currentTarget.files?.[0];
                e.currentTarget.value = '';
                if (f) setPicture(f);
              }}
            />
            <div className="welcome-preview-actions">
              <button type="button" className="button button-sm" onClick={() => pictureInput.current?.click()}>
                <Icon name="image" size={16} /> {picture ? 'Change picture' : 'Add a picture'}
              </button>
              {picture ? (
                <button type="button" className="button button-sm button-quiet" onClick={() => setPicture(null)}>
                  Remove
                </button>
              ) : null}
            </div>
          </div>
          <label className="field">
            <span className="field-label">Name</span>
            <input className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Ada's notes" required autoFocus maxLength={80} />
          </label>
          <label className="field">
            <span className="field-label">
              About <span className="field-optional">optional</span>
            </span>
            <textarea
              className="input"
              value={about}
              onChange={(e) => setAbout(e.target.value)}
              rows={3}
              placeholder="What you'll post about"
              maxLength={500}
            />
          </label>
          <PrivateSwitch id="first-sealed" checked={sealed} onChange={setSealed} />
          <AnnounceSwitch id="first-private" checked={privately} onChange={setPrivately} />
          <FormError text={error} />
          <div className="form-actions">
            <button type="button" className="button button-quiet" onClick={() => openDialog({ kind: 'follow' })}>
              Follow someone instead
            </button>
            <button type="submit" className="button button-primary" disabled={!name.trim() || busy}>
              {busy ? 'Creating…' : 'Create stream'}
            </button>
          </div>
        </form>
        <div className="welcome-alt">
          <span>Already have a stream?</span>
          {/* kept on one line together, so a narrow window never starts a line with the dot */}
          <span className="welcome-alt-links">
            <button type="button" className="link-button" onClick={() => setStep({ name: 'restore' })}>
              Restore from backup words
            </button>
            <span aria-hidden="true">·</span>
            <button type="button" className="link-button" onClick={() => setStep({ name: 'open' })}>
              Open a stream file
            </button>
          </span>
          <span className="welcome-alt-links">
            <button type="button" className="link-button" onClick={() => openDialog({ kind: 'joinDevice' })}>
              Write it from this computer too
            </button>
          </span>
        </div>
      </div>
    </main>
  );
}
