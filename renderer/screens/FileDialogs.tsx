// A file's preview (images large, text and markdown as text, anything else with a way to open
// it in the browser), the confirmations before a file or a folder is deleted, the question of
// which folder is a website, and what a site update will remove.
import { useEffect, useState } from 'react';
import { ConfirmDialog, Dialog, FormError } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { StreamImage } from '../components/StreamImage';
import { SkeletonCards } from '../components/States';
import { encodePath, fileKind, folderReport, formatSize, typeLabel } from '../lib/files';
import { Markdown } from '../lib/markdown';
import { absoluteTime } from '../lib/time';
import { messageOf } from '../stores/errors';
import { TEXT_PREVIEW_MAX, useFiles, type FolderPlan } from '../stores/files';
import { useStreams } from '../stores/streams';
import { useUi } from '../stores/ui';
import { visiblePath } from '../../app/core/text';

/** Where the node serves a file of a stream on this computer (its LAN server, sandboxed), or null. */
export function fileUrl(localUrl: string | null | undefined, path: string): string | null {
  return localUrl ? `${localUrl}webAccess/${encodePath(path)}` : null;
}

/** Where a stream's files open in a browser: nowhere for a private one (the node serves none of it in clear; the app opens it here). */
export function webBase(s: { localUrl?: string | null; private?: 'reader' | 'sealed' } | undefined): string | null {
  return s && !s.private ? (s.localUrl ?? null) : null;
}

/** The name to show: bidi and control characters written out (app/core/text.ts), never obeyed. */
function baseName(path: string): string {
  return visiblePath(path.slice(path.lastIndexOf('/') + 1));
}

function TextPreview({ publicKey, path, markdown }: { publicKey: string; path: string; markdown: boolean }) {
  const [text, setText] = useState<{ text: string; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    useFiles
      .getState()
      .readText(publicKey, path)
      .then(setText, (e) => setError(messageOf(e)));
  }, [publicKey, path]);
  if (error) return <FormError text={error} />;
  if (!text) return <SkeletonCards count={1} />;
  return (
    <>
      {markdown ? (
        <Markdown source={text.text} streamKey={publicKey} className="md preview-md" />
      ) : (
        <pre className="preview-text" tabIndex={0}>
          {text.text}
        </pre>
      )}
      {text.truncated ? <p className="field-hint">Only the first {formatSize(TEXT_PREVIEW_MAX)} are shown.</p> : null}
    </>
  );
}

export function FilePreviewDialog({ publicKey, path }: { publicKey: string; path: string }) {
  const closeDialog = useUi((s) => s.closeDialog);
  const details = useStreams((s) => s.details[publicKey]);
  const f = details?.files.find((x) => x.path === path) ?? { path, size: 0, mime: '', time: 0 };
  const kind = details ? fileKind(f) : 'other';
  const href = fileUrl(webBase(details), path);
  useEffect(() => {
    if (!details)
      void useStreams
        .getState()
        .loadDetails(publicKey)
        .catch(() => {});
  }, [details, publicKey]);
  return (
    <Dialog
      title={baseName(path)}
      size="lg"
      onClose={closeDialog}
      footer={
        <>
          <span className="preview-meta">{f.mime ? `${typeLabel(f)} · ${formatSize(f.size)}${f.time ? ` · ${absoluteTime(f.time)}` : ''}` : ''}</span>
          {href ? (
            <a className="button" href={href} target="_blank" rel="noopener noreferrer">
              <Icon name="external" size={16} /> Open in browser
            </a>
          ) : null}
          <button type="button" className="button button-primary" onClick={closeDialog} autoFocus>
            Close
          </button>
        </>
      }
    >
      {path.includes('/') ? <p className="preview-path mono">{visiblePath(path)}</p> : null}
      {kind === 'image' ? (
        <div className="preview-image">
          <StreamImage publicKey={publicKey} path={path} alt={baseName(path)} className="preview-img" open={false} />
        </div>
      ) : kind === 'text' || kind === 'markdown' ? (
        <TextPreview publicKey={publicKey} path={path} markdown={kind === 'markdown'} />
      ) : (
        <div className="preview-none">
          <span className="empty-icon">
            <Icon name={kind === 'html' ? 'globe' : 'file'} size={28} />
          </span>
          <p>
            {details?.private
              ? 'This private stream’s files stay sealed outside this app, so only its pictures and text open here.'
              : kind === 'html'
                ? 'Web pages open in your browser, where the stream’s scripts run apart from this app.'
                : 'This kind of file opens in your browser.'}
          </p>
        </div>
      )}
    </Dialog>
  );
}

