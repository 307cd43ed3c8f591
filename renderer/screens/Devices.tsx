// Devices (DESIGN §9): on the stream page, the computers that write a stream of yours (add one by
// the code it shows, remove one after saying what that means); on a new computer, "Use this stream
// on this computer too": its pairing code as QR, text and words, waiting until the owner adds it.
import { useEffect, useState } from 'react';
import type { StreamSummary } from '../api/transport';
import type { DevicesView, PairingCode } from '../../app/node/api';
import { CopyButton } from '../components/CopyButton';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { QrCode } from '../components/QrCode';
import { QrScanner, ScanButton } from '../components/QrScanner';
import { RelativeTime } from '../components/RelativeTime';
import { ErrorBanner } from '../components/States';
import { WordGrid } from '../components/KeyBackupFlow';
import { useDevices } from '../stores/devices';
import { messageOf } from '../stores/errors';
import { useUi } from '../stores/ui';
import { httpAddress } from '../lib/address';
import { AddressField, ReadLinkHint } from '../components/KeyFields';

/** How often a device waiting to be added fetches the stream to see whether it is. */
const CHECK_MS = 3000;

const shortKey = (k: string): string => `${k.slice(0, 10)}…`;

/** A key or code pasted by hand (the pairing code, the stream's key): monospace, two rows, no spell check, focused first. */
function CodeArea(p: { value: string; invalid: boolean; onChange: (v: string) => void; placeholder: string; disabled?: boolean; describedBy?: string }) {
  return (
    <textarea
      className={p.invalid ? 'input mono input-invalid' : 'input mono'}
      rows={2}
      value={p.value}
      autoFocus
      spellCheck={false}
      disabled={p.disabled}
      onChange={(e) => p.onChange(e.target.value)}
      placeholder={p.placeholder}
      aria-invalid={p.invalid ? true : undefined}
      aria-describedby={p.describedBy}
    />
  );
}

export function DevicesCard({ s }: { s: StreamSummary }) {
  const view = useDevices((st) => st.byKey[s.publicKey]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!s.owned && !s.device) return;
    useDevices
      .getState()
      .load(s.publicKey)
      .then(
        () => setError(null),
        (e) => setError(messageOf(e)),
      );
  }, [s.publicKey, s.owned, s.device, s.records]);
  if (!s.owned && !s.device) return null;
  return (
    <section className="card devices" aria-labelledby="devices-title">
      <div className="devices-head">
        <Icon name="laptop" size={18} />
        <h2 id="devices-title" className="devices-title">
          Devices
        </h2>
      </div>
      {error ? <ErrorBanner text={error} /> : null}
      {s.owned ? <OwnerDevices publicKey={s.publicKey} view={view} /> : <ThisDevice s={s} view={view} />}
    </section>
  );
}

function OwnerDevices({ publicKey, view }: { publicKey: string; view?: DevicesView }) {
  const [adding, setAdding] = useState(false);
  const list = view?.devices ?? [];
  return (
    <>
      <p className="devices-sub">
        {list.length
          ? 'These computers write this stream too; followers see one stream.'
          : 'Write this stream from your other computers too: add each one here.'}
      </p>
      {list.length ? (
        <ul className="devices-list" aria-label="Devices of this stream">
          {list.map((d) => (
            <DeviceRow key={d.key} publicKey={publicKey} d={d} />
          ))}
        </ul>
      ) : null}
      {adding ? (
        <AddDevice publicKey={publicKey} onDone={() => setAdding(false)} />
      ) : (
        <button type="button" className="button button-sm" onClick={() => setAdding(true)}>
          Add a device
        </button>
      )}
    </>
  );
}

