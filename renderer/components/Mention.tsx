// Mentions in the UI (issue 21): typing `@` in a post offers the streams you own, follow or see
// nearby (a listbox under the text, arrows to move, Enter or Tab to pick, Escape to close) and
// inserts a `drayer:` link with the stream's name; a rendered mention opens the stream's page,
// or, when the stream is not held here, the Follow dialog with its key.
import { useMemo, useRef, useState, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
import { mentionKey, mentionMarkdown } from '../../app/core/mentions';
import { isMineHere, useStreams } from '../stores/streams';
import { hashOf, useUi } from '../stores/ui';
import { Avatar } from './Avatar';

/** A rendered `drayer:<key>` link: the stream's page when held, else an offer to follow it. */
export function MentionLink({ href, children }: { href: string; children: ReactNode }) {
  const publicKey = mentionKey(href);
  const held = useStreams((s) => (publicKey ? !!s.byKey[publicKey] : false));
  const { navigate, openDialog } = useUi();
  if (!publicKey) return <>{children}</>;
  return (
    <a
      className={held ? 'mention' : 'mention mention-new'}
      href={hashOf({ name: 'stream', publicKey })}
      title={held ? undefined : 'Not followed here: click to follow'}
      data-mention={publicKey}
      onClick={(e) => {
        e.preventDefault();
        if (held) navigate({ name: 'stream', publicKey });
        else openDialog({ kind: 'follow', key: publicKey });
      }}
    >
      {children}
    </a>
  );
}

interface Candidate {
  publicKey: string;
  name: string;
  why: 'Yours' | 'Following' | 'Kept here' | 'Nearby';
}

/** Options shown at most. */
const SHOWN = 8;
/** How far back from the caret an `@` still starts a mention (a name of a few words). */
const MAX_QUERY = 40;

/** The `@word` the caret is in: where its `@` is and what follows it, or null. */
export function mentionQuery(text: string, caret: number): { start: number; text: string } | null {
  const before = text.slice(Math.max(0, caret - MAX_QUERY - 1), caret);
  const at = before.lastIndexOf('@');
  if (at < 0) return null;
  const start = caret - before.length + at;
  const q = before.slice(at + 1);
  if (/[\n\r@[\]()]/.test(q) || /\s\s/.test(q) || /^\s/.test(q)) return null;
  // an @ inside a word (an e-mail address) is no mention
  if (start > 0 && !/[\s([]/.test(text[start - 1]!)) return null;
  return { start, text: q };
}

/** The `@` listbox of an editor's text area: props for the text area, and the list to render under it. */
export function useMentionPicker(ref: RefObject<HTMLTextAreaElement | null>, setBody: (v: string) => void, idBase: string) {
  const byKey = useStreams((s) => s.byKey);
  const keys = useStreams((s) => s.keys);
  const nearby = useStreams((s) => s.nearby);
  const [query, setQuery] = useState<{ start: number; text: string } | null>(null);
  const [active, setActive] = useState(0);
  // the `@` Escape closed: it stays closed until the text changes (the caret moving asks again)
  // (a ref: a selection event may come before the render that follows Escape)
  const closedAt = useRef<number | null>(null);
  const all = useMemo<Candidate[]>(() => {
    const seen = new Set<string>();
    const out: Candidate[] = [];
    for (const s of keys.map((k) => byKey[k]!).filter(Boolean))
      if (!s.private && !seen.has(s.publicKey) && seen.add(s.publicKey))
        out.push({ publicKey: s.publicKey, name: s.name, why: isMineHere(s) ? 'Yours' : s.hold ? 'Kept here' : 'Following' });
    for (const n of nearby) if (!seen.has(n.publicKey) && seen.add(n.publicKey)) out.push({ publicKey: n.publicKey, name: n.name, why: 'Nearby' });
    return out;
  }, [byKey, keys, nearby]);
  const options = useMemo(() => {
    if (!query) return [];
    const q = query.text.toLocaleLowerCase();
    const starts = all.filter((c) => c.name.toLocaleLowerCase().startsWith(q));
    const within = all.filter((c) => !c.name.toLocaleLowerCase().startsWith(q) && c.name.toLocaleLowerCase().includes(q));
    return [...starts, ...within].slice(0, SHOWN);
  }, [all, query]);
  const open = !!query && options.length > 0;
  const listId = `${idBase}-mentions`;
  const optionId = (i: number) => `${listId}-${i}`;

  const update = (el: HTMLTextAreaElement, typed = true) => {
    let q = el.selectionStart === el.selectionEnd ? mentionQuery(el.value, el.selectionStart) : null;
    if (typed) closedAt.current = null;
    else if (q && q.start === closedAt.current) q = null;
    setQuery(q);
    if (q?.text !== query?.text) setActive(0);
  };
  const pick = (c: Candidate) => {
    const el = ref.current;
    if (!el || !query) return;
    const link = `${mentionMarkdown(c.name, c.publicKey)} `;
    const next = el.value.slice(0, query.start) + link + el.value.slice(el.selectionStart);
    const caret = query.start + link.length;
    setBody(next);
    setQuery(null);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(caret, caret);
    });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open) return;
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1 };
    if (e.key in moves) setActive((active + moves[e.key]! + options.length) % options.length);
    else if ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey) || e.key === 'Tab') pick(options[active]!);
    else if (e.key === 'Escape') {
      setQuery(null);
      closedAt.current = query!.start;
    } else return;
    e.preventDefault();
    e.stopPropagation();
  };

  const inputProps = {
    role: 'combobox' as const,
    'aria-autocomplete': 'list' as const,
    'aria-expanded': open,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? optionId(active) : undefined,
    onKeyDown,
    onSelect: (e: { currentTarget: HTMLTextAreaElement }) => update(e.currentTarget, false),
    onBlur: () => setQuery(null),
  };
  const list = open ? (
    <ul className="mention-list" id={listId} role="listbox" aria-label="Mention a stream">
      {options.map((c, i) => (
        <li
          key={c.publicKey}
          id={optionId(i)}
          role="option"
          aria-selected={i === active}
          className={i === active ? 'mention-option active' : 'mention-option'}
          // the text area keeps the focus: picking by mouse must not blur it first
          onMouseDown={(e) => {
            e.preventDefault();
            pick(c);
          }}
          onMouseEnter={() => setActive(i)}
        >
          <Avatar publicKey={c.publicKey} name={c.name} size={24} />
          <bdi className="mention-name" title={c.name}>
            {c.name}
          </bdi>
          <span className="mention-why">{c.why}</span>
        </li>
      ))}
    </ul>
  ) : null;
  return { inputProps, list, update };
}
