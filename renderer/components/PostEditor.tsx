// Title (optional) and markdown body, growing with the text; Ctrl/⌘+Enter submits. What is
// typed stays when submitting fails, with the reason beside it.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { messageOf } from '../stores/errors';

export function PostEditor({ initialTitle = '', initialBody = '', submitLabel, onSubmit, onCancel, autoFocus = true, leading, bodyPlaceholder = 'Write in markdown…', idBase = 'edit' }: {
  initialTitle?: string;
  initialBody?: string;
  submitLabel: string;
  onSubmit: (title: string, body: string) => Promise<void>;
  onCancel?: () => void;
  autoFocus?: boolean;
  leading?: ReactNode;
  bodyPlaceholder?: string;
  idBase?: string;
}) {
  const [title, setTitle] = useState(initialTitle);
  const [body, setBody] = useState(initialBody);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const bodyRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const ta = bodyRef.current;
    if (!ta) return;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, 480)}px`;
  }, [body]);

  useEffect(() => {
    if (autoFocus) bodyRef.current?.focus();
  }, [autoFocus]);

  const empty = !title.trim() && !body.trim();
  const submit = async () => {
    if (busy || empty) return;
    setBusy(true);
    setError(null);
    try {
      await onSubmit(title.trim(), body);
      setTitle('');
      setBody('');
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="editor"
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
      <label className="visually-hidden" htmlFor={`${idBase}-title`}>Title (optional)</label>
      <input id={`${idBase}-title`} className="editor-title" placeholder="Title (optional)" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} />
      <label className="visually-hidden" htmlFor={`${idBase}-body`}>Post</label>
      <textarea id={`${idBase}-body`} ref={bodyRef} className="editor-body" placeholder={bodyPlaceholder} value={body} onChange={(e) => setBody(e.target.value)} rows={2} />
      {error ? <p className="form-error" role="alert">{error}</p> : null}
      <div className="editor-foot">
        {leading}
        <span className="editor-hint">Markdown · Ctrl+Enter</span>
        {onCancel ? <button type="button" className="button button-quiet" onClick={onCancel}>Cancel</button> : null}
        <button type="submit" className="button button-primary" disabled={busy || empty}>
          {busy ? `${submitLabel}…` : submitLabel}
        </button>
      </div>
    </form>
  );
}