function DeviceRow({ publicKey, d }: { publicKey: string; d: DevicesView['devices'][number] }) {
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = d.name || 'Unnamed device';
  const remove = async () => {
    setBusy(true);
    try {
      await useDevices.getState().remove(publicKey, d.key);
      useUi.getState().toast(`${name} removed`);
      setConfirm(false);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className={d.removed ? 'device-row device-removed' : 'device-row'}>
      <div className="device-main">
        <span className="device-name" dir="auto" title={name}>
          {name}
        </span>
        <span className="device-meta">
          <span className="mono" title={d.key}>
            {shortKey(d.key)}
          </span>
          {' · '}
          {d.removed ? (
            'Removed: its earlier posts stay'
          ) : (
            <>
              Added <RelativeTime us={d.added} />
            </>
          )}
        </span>
      </div>
      {!d.removed && !confirm ? (
        <button type="button" className="button button-sm button-quiet" onClick={() => setConfirm(true)} aria-label={`Remove ${name}`}>
          Remove
        </button>
      ) : null}
      {confirm ? (
        <div className="device-confirm" role="group" aria-label={`Remove ${name}?`}>
          <p>Posts {name} wrote until now stay; anything it writes from now on is refused by every copy of this stream.</p>
          {error ? <ErrorBanner text={error} /> : null}
          <div className="form-actions">
            <button type="button" className="button button-sm button-quiet" onClick={() => setConfirm(false)} disabled={busy}>
              Keep it
            </button>
            <button type="button" className="button button-sm button-danger" onClick={() => void remove()} disabled={busy}>
              {busy ? 'Removing…' : 'Remove device'}
            </button>
          </div>
        </div>
      ) : null}
    </li>
  );
}

function AddDevice({ publicKey, onDone }: { publicKey: string; onDone: () => void }) {
  const [code, setCode] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [scanning, setScanning] = useState(false);
  const add = async () => {
    if (!code.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      await useDevices.getState().add(publicKey, code.trim(), name.trim() || undefined);
      useUi.getState().toast(`${name.trim() || 'The device'} added: it can post to this stream now`);
      onDone();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="form devices-add"
      aria-label="Add a device"
      onSubmit={(e) => {
        e.preventDefault();
        void add();
      }}
    >
      <label className="field">
        <span className="field-label">Pairing code or words</span>
        <CodeArea
          value={code}
          invalid={!!error}
          onChange={(v) => {
            setCode(v);
            setError(null);
          }}
          placeholder="drayer-device:…"
        />
        <span className="field-hint">
          On the other computer: Follow a stream, then “Use a stream of yours here too”. Paste the code it shows, or scan its QR code.
        </span>
      </label>
      {scanning ? (
        <QrScanner
          kind="device"
          onCode={(r) => {
            setCode(r.text);
            setError(null);
            setScanning(false);
          }}
          onClose={() => setScanning(false)}
        />
      ) : (
        <ScanButton onClick={() => setScanning(true)} disabled={busy} />
      )}
      <label className="field">
        <span className="field-label">
          Name <span className="field-optional">optional</span>
        </span>
        <input className="input" value={name} maxLength={200} dir="auto" onChange={(e) => setName(e.target.value)} placeholder="Laptop" />
      </label>
      {error ? <ErrorBanner text={error} /> : null}
      <div className="form-actions">
        <button type="button" className="button button-sm button-quiet" onClick={onDone} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="button button-sm button-primary" disabled={!code.trim() || busy}>
          {busy ? 'Adding…' : 'Add device'}
        </button>
      </div>
    </form>
  );
}

function ThisDevice({ s, view }: { s: StreamSummary; view?: DevicesView }) {
  const state = view?.mine?.state ?? s.device;
  if (state === 'waiting' && view?.mine) return <Pairing publicKey={s.publicKey} code={view.mine} name={s.name} />;
  return (
    <p className="devices-sub" role="status">
      {state === 'listed'
        ? `This computer is a device of ${s.name || 'this stream'}: what you post here goes into it.`
        : `This computer was removed from ${s.name || 'this stream'}: it still reads it, and what it writes is refused.`}
    </p>
  );
}

/** The new device's side: its code as QR, text and words, fetching the stream until the owner has added it. */
function Pairing({ publicKey, code, name }: { publicKey: string; code: PairingCode; name: string }) {
  const state = useDevices((st) => st.byKey[publicKey]?.mine?.state ?? 'waiting');
  useEffect(() => {
    if (state !== 'waiting') return;
    const t = setInterval(
      () =>
        void useDevices
          .getState()
          .check(publicKey)
          .catch(() => undefined),
      CHECK_MS,
    );
    return () => clearInterval(t);
  }, [publicKey, state]);
  if (state === 'listed')
    return (
      <p className="devices-added" role="status">
        <Icon name="check" size={16} /> Added. What you post here now goes into {name || 'the stream'}.
      </p>
    );
  return (
    <div className="pairing">
      <QrCode text={code.code} label="Pairing code of this computer" size={180} />
      <div className="pairing-text">
        <p>
          On a computer that holds {name ? <strong dir="auto">{name}</strong> : 'the stream'}, open its page, choose <strong>Add a device</strong> and scan or
          paste this code.
        </p>
        <div className="share-url">
          <span className="mono" title={code.code}>
            {code.code}
          </span>
          <CopyButton text={code.code} label="Copy code" className="button button-sm" />
        </div>
        <details className="pairing-words">
          <summary>The device key as 32 words</summary>
          <WordGrid words={code.words} label="Device key words, in order" />
        </details>
        <p className="pairing-wait" role="status">
          <span className="spinner" aria-hidden="true" /> Waiting to be added…
        </p>
      </div>
    </div>
  );
}

/** "Use this stream on this computer too": join as a device, then show the code and wait. */
export function JoinDeviceDialog() {
  const { closeDialog, navigate } = useUi();
  const [key, setKey] = useState('');
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const { busy, joined, error } = useDevices((st) => st.joining);
  const state = useDevices((st) => (joined ? st.byKey[joined.publicKey]?.mine?.state : undefined));
  const join = async () => {
    if (!key.trim() || busy) return;
    try {
      const address = httpAddress(url);
      await useDevices.getState().join(key.trim(), address || undefined, name.trim() || undefined);
    } catch {
      /* the store keeps the error (this dialog may have been remounted meanwhile) */
    }
  };
  const close = () => {
    useDevices.getState().resetJoin();
    closeDialog();
  };
  const open = () => {
    if (joined) navigate({ name: 'stream', publicKey: joined.publicKey });
    close();
  };
  return (
    <Dialog
      title="Use a stream of yours here too"
      onClose={close}
      footer={
        joined ? (
          <button type="button" className="button button-primary" onClick={open}>
            {state === 'listed' ? 'Open the stream' : 'Continue in background'}
          </button>
        ) : (
          <>
            <button type="button" className="button button-quiet" onClick={close}>
              Cancel
            </button>
            <button type="submit" form="join-device-form" className="button button-primary" disabled={!key.trim() || busy}>
              {busy ? 'Fetching…' : 'Use it here'}
            </button>
          </>
        )
      }
    >
      {joined ? (
        <Pairing publicKey={joined.publicKey} code={joined.code} name={joined.name} />
      ) : (
        <form
          id="join-device-form"
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            void join();
          }}
        >
          <p className="devices-sub">
            This computer gets a key of its own for the stream. Once the computer holding the stream adds it, what you post here goes into the same stream.
          </p>
          <label className="field">
            <span className="field-label">Stream key or link</span>
            <CodeArea
              value={key}
              invalid={!!error}
              disabled={busy}
              onChange={(v) => {
                setKey(v);
                if (error) useDevices.setState({ joining: { busy: false } });
              }}
              placeholder="Its key, 32 words, or drayer: link (Share, on the other computer)"
              describedBy="join-key-hint"
            />
            <ReadLinkHint
              id="join-key-hint"
              text={key}
              reader="A read link: this computer reads the private stream, and seals what it posts into it."
              plain="For a private stream, paste its read link (Share read access, on the other computer): without it this computer can neither read nor post."
            />
          </label>
          <AddressField value={url} onChange={setUrl} busy={busy} />
          <label className="field">
            <span className="field-label">
              This computer’s name <span className="field-optional">optional</span>
            </span>
            <input className="input" value={name} maxLength={200} dir="auto" disabled={busy} onChange={(e) => setName(e.target.value)} placeholder="Laptop" />
          </label>
          {error ? <ErrorBanner text={error} /> : null}
        </form>
      )}
    </Dialog>
  );
}
