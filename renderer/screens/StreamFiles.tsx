// A stream's Files tab (list, open, add by button or drag-and-drop, folders too, delete) and its
// Site tab (when its files hold an index.html). Names and types come from the stream: text only.
import { useEffect, useRef, useState } from 'react';
import type { StreamDetails } from '../api/transport';
import { CopyButton } from '../components/CopyButton';
import { Icon, type IconName } from '../components/Icon';
import { StreamImage } from '../components/StreamImage';
import { EmptyState } from '../components/States';
import { fromDataTransfer, fromFileList, hasFiles, type PickedFile } from '../lib/drop';
import { fileKind, formatSize, typeLabel } from '../lib/files';
import { visiblePath } from '../../app/text';
import { absoluteTime, formatCount, relativeTime } from '../lib/time';
import { useFiles } from '../stores/files';
import { useUi } from '../stores/ui';
import { fileUrl } from './FileDialogs';

type FileRow = StreamDetails['files'][number];

const KIND_ICON: Record<ReturnType<typeof fileKind>, IconName> = { image: 'image', text: 'fileText', markdown: 'fileText', html: 'globe', other: 'file' };

/** Upload what was picked or dropped, then say what happened in one toast. */
async function addPicked(publicKey: string, picked: PickedFile[]): Promise<void> {
  const { toast } = useUi.getState();
  if (picked.length === 0) return;
  const r = await useFiles.getState().upload(publicKey, picked);
  if (r.failed.length === 0) toast(r.stored.length === 1 ? `Added ${r.stored[0]}` : `Added ${formatCount(r.stored.length)} files`);
  else toast(`${r.failed.length === 1 ? `${r.failed[0]!.path} was not added` : `${formatCount(r.failed.length)} files were not added`}: ${r.failed[0]!.message}`, 'error');
}

/** Drag files or folders anywhere on the page to add them (your own streams only). */
export function useFileDrop(publicKey: string, enabled: boolean): boolean {
  const [over, setOver] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    let depth = 0;
    const onEnter = (e: DragEvent) => {
      if (!hasFiles(e.dataTransfer)) return;
      e.preventDefault();
      depth++;
      setOver(true);
    };
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e.dataTransfer)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const onLeave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const onDrop = (e: DragEvent) => {
      if (!e.dataTransfer || !hasFiles(e.dataTransfer)) return;
      e.preventDefault();
      depth = 0;
      setOver(false);
      if (useUi.getState().dialog) return;
      void fromDataTransfer(e.dataTransfer).then((picked) => addPicked(publicKey, picked));
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, [publicKey, enabled]);
  return over;
}

function FileRowView({ f, publicKey, owned, localUrl }: { f: FileRow; publicKey: string; owned: boolean; localUrl: string | null }) {
  const openDialog = useUi((s) => s.openDialog);
  const kind = fileKind(f);
  const shown = visiblePath(f.path); // bidi and control characters written out, never obeyed
  const slash = shown.lastIndexOf('/');
  const dir = slash >= 0 ? shown.slice(0, slash + 1) : '';
  const base = shown.slice(slash + 1);
  const href = fileUrl(localUrl, f.path);
  const previewable = kind === 'image' || kind === 'text' || kind === 'markdown';
  const open = () => {
    if (previewable || !href) openDialog({ kind: 'filePreview', publicKey, path: f.path });
    else window.open(href, '_blank', 'noopener,noreferrer');
  };
  return (
    <li className="file-row" data-path={f.path}>
      <span className="file-thumb" aria-hidden="true">
        {kind === 'image' && f.size <= 4_000_000 ? <StreamImage publicKey={publicKey} path={f.path} alt="" className="file-thumb-img" open={false} /> : <Icon name={KIND_ICON[kind]} size={20} />}
      </span>
      <button type="button" className="file-name" onClick={open} title={shown}>
        {dir ? <span className="file-dir">{dir}</span> : null}
        <span className="file-base">{base}</span>
      </button>
      <span className="file-meta">
        <span className="file-type">{typeLabel(f)}</span>
        <span className="file-size">{formatSize(f.size)}</span>
        <time className="file-date" dateTime={new Date(f.time / 1000).toISOString()} title={absoluteTime(f.time)}>{relativeTime(f.time)}</time>
      </span>
      <span className="file-actions">
        {href ? (
          <a className="icon-button" href={href} target="_blank" rel="noopener noreferrer" aria-label={`Open ${f.path} in the browser`} title="Open in browser">
            <Icon name="external" size={16} />
          </a>
        ) : null}
        {owned ? (
          <button type="button" className="icon-button icon-button-danger" aria-label={`Delete ${f.path}`} title="Delete" onClick={() => openDialog({ kind: 'deleteFile', publicKey, path: f.path })}>
            <Icon name="trash" size={16} />
          </button>
        ) : null}
      </span>
    </li>
  );
}