export function DeleteFileDialog({ publicKey, path }: { publicKey: string; path: string }) {
  const { closeDialog, toast } = useUi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await useFiles.getState().remove(publicKey, path);
      closeDialog();
      toast(`Deleted ${baseName(path)}`);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      title="Delete this file?"
      action="Delete"
      busyAction="Deleting…"
      busy={busy}
      error={error}
      onConfirm={() => void run()}
      onClose={closeDialog}
    >
      <p>It disappears from your stream, and from every copy of it the next time they sync. Posts that show it will show its name instead.</p>
      <p className="quote mono">{visiblePath(path)}</p>
    </ConfirmDialog>
  );
}

/**
 * Which folder of a picked one is the website (index.html lies only deeper): each candidate, and
 * (when adding) the whole folder as plain files. Asked once per pick.
 */
export function SiteRootDialog({
  folder,
  roots,
  counts,
  total,
  allowPlain,
  onChoose,
  onClose,
}: {
  folder: string;
  roots: string[];
  /** files in each candidate, by root */
  counts: Record<string, number>;
  total: number;
  allowPlain: boolean;
  onChoose: (root: string | null) => void;
  onClose: () => void;
}) {
  const files = (n: number) => `${n.toLocaleString('en')} ${n === 1 ? 'file' : 'files'}`;
  return (
    <Dialog
      title="Which folder is the website?"
      onClose={onClose}
      footer={
        <button type="button" className="button button-quiet" onClick={onClose}>
          Cancel
        </button>
      }
    >
      <p>
        {roots.length === 1 ? `“${folder}” holds a website in ${folder}/${roots[0]}/.` : `“${folder}” holds ${roots.length} folders with an index.html.`} A
        website’s folder becomes the top of your stream, so a phone opens its index.html.
      </p>
      <div className="choice-list">
        {roots.map((r, i) => (
          <button key={r} type="button" className="choice" onClick={() => onChoose(r)} autoFocus={i === 0}>
            <Icon name="globe" size={20} />
            <span className="choice-text">
              <span className="choice-title">
                Publish {folder}/{r}/ as the website
              </span>
              <span className="choice-hint">
                Only its {files(counts[r] ?? 0)} are added; the rest of {folder} stays out.
              </span>
            </span>
          </button>
        ))}
        {allowPlain ? (
          <button type="button" className="choice" onClick={() => onChoose(null)}>
            <Icon name="folder" size={20} />
            <span className="choice-text">
              <span className="choice-title">Add {folder} as a folder of files</span>
              <span className="choice-hint">
                All {files(total)} under {folder}/; no website.
              </span>
            </span>
          </button>
        ) : null}
      </div>
    </Dialog>
  );
}

/** Before a folder update removes files: which ones, so nothing goes unseen. */
export function ConfirmUpdateDialog({ plan, onConfirm, onClose }: { plan: FolderPlan; onConfirm: () => void; onClose: () => void }) {
  const { add, change, remove, unchanged } = plan.diff;
  const shown = remove.slice(0, 6);
  return (
    <ConfirmDialog title="Update the website?" action="Update" tone="primary" onConfirm={onConfirm} onClose={onClose}>
      <p>
        {folderReport({ added: add.length, changed: change.length, removed: remove.length, unchanged })}. These files are no longer in the folder and leave the
        website, here and on every copy:
      </p>
      <ul className="quote mono file-gone-list">
        {shown.map((p) => (
          <li key={p}>{p}</li>
        ))}
        {remove.length > shown.length ? <li>and {(remove.length - shown.length).toLocaleString('en')} more</li> : null}
      </ul>
    </ConfirmDialog>
  );
}

export function RemoveFolderDialog({
  publicKey,
  folder,
  count,
  size,
  onClose,
}: {
  publicKey: string;
  folder: string;
  count: number;
  size: number;
  onClose: () => void;
}) {
  const toast = useUi((s) => s.toast);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const n = await useFiles.getState().removeFolder(publicKey, folder);
      onClose();
      toast(`Removed ${folder} (${n.toLocaleString('en')} ${n === 1 ? 'file' : 'files'})`);
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      title="Remove this folder?"
      action="Remove folder"
      busyAction="Removing…"
      busy={busy}
      error={error}
      onConfirm={() => void run()}
      onClose={onClose}
    >
      <p>
        Its {count.toLocaleString('en')} {count === 1 ? 'file' : 'files'} ({formatSize(size)}) disappear from your stream, and from every copy of it the next
        time they sync.
      </p>
      <p className="quote mono">{folder}/</p>
    </ConfirmDialog>
  );
}
