// Title (optional) and markdown body, growing with the text; Ctrl/⌘+Enter submits; `@` offers
// streams to mention (Mention.tsx). What is
// typed stays when submitting fails, with the reason beside it. With `attach`, pictures can be
// added (button, paste or drop): previewed here, stored as files of the stream when posting,
// and shown by the markdown appended to the body. Pictures a post already ends with show as
// thumbnails too (with Remove), not as their markdown; the markdown is still what is stored.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { messageOf } from '../stores/errors';
import { attachTo } from '../stores/files';
import { inlineImageType, streamFileRef } from '../lib/files';
import { Icon } from './Icon';
import { useMentionPicker } from './Mention';
import { StreamImage } from './StreamImage';

/** A picture already stored in the stream, as the post's markdown names it. */
interface Kept {
  id: number;
  md: string;
  alt: string;
  path: string;
}

const PICTURE_LINE = /^!\[([^\]\n]{0,200})\]\(([^()\s]{1,300})\)$/;

/** A body's trailing lines that each show one picture of the stream (how attachments are written), apart from its text. */
export function splitAttachments(body: string): { text: string; pictures: { md: string; alt: string; path: string }[] } {
  const lines = body.split('\n');
  let i = lines.length;
  const pictures: { md: string; alt: string; path: string }[] = [];
  while (i > 0) {
    const line = lines[i - 1]!.trim();
    if (line === '') {
      i--;
      continue;
    }
    const m = PICTURE_LINE.exec(line);
    const path = m ? streamFileRef(m[2]!) : null;
    if (!m || !path) break;
    pictures.unshift({ md: line, alt: m[1]!, path });
    i--;
  }
  return pictures.length ? { text: lines.slice(0, i).join('\n').trimEnd(), pictures } : { text: body, pictures };
}

interface Attachment {
  id: number;
  file: File;
  url: string;
}

let nextAttachment = 1;
const MAX_ATTACHMENTS = 8;

