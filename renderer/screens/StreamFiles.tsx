// A stream's Files tab: its folders and files (open, add by button or drag-and-drop, folders too,
// delete a file or a folder whole), without the app's own media unless asked. A folder with an
// index.html becomes the stream's website (its files at the top), asking once when the site lies
// deeper; adding compares with what the stream holds, so only new and changed files travel.
// Names and types come from the stream: text only.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { StreamDetails } from '../api/transport';
import { Icon, type IconName } from '../components/Icon';
import { StreamImage } from '../components/StreamImage';
import { EmptyState } from '../components/States';
import { asSite, folderChoice, fromDataTransfer, fromFileList, hasFiles, type PickedFile } from '../lib/drop';
import { fileKind, folderReport, formatSize, typeLabel, userFiles } from '../lib/files';
import { visiblePath } from '../../app/core/text';
import { absoluteTime, formatCount, relativeTime } from '../lib/time';
import { messageOf } from '../stores/errors';
import { useFiles, type FolderPlan } from '../stores/files';
import { useUi } from '../stores/ui';
import { ConfirmUpdateDialog, fileUrl, RemoveFolderDialog, SiteRootDialog, webBase } from './FileDialogs';
import '../styles/sites.css';

type FileRow = StreamDetails['files'][number];

const KIND_ICON: Record<ReturnType<typeof fileKind>, IconName> = { image: 'image', text: 'fileText', markdown: 'fileText', html: 'globe', other: 'file' };

type Mode = 'add' | 'update';

type Pending = { step: 'root'; picked: PickedFile[]; folder: string; roots: string[]; mode: Mode } | { step: 'confirm'; plan: FolderPlan } | null;

/**
 * Adding what was picked or dropped, and updating the site from its folder: which folder is the
 * site (asked once when unclear), compare, send only what differs, and (an update) remove what
 * left the folder after a confirmation; then one toast says what happened.
 */
export function useFolderFlow(publicKey: string): { start: (picked: PickedFile[], mode: Mode) => void; dialogs: ReactNode } {
  const [pending, setPending] = useState<Pending>(null);
  const apply = async (plan: FolderPlan, mode: Mode) => {
    const { toast } = useUi.getState();
    const r = await useFiles.getState().applyFolder(publicKey, plan, { remove: mode === 'update' });
    if (r.failed.length > 0) {
      toast(
        `${r.failed.length === 1 ? `${r.failed[0]!.path} was not added` : `${formatCount(r.failed.length)} files were not added`}: ${r.failed[0]!.message}`,
        'error',
      );
      return;
    }
    const sent = r.added + r.changed;
    if (mode === 'update') toast(sent + r.removed === 0 ? `The site is up to date: ${folderReport(r)}` : `Site updated: ${folderReport(r)}`);
    else if (sent === 0) toast(`Nothing new: ${r.unchanged === 1 ? 'the file was' : `all ${formatCount(r.unchanged)} files were`} already there`);
    else if (sent === 1 && r.unchanged === 0) toast(`Added ${[...plan.diff.add, ...plan.diff.change][0]}`);
    else toast(r.unchanged === 0 && r.changed === 0 ? `Added ${formatCount(sent)} files` : `Added: ${folderReport(r)}`);
  };
  const run = async (files: PickedFile[], mode: Mode) => {
    try {
      const plan = await useFiles.getState().compareFolder(publicKey, files, '');
      if (mode === 'update' && plan.diff.remove.length > 0) setPending({ step: 'confirm', plan });
      else await apply(plan, mode);
    } catch (e) {
      useUi.getState().toast(messageOf(e), 'error');
    }
  };
  const start = (picked: PickedFile[], mode: Mode) => {
    if (picked.length === 0) return;
    const c = folderChoice(picked);
    if (c.kind === 'site') void run(asSite(picked, c.folder, c.root), mode);
    else if (c.kind === 'ask') setPending({ step: 'root', picked, folder: c.folder, roots: c.roots, mode });
    else if (mode === 'update')
      useUi.getState().toast('That folder has no index.html, so it is not a website. Choose the folder that holds your site’s index.html.', 'error');
    else void run(picked, mode);
  };
  let dialogs: ReactNode = null;
  if (pending?.step === 'root') {
    const { picked, folder, roots, mode } = pending;
    const counts = Object.fromEntries(roots.map((r) => [r, asSite(picked, folder, r).length]));
    dialogs = (
      <SiteRootDialog
        folder={folder}
        roots={roots}
        counts={counts}
        total={picked.length}
        allowPlain={mode === 'add'}
        onClose={() => setPending(null)}
        onChoose={(root) => {
          setPending(null);
          void run(root === null ? picked : asSite(picked, folder, root), mode);
        }}
      />
    );
  } else if (pending?.step === 'confirm') {
    const { plan } = pending;
    dialogs = (
      <ConfirmUpdateDialog
        plan={plan}
        onClose={() => setPending(null)}
        onConfirm={() => {
          setPending(null);
          void apply(plan, 'update').catch((e) => useUi.getState().toast(messageOf(e), 'error'));
        }}
      />
    );
  }
  return { start, dialogs };
}

