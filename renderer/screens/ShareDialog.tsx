// Share a stream: with a phone (a QR code of its web address on this network, one per address
// with a picker when there are several, and the address to copy), or with another computer
// (a QR code and the drayer: link of its key, which Drayer follows).
import { useEffect, useState } from 'react';
import { CopyButton } from '../components/CopyButton';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { QrCode } from '../components/QrCode';
import { ErrorBanner } from '../components/States';
import { messageOf } from '../stores/errors';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';
import { phoneUrls } from '../lib/files';
import { WordGrid } from '../components/KeyBackupFlow';
import { transport } from '../api';

type Pane = 'phone' | 'computer';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function ShareDialog({ publicKey }: { publicKey: string }) {
  const closeDialog = useUi((s) => s.closeDialog);
  const details = useStreams((s) => s.details[publicKey]);
  const [pane, setPane] = useState<Pane>('phone');
  const [picked, setPicked] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    useStreams
      .getState()
      .loadDetails(publicKey)
      .catch((e) => setError(messageOf(e)));
  }, [publicKey]);

  const name = details?.name || 'this stream';
  // a private stream's read key rides in the address's fragment (#r=…), which a browser never sends:
  // the phone's page decrypts there, and the LAN server never sees the key (DESIGN §8)
  const fragment = details?.readLink ? details.readLink.slice(details.readLink.indexOf('#')) : '';
  const urls = (details?.webUrls ?? []).map((u) => u + fragment);
  const url = urls[Math.min(picked, urls.length - 1)];
  const link = details?.readLink ?? details?.link ?? '';
  const tab = (id: Pane, label: string, icon: 'phone' | 'laptop') => (
    <button
      type="button"
      role="tab"
      id={`share-tab-${id}`}
      aria-controls={`share-panel-${id}`}
      aria-selected={pane === id}
      tabIndex={pane === id ? 0 : -1}
      className={pane === id ? 'segment active' : 'segment'}
      onClick={() => setPane(id)}
      onKeyDown={(e) => {
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          const next = pane === 'phone' ? 'computer' : 'phone';
          setPane(next);
          document.getElementById(`share-tab-${next}`)?.focus();
        }
      }}
    >
      <Icon name={icon} size={16} /> {label}
    </button>
  );

  return (
    <Dialog title={details?.readLink ? `Share read access to ${name}` : `Share ${name}`} onClose={closeDialog}>
      <div className="segmented share-switch" role="tablist" aria-label="Share with">
        {tab('phone', 'Phone', 'phone')}
        {tab('computer', 'Another computer', 'laptop')}
      </div>
      {error ? <ErrorBanner text={error} /> : null}
      {!details ? (
        <div className="share-body">
          <div className="qr qr-loading" />
        </div>
      ) : pane === 'phone' ? (
        <div className="share-body" role="tabpanel" id="share-panel-phone" aria-labelledby="share-tab-phone">
          {details.private === 'sealed' ? (
            <div className="share-off">
              <Icon name="lock" size={20} />
              <p>{name} is private, and this computer has no read key for it, so a phone could not read it from here. Share it from its author’s computer.</p>
            </div>
          ) : !details.serve ? (
            <div className="share-off">
              <Icon name="alert" size={20} />
              <p>
                This computer does not share {name} on the network, so a phone cannot open it. Turn on “Share followed streams” in Settings, or share it from
                its author’s computer.
              </p>
            </div>
          ) : !url ? (
            <div className="share-off">
              <Icon name="alert" size={20} />
              <p>The network server of this computer is off, so there is no address for a phone. Start Drayer with its network server on.</p>
            </div>
          ) : (
            <>
              <QrCode text={url} label={`QR code of ${url}`} />
              {phoneUrls(urls).length > 0 ? (
                <p className="share-hint">
                  Scan with a phone on the same Wi-Fi.
                  {fragment ? ' The address holds the read key: the phone decrypts the posts itself, and whoever has the address can read them.' : ''}
                </p>
              ) : (
                // 127.0.0.1 on a phone is the phone itself: say so rather than offer a QR that cannot work there
                <p className="share-hint share-hint-warn" role="note">
                  Only this computer can open this address: it has no network address a phone can reach. Connect it to the Wi-Fi your phone uses, then open
                  Share again.
                </p>
              )}
              {urls.length > 1 ? (
                <label className="field share-picker">
                  <span className="field-label">Network</span>
                  <select className="select" value={Math.min(picked, urls.length - 1)} onChange={(e) => setPicked(Number(e.target.value))}>
                    {urls.map((u, i) => (
                      <option key={u} value={i}>
                        {hostOf(u)}
                      </option>
                    ))}
                  </select>
                </label>
              ) : null}
              <div className="share-url">
                <span className="mono" title={url}>
                  {url}
                </span>
                <CopyButton text={url} label="Copy address" className="button button-sm" />
              </div>
            </>
          )}
        </div>
      ) : (
        <div className="share-body" role="tabpanel" id="share-panel-computer" aria-labelledby="share-tab-computer">
          <QrCode text={link} label={details.readLink ? 'QR code of the read link' : `QR code of the link ${link}`} />
          <p className={details.readLink ? 'share-hint share-hint-note' : 'share-hint'}>
            {details.readLink
              ? 'Whoever has this read link, or its words, can read every post: give it only to people you want to read it. In Drayer on their computer, they choose Follow a stream and paste it.'
              : 'In Drayer on the other computer, choose Follow a stream and paste this link.'}
          </p>
          {details.private === 'sealed' ? (
            <p className="share-hint share-hint-warn" role="note">
              <Icon name="lock" size={14} /> This computer has no read key for {name}: whoever follows it from this link carries it sealed, unable to read it.
            </p>
          ) : null}
          <div className="share-url">
            <span className="mono" title={link}>
              {link}
            </span>
            <CopyButton text={link} label={details.readLink ? 'Copy read link' : 'Copy link'} className="button button-sm" />
          </div>
          {details.readWords ? (
            <details className="share-read-words">
              <summary>The read link as 64 words</summary>
              <WordGrid words={details.readWords} label="Read link words, in order" />
              <CopyButton text={details.readWords.join(' ')} label="Copy words" className="button button-sm" />
            </details>
          ) : null}
          <p className="share-words">
            <span className="keybox-label">Fingerprint</span> <span className="mono">{details.fingerprint}</span>
          </p>
          {details.owned && details.readLink ? <RotateAccess publicKey={publicKey} /> : null}
        </div>
      )}
    </Dialog>
  );
}

