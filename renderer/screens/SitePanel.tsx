// A stream's Site tab (its files hold an index.html): a live preview of the site as the node's
// LAN server serves it (a sandboxed frame: the page runs apart from this app, with an opaque
// origin), Open site, Update from folder (only changed files travel), and the addresses a phone
// on the same network opens — the Share dialog's, never this computer's loopback address.
import { useEffect, useRef } from 'react';
import type { StreamDetails } from '../api/transport';
import { CopyButton } from '../components/CopyButton';
import { Icon } from '../components/Icon';
import { fromFileList } from '../lib/drop';
import { fileKind, formatSize, phoneUrls, userFiles } from '../lib/files';
import { formatCount } from '../lib/time';
import { useFiles } from '../stores/files';
import { useUi } from '../stores/ui';
import { fileUrl, webBase } from './FileDialogs';
import { UploadStatus, useFolderFlow } from './StreamFiles';

/** The Electron window allows no frames at all (main/protocol.ts): there the site opens outside. */
const canFrame = typeof window !== 'undefined' && !window.drayer;

export function SitePanel({ s }: { s: StreamDetails }) {
  const openDialog = useUi((st) => st.openDialog);
  const upload = useFiles((st) => st.uploads[s.publicKey]);
  const flow = useFolderFlow(s.publicKey);
  const folderInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);

  const files = userFiles(s.files);
  const pages = files.filter((f) => fileKind(f) === 'html');
  const size = files.reduce((n, f) => n + f.size, 0);
  const site = fileUrl(webBase(s), '');
  const phones = phoneUrls(s.webUrls);
  const name = s.name || 'This stream';

  return (
    <section className="card site-card" aria-label="Website">
      <div className="site-hero">
        <span className="site-icon" aria-hidden="true">
          <Icon name="globe" size={28} />
        </span>
        <div className="site-hero-text">
          <h2 className="site-title">{name}’s website</h2>
          <p className="site-text">
            {formatCount(files.length)} {files.length === 1 ? 'file' : 'files'} · {formatCount(pages.length)} {pages.length === 1 ? 'page' : 'pages'} ·{' '}
            {formatSize(size)}. Everyone who follows the stream carries a copy.
          </p>
        </div>
      </div>
      <div className="site-actions">
        {webBase(s) ? (
          <a className="button button-primary" href={webBase(s)!} target="_blank" rel="noopener noreferrer">
            <Icon name="external" size={16} /> Open site
          </a>
        ) : null}
        {s.owned ? (
          <>
            <input
              ref={folderInput}
              type="file"
              multiple
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => {
                const input = e.currentTarget;
                const picked = input.files ? fromFileList(input.files) : [];
                input.value = '';
                flow.start(picked, 'update');
              }}
            />
            <button type="button" className="button" onClick={() => folderInput.current?.click()} disabled={!!upload}>
              <Icon name="sync" size={16} /> Update from folder
            </button>
          </>
        ) : null}
        <button type="button" className="button" onClick={() => openDialog({ kind: 'share', publicKey: s.publicKey })}>
          <Icon name="qr" size={16} /> Share with a phone
        </button>
      </div>
      <UploadStatus publicKey={s.publicKey} />
      {site && canFrame ? (
        <figure className="site-preview">
          <figcaption className="site-preview-bar">
            <span className="site-preview-dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            <span className="mono site-preview-url" title={site}>
              {site}
            </span>
          </figcaption>
          {/* No allow-same-origin: the site gets an opaque origin (the server's CSP sandboxes it too). */}
          {/* Keyed by the stream's last change: a new version of the site (made here or synced in) shows at once. */}
          <iframe
            key={s.lastSeq}
            className="site-frame"
            title={`Preview of ${name}’s website`}
            src={site}
            sandbox="allow-scripts allow-forms allow-popups"
            referrerPolicy="no-referrer"
            loading="lazy"
          />
        </figure>
      ) : site ? (
        <p className="site-note">
          <Icon name="globe" size={16} /> Open site shows it in your browser, where its pages run apart from this app.
        </p>
      ) : (
        <p className="site-note">
          <Icon name="alert" size={16} /> This computer does not serve the stream on the network right now, so the site cannot be previewed here.
        </p>
      )}
      <div className="site-phone">
        <h3 className="site-subtitle">
          <Icon name="phone" size={16} /> On a phone
        </h3>
        {!s.serve ? (
          <p className="site-text">
            This computer does not share {name} on the network, so a phone cannot open it here. Turn on “Share followed streams” in Settings.
          </p>
        ) : phones.length > 0 ? (
          <>
            <p className="site-text">A phone on the same Wi-Fi opens the site at {phones.length === 1 ? 'this address' : 'one of these addresses'}:</p>
            <ul className="site-urls">
              {phones.map((u) => (
                <li key={u} className="share-url">
                  <span className="mono" title={u}>
                    {u}
                  </span>
                  <CopyButton text={u} label="Copy address" className="button button-sm" />
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p className="site-text site-none" role="note">
            {s.localUrl
              ? 'No phone can reach this computer right now: its only address is 127.0.0.1, which on a phone means the phone itself. Connect this computer to the Wi-Fi your phone uses (and let Drayer listen on the network, not only on this computer), then come back here.'
              : 'No phone can reach this computer right now: Drayer’s network server is off. Start Drayer with its network server on.'}
          </p>
        )}
      </div>
      {flow.dialogs}
    </section>
  );
}