export function PostEditor({
  initialTitle = '',
  initialBody = '',
  submitLabel,
  onSubmit,
  onCancel,
  autoFocus = true,
  leading,
  bodyPlaceholder = 'Write in markdown…',
  idBase = 'edit',
  attach: attachGiven,
  streamKey: streamGiven,
  writer,
  withTitle = true,
  optional = false,
  bodyLabel = 'Post',
  className,
}: {
  initialTitle?: string;
  initialBody?: string;
  submitLabel: string;
  onSubmit: (title: string, body: string) => Promise<void>;
  onCancel?: () => void;
  autoFocus?: boolean;
  leading?: ReactNode;
  bodyPlaceholder?: string;
  idBase?: string;
  /** store pictures as files and give the markdown that shows each */
  attach?: (files: File[]) => Promise<string[]>;
  /** the stream the post's pictures are files of: with it, pictures at the body's end show as thumbnails */
  streamKey?: string;
  /** written as this stream of yours (a reply, a re-share): says so beside the buttons, and pictures are its files */
  writer?: { publicKey: string; name: string };
  /** show the title field (a re-share's comment has none) */
  withTitle?: boolean;
  /** may be submitted empty (a re-share without a comment) */
  optional?: boolean;
  bodyLabel?: string;
  className?: string;
}) {
  const attach = attachGiven ?? (writer ? attachTo(writer.publicKey) : undefined);
  const streamKey = streamGiven ?? writer?.publicKey;
  const [initial] = useState(() => (streamKey ? splitAttachments(initialBody) : { text: initialBody, pictures: [] }));
  const [title, setTitle] = useState(initialTitle);
  const [body, setBody] = useState(initial.text);
  const [kept, setKept] = useState<Kept[]>(() => initial.pictures.map((p) => ({ ...p, id: nextAttachment++ })));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const live = useRef<Attachment[]>([]);
  live.current = attachments;
  useEffect(() => () => live.current.forEach((a) => URL.revokeObjectURL(a.url)), []);
  const mention = useMentionPicker(bodyRef, setBody, idBase);

  const addPictures = (files: File[]) => {
    const pictures = files.filter((f) => inlineImageType(f.type));
    const room = MAX_ATTACHMENTS - attachments.length - kept.length;
    if (pictures.length < files.length) setError('Only pictures can be attached (PNG, JPEG, GIF, WebP or AVIF); add other files in your stream’s Files tab.');
    else if (pictures.length > room) setError(`A post holds at most ${MAX_ATTACHMENTS} pictures.`);
    else setError(null);
    const added = pictures.slice(0, Math.max(0, room)).map((file) => ({ id: nextAttachment++, file, url: URL.createObjectURL(file) }));
    if (added.length) setAttachments((a) => [...a, ...added]);
  };
  const removeAttachment = (id: number) => {
    setAttachments((a) => {
      const gone = a.find((x) => x.id === id);
      if (gone) URL.revokeObjectURL(gone.url);
      return a.filter((x) => x.id !== id);
    });
  };

  useEffect(() => {
    const ta = bodyRef.current;
    if (!ta) return;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, 480)}px`;
  }, [body]);

  useEffect(() => {
    if (autoFocus) bodyRef.current?.focus();
  }, [autoFocus]);

  const empty = !optional && !title.trim() && !body.trim() && attachments.length === 0 && kept.length === 0;
  const submit = async () => {
    if (busy || empty) return;
    setBusy(true);
    setError(null);
    let stored = kept;
    try {
      if (attachments.length && attach) {
        const refs = await attach(attachments.map((a) => a.file));
        // Stored now: from here on they are kept pictures, so a failed post keeps them without storing them twice.
        const added = refs.map((md) => {
          const m = PICTURE_LINE.exec(md);
          return { id: nextAttachment++, md, alt: m?.[1] ?? '', path: (m && streamFileRef(m[2]!)) || '' };
        });
        stored = [...kept, ...added];
        attachments.forEach((a) => URL.revokeObjectURL(a.url));
        setAttachments([]);
        setKept(stored);
      }
      const text = [body.trimEnd(), ...stored.map((k) => k.md)].filter(Boolean).join('\n\n');
      await onSubmit(title.trim(), text);
      setTitle('');
      setBody('');
      setKept([]);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className={className ? `editor ${className}` : 'editor'}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          void submit();
        } else if (e.key === 'Escape' && onCancel) {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      {withTitle ? (
        <>
          <label className="visually-hidden" htmlFor={`${idBase}-title`}>
            Title (optional)
          </label>
          <input
            id={`${idBase}-title`}
            className="editor-title"
            placeholder="Title (optional)"
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            maxLength={500}
          />
        </>
      ) : null}
      <label className="visually-hidden" htmlFor={`${idBase}-body`}>
        {bodyLabel}
      </label>
      <textarea
        id={`${idBase}-body`}
        ref={bodyRef}
        className="editor-body"
        placeholder={bodyPlaceholder}
        value={body}
        {...mention.inputProps}
        onChange={(e) => {
          setBody(e.target.value);
          mention.update(e.target);
        }}
        rows={2}
        onPaste={
          attach
            ? (e) => {
                const files = Array.from(e.clipboardData.files);
                if (files.length) {
                  e.preventDefault();
                  addPictures(files);
                }
              }
            : undefined
        }
        onDragOver={
          attach
            ? (e) => {
                if (Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
              }
            : undefined
        }
        onDrop={
          attach
            ? (e) => {
                if (!e.dataTransfer.files.length) return;
                e.preventDefault();
                e.stopPropagation();
                addPictures(Array.from(e.dataTransfer.files));
              }
            : undefined
        }
      />
      {mention.list}
      {attachments.length || kept.length ? (
        <ul className="attachments" aria-label="Pictures to post">
          {kept.map((k) => (
            <li key={k.id} className="attachment">
              {streamKey && k.path ? (
                <StreamImage publicKey={streamKey} path={k.path} alt={k.alt} className="attachment-img" open={false} />
              ) : (
                <span className="md-image-alt">[{k.alt}]</span>
              )}
              <button
                type="button"
                className="attachment-remove"
                aria-label={`Remove ${k.alt || 'picture'}`}
                title={`Remove ${k.alt || 'picture'}`}
                onClick={() => setKept((x) => x.filter((y) => y.id !== k.id))}
              >
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
          {attachments.map((a) => (
            <li key={a.id} className="attachment">
              <img src={a.url} alt={a.file.name} />
              <button type="button" className="attachment-remove" aria-label={`Remove ${a.file.name}`} onClick={() => removeAttachment(a.id)}>
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="editor-foot">
        {attach ? (
          <>
            <input
              ref={fileInput}
              type="file"
              accept="image/png,image/jpeg,image/gif,image/webp,image/avif"
              multiple
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => {
                const files = Array.from(e.currentTarget.files ?? []);
                e.currentTarget.value = '';
                addPictures(files);
              }}
            />
            <button
              type="button"
              className="icon-button"
              aria-label="Attach pictures"
              title="Attach pictures"
              onClick={() => fileInput.current?.click()}
              disabled={busy || attachments.length + kept.length >= MAX_ATTACHMENTS}
            >
              <Icon name="image" size={20} />
            </button>
          </>
        ) : null}
        {leading}
        {writer ? (
          // a long name is shortened to fit the row; hover or keyboard focus shows it whole
          <span className="post-reply-as-wrap" tabIndex={0} aria-describedby={`${idBase}-as`}>
            <span className="post-reply-as" title={writer.name}>
              as <bdi>{writer.name}</bdi>
            </span>
            <span role="tooltip" id={`${idBase}-as`} className="tip post-reply-as-tip">
              Posting as <bdi>{writer.name}</bdi>
            </span>
          </span>
        ) : null}
        <span className="editor-hint">Markdown · Ctrl+Enter</span>
        {onCancel ? (
          <button type="button" className="button button-quiet" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="button button-primary" disabled={busy || empty}>
          {busy ? `${submitLabel}…` : submitLabel}
        </button>
      </div>
    </form>
  );
}