/** Drag files or folders anywhere on the page to add them (your own streams only). */
export function useFileDrop(publicKey: string, enabled: boolean, onPicked: (picked: PickedFile[]) => void): boolean {
  const [over, setOver] = useState(false);
  const drop = useRef(onPicked);
  drop.current = onPicked;
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
      void fromDataTransfer(e.dataTransfer).then((picked) => drop.current(picked));
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

function FileRowView({ f, publicKey, owned, localUrl, within }: { f: FileRow; publicKey: string; owned: boolean; localUrl: string | null; within?: string }) {
  const openDialog = useUi((s) => s.openDialog);
  const kind = fileKind(f);
  const shown = visiblePath(f.path); // bidi and control characters written out, never obeyed
  // Under its folder's row a file shows its path inside that folder; its name says the whole path.
  const rel = visiblePath(within ? f.path.slice(within.length + 1) : f.path);
  const slash = rel.lastIndexOf('/');
  const dir = slash >= 0 ? rel.slice(0, slash + 1) : '';
  const base = rel.slice(slash + 1);
  const href = fileUrl(localUrl, f.path);
  const previewable = kind === 'image' || kind === 'text' || kind === 'markdown';
  const open = () => {
    if (previewable || !href) openDialog({ kind: 'filePreview', publicKey, path: f.path });
    else window.open(href, '_blank', 'noopener,noreferrer');
  };
  return (
    <li className="file-row" data-path={f.path}>
      <span className="file-thumb" aria-hidden="true">
        {kind === 'image' && f.size <= 4_000_000 ? (
          <StreamImage publicKey={publicKey} path={f.path} alt="" className="file-thumb-img" open={false} />
        ) : (
          <Icon name={KIND_ICON[kind]} size={20} />
        )}
      </span>
      <button type="button" className="file-name" onClick={open} title={shown} aria-label={within ? shown : undefined}>
        {dir ? <span className="file-dir">{dir}</span> : null}
        <span className="file-base">{base}</span>
      </button>
      <span className="file-meta">
        <span className="file-type">{typeLabel(f)}</span>
        <span className="file-size">{formatSize(f.size)}</span>
        <time className="file-date" dateTime={new Date(f.time / 1000).toISOString()} title={absoluteTime(f.time)}>
          {relativeTime(f.time)}
        </time>
      </span>
      <span className="file-actions">
        {href ? (
          <a className="icon-button" href={href} target="_blank" rel="noopener noreferrer" aria-label={`Open ${f.path} in the browser`} title="Open in browser">
            <Icon name="external" size={16} />
          </a>
        ) : null}
        {owned ? (
          <button
            type="button"
            className="icon-button icon-button-danger"
            aria-label={`Delete ${f.path}`}
            title="Delete"
            onClick={() => openDialog({ kind: 'deleteFile', publicKey, path: f.path })}
          >
            <Icon name="trash" size={16} />
          </button>
        ) : null}
      </span>
    </li>
  );
}

interface Folder {
  name: string;
  files: FileRow[];
  size: number;
}

/** Top-level folders (each with every file under it), then the files at the top. */
function group(files: FileRow[]): { folders: Folder[]; loose: FileRow[] } {
  const byName = new Map<string, Folder>();
  const loose: FileRow[] = [];
  for (const f of files) {
    const slash = f.path.indexOf('/');
    if (slash < 0) {
      loose.push(f);
      continue;
    }
    const name = f.path.slice(0, slash);
    let g = byName.get(name);
    if (!g) byName.set(name, (g = { name, files: [], size: 0 }));
    g.files.push(f);
    g.size += f.size;
  }
  return { folders: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), loose };
}

function FolderRowView({ g, owned, onRemove }: { g: Folder; owned: boolean; onRemove: () => void }) {
  return (
    <li className="file-row folder-row" data-folder={g.name}>
      <span className="file-thumb" aria-hidden="true">
        <Icon name="folder" size={20} />
      </span>
      <span className="file-name folder-name" title={`${g.name}/`}>
        <span className="file-base">{g.name}/</span>
      </span>
      <span className="file-meta">
        <span className="file-type">
          {formatCount(g.files.length)} {g.files.length === 1 ? 'file' : 'files'}
        </span>
        <span className="file-size">{formatSize(g.size)}</span>
        <span className="file-date" aria-hidden="true" />
      </span>
      <span className="file-actions">
        {owned ? (
          <button type="button" className="icon-button icon-button-danger" aria-label={`Remove folder ${g.name}`} title="Remove folder" onClick={onRemove}>
            <Icon name="trash" size={16} />
          </button>
        ) : null}
      </span>
    </li>
  );
}