export function FilesTab({ s, dropping }: { s: StreamDetails; dropping: boolean }) {
  const upload = useFiles((st) => st.uploads[s.publicKey]);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // React does not know the attribute: set it by hand so the picker takes folders.
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);
  const total = s.files.reduce((n, f) => n + f.size, 0);
  const onPicked = (input: HTMLInputElement | null) => {
    if (!input?.files) return;
    const picked = fromFileList(input.files);
    input.value = '';
    void addPicked(s.publicKey, picked);
  };
  const pct = upload && upload.bytesTotal > 0 ? Math.min(100, Math.round((100 * upload.bytes) / upload.bytesTotal)) : 0;

  return (
    <section className={dropping ? 'files-panel dropping' : 'files-panel'} aria-label="Files">
      <div className="files-toolbar">
        <p className="files-summary">
          {s.files.length === 0 ? 'No files' : `${formatCount(s.files.length)} ${s.files.length === 1 ? 'file' : 'files'} · ${formatSize(total)}`}
        </p>
        {s.owned ? (
          <>
            <input ref={filesInput} id="add-files-input" type="file" multiple className="visually-hidden" tabIndex={-1} aria-hidden="true" onChange={(e) => onPicked(e.currentTarget)} />
            <input ref={folderInput} id="add-folder-input" type="file" multiple className="visually-hidden" tabIndex={-1} aria-hidden="true" onChange={(e) => onPicked(e.currentTarget)} />
            <button type="button" className="button button-sm" onClick={() => folderInput.current?.click()} disabled={!!upload}>
              <Icon name="folderPlus" size={16} /> Add folder
            </button>
            <button type="button" className="button button-sm button-primary" onClick={() => filesInput.current?.click()} disabled={!!upload}>
              <Icon name="upload" size={16} /> Add files
            </button>
          </>
        ) : null}
      </div>
      {upload ? (
        <div className="progress files-progress" role="status">
          <div className="progress-bar" role="progressbar" aria-label="Adding files" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}><span style={{ width: `${pct}%` }} /></div>
          <span>Adding {formatCount(Math.min(upload.files + 1, upload.filesTotal))} of {formatCount(upload.filesTotal)} · {upload.current} · {formatSize(upload.bytes)} of {formatSize(upload.bytesTotal)}</span>
        </div>
      ) : null}
      {s.files.length === 0 ? (
        <div className="card files-empty">
          <EmptyState
            icon="folder"
            title={s.owned ? 'Drop files here' : 'No files'}
            text={s.owned
              ? 'Pictures, documents, a whole folder: everyone who follows this stream gets a copy. A file named index.html makes it a website.'
              : 'When this stream adds files, they appear here.'}
            action={s.owned ? <button type="button" className="button" onClick={() => filesInput.current?.click()}><Icon name="upload" size={16} /> Choose files</button> : undefined}
          />
        </div>
      ) : (
        <ul className="card file-list" aria-label={`Files of ${s.name || 'this stream'}`}>
          {s.files.map((f) => <FileRowView key={f.path} f={f} publicKey={s.publicKey} owned={s.owned} localUrl={s.localUrl ?? null} />)}
        </ul>
      )}
      {s.owned && s.files.length > 0 ? <p className="files-drop-hint">Drop files or folders anywhere on this page to add them.</p> : null}
      {dropping ? (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-card">
            <Icon name="upload" size={28} />
            <span>Drop to add to {s.name || 'this stream'}</span>
          </div>
        </div>
      ) : null}
    </section>
  );
}

export function SiteTab({ s }: { s: StreamDetails }) {
  const openDialog = useUi((st) => st.openDialog);
  const pages = s.files.filter((f) => fileKind(f) === 'html');
  const url = s.localUrl ?? null;
  return (
    <section className="card site-card" aria-label="Website">
      <div className="site-hero">
        <span className="site-icon" aria-hidden="true"><Icon name="globe" size={28} /></span>
        <div>
          <h2 className="site-title">{s.name || 'This stream'}’s website</h2>
          <p className="site-text">
            Made of this stream’s files: index.html and {formatCount(s.files.length - 1)} more ({formatCount(pages.length)} {pages.length === 1 ? 'page' : 'pages'}).
            Everyone who follows the stream carries a copy, and a phone on this Wi-Fi can open it.
          </p>
        </div>
      </div>
      {url ? (
        <div className="share-url">
          <span className="mono" title={url}>{url}</span>
          <CopyButton text={url} label="Copy address" className="button button-sm" />
        </div>
      ) : (
        <p className="site-text">This computer does not serve the stream on the network right now, so the site cannot be opened here.</p>
      )}
      <div className="site-actions">
        {url ? (
          <a className="button button-primary" href={url} target="_blank" rel="noopener noreferrer"><Icon name="external" size={16} /> Open site</a>
        ) : null}
        <button type="button" className="button" onClick={() => openDialog({ kind: 'share', publicKey: s.publicKey })}><Icon name="qr" size={16} /> Share with a phone</button>
      </div>
    </section>
  );
}