/**
 * Rotate access (DESIGN §8): a new read key, every record sealed again under it. Said in one
 * sentence before it is done, since whoever holds the current link stops reading from then on.
 */
function RotateAccess({ publicKey }: { publicKey: string }) {
  const [step, setStep] = useState<'closed' | 'confirm' | 'busy'>('closed');
  const [error, setError] = useState<string | null>(null);
  const rotate = async () => {
    setStep('busy');
    setError(null);
    try {
      const r = await transport().call('rotateReadKey', { publicKey });
      await useStreams.getState().loadDetails(publicKey);
      useUi
        .getState()
        .toast(`New read link made; ${r.records} records sealed again. Send it to everyone who should keep reading.${r.devices ? ` ${r.devices}` : ''}`);
      setStep('closed');
    } catch (e) {
      setError(messageOf(e));
      setStep('confirm');
    }
  };
  if (step === 'closed')
    return (
      <div className="share-rotate">
        <button type="button" className="link-button" onClick={() => setStep('confirm')}>
          Rotate access…
        </button>
      </div>
    );
  return (
    <div className="share-rotate share-rotate-open" role="group" aria-labelledby="rotate-title">
      <p id="rotate-title" className="share-rotate-text">
        A new read key seals every post again: whoever has the current read link keeps what they already read but reads nothing new or edited, so send the new
        link to everyone who should keep reading.
      </p>
      {error ? <ErrorBanner text={error} /> : null}
      <div className="form-actions">
        <button type="button" className="button button-quiet" onClick={() => setStep('closed')} disabled={step === 'busy'}>
          Keep the current key
        </button>
        <button type="button" className="button button-danger" onClick={() => void rotate()} disabled={step === 'busy'}>
          {step === 'busy' ? 'Rotating…' : 'Rotate access'}
        </button>
      </div>
    </div>
  );
}