/** Progress of adding files, or of comparing them with the stream first. */
export function UploadStatus({ publicKey }: { publicKey: string }) {
  const upload = useFiles((st) => st.uploads[publicKey]);
  if (!upload) return null;
  const pct = upload.bytesTotal > 0 ? Math.min(100, Math.round((100 * upload.bytes) / upload.bytesTotal)) : 0;
  const n = `${formatCount(Math.min(upload.files + 1, upload.filesTotal))} of ${formatCount(upload.filesTotal)}`;
  return (
    <div className="progress files-progress" role="status">
      <div
        className="progress-bar"
        role="progressbar"
        aria-label={upload.comparing ? 'Comparing files' : 'Adding files'}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span>
        {upload.comparing ? `Comparing ${n} with the stream` : `Adding ${n}`} · {upload.current} · {formatSize(upload.bytes)} of {formatSize(upload.bytesTotal)}
      </span>
    </div>
  );
}

export function FilesTab({ s }: { s: StreamDetails }) {
  const upload = useFiles((st) => st.uploads[s.publicKey]);
  const flow = useFolderFlow(s.publicKey);
  const dropping = useFileDrop(s.publicKey, s.owned, (picked) => flow.start(picked, 'add'));
  const [showMedia, setShowMedia] = useState(false);
  const [removing, setRemoving] = useState<Folder | null>(null);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // React does not know the attribute: set it by hand so the picker takes folders.
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);
  const mine = userFiles(s.files);
  const media = s.files.length - mine.length;
  const shown = showMedia ? s.files : mine;
  const total = mine.reduce((n, f) => n + f.size, 0);
  const { folders, loose } = group(shown);
  const onPicked = (input: HTMLInputElement | null) => {
    if (!input?.files) return;
    const picked = fromFileList(input.files);
    input.value = '';
    flow.start(picked, 'add');
  };
  const row = (f: FileRow, within?: string) => <FileRowView key={f.path} f={f} publicKey={s.publicKey} owned={s.owned} localUrl={webBase(s)} within={within} />;

  return (
    <section className={dropping ? 'files-panel dropping' : 'files-panel'} aria-label="Files">
      <div className="files-toolbar">
        <p className="files-summary">
          {s.private === 'sealed'
            ? ''
            : mine.length === 0
              ? 'No files'
              : `${formatCount(mine.length)} ${mine.length === 1 ? 'file' : 'files'} · ${formatSize(total)}`}
        </p>
        {media > 0 ? (
          <label className="files-media-toggle">
            <input type="checkbox" checked={showMedia} onChange={(e) => setShowMedia(e.currentTarget.checked)} />
            <span>Show post pictures ({formatCount(media)})</span>
          </label>
        ) : null}
        {s.owned ? (
          <>
            <input
              ref={filesInput}
              id="add-files-input"
              type="file"
              multiple
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => onPicked(e.currentTarget)}
            />
            <input
              ref={folderInput}
              id="add-folder-input"
              type="file"
              multiple
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => onPicked(e.currentTarget)}
            />
            <button type="button" className="button button-sm" onClick={() => folderInput.current?.click()} disabled={!!upload}>
              <Icon name="folderPlus" size={16} /> Add folder
            </button>
            <button type="button" className="button button-sm button-primary" onClick={() => filesInput.current?.click()} disabled={!!upload}>
              <Icon name="upload" size={16} /> Add files
            </button>
          </>
        ) : null}
      </div>
      <UploadStatus publicKey={s.publicKey} />
      {s.private === 'sealed' ? (
        <div className="card files-empty files-sealed">
          <EmptyState
            icon="lock"
            title="Files sealed: no read key"
            text="This private stream’s files arrive here encrypted: this computer keeps and passes them on without reading them. Ask its owner for the read link (or its 64 words) to see them."
          />
        </div>
      ) : shown.length === 0 ? (
        <div className="card files-empty">
          <EmptyState
            icon="folder"
            title={s.owned ? 'Drop files here' : 'No files'}
            text={
              s.owned
                ? 'Pictures, documents, a whole folder: everyone who follows this stream gets a copy. Add a folder that holds an index.html and it becomes the stream’s website.'
                : 'When this stream adds files, they appear here.'
            }
            action={
              s.owned ? (
                <button type="button" className="button" onClick={() => filesInput.current?.click()}>
                  <Icon name="upload" size={16} /> Choose files
                </button>
              ) : undefined
            }
          />
        </div>
      ) : (
        <ul className="card file-list" aria-label={`Files of ${s.name || 'this stream'}`}>
          {folders.map((g) => (
            <li key={`dir:${g.name}`} className="folder-group">
              <ul className="folder-files" aria-label={`Folder ${g.name}`}>
                <FolderRowView g={g} owned={s.owned} onRemove={() => setRemoving(g)} />
                {g.files.map((f) => row(f, g.name))}
              </ul>
            </li>
          ))}
          {loose.map((f) => row(f))}
        </ul>
      )}
      {s.owned && shown.length > 0 ? <p className="files-drop-hint">Drop files or folders anywhere on this page to add them.</p> : null}
      {dropping ? (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-card">
            <Icon name="upload" size={28} />
            <span>Drop to add to {s.name || 'this stream'}</span>
          </div>
        </div>
      ) : null}
      {flow.dialogs}
      {removing ? (
        <RemoveFolderDialog
          publicKey={s.publicKey}
          folder={removing.name}
          count={removing.files.length}
          size={removing.size}
          onClose={() => setRemoving(null)}
        />
      ) : null}
    </section>
  );
}
