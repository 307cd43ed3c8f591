// Search across every post this computer holds, with the matching words highlighted.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { TimelineItem } from '../api/transport';
import { Avatar } from '../components/Avatar';
import { EmptyState, ErrorBanner } from '../components/States';
import { Icon } from '../components/Icon';
import { RelativeTime } from '../components/RelativeTime';
import { useSearch } from '../stores/search';
import { useUi } from '../stores/ui';

export function highlight(text: string, query: string): ReactNode[] {
  const terms = (query.match(/[\p{L}\p{N}\p{M}_]+/gu) ?? []).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (terms.length === 0) return [text];
  const re = new RegExp(`(?<![\\p{L}\\p{N}\\p{M}_])(${terms.join('|')})[\\p{L}\\p{N}\\p{M}_]*`, 'giu');
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(<mark key={m.index}>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** The node's snippets are plain text cut from markdown: drop the syntax and the repeated title. */
export function cleanSnippet(snippet: string, title: string): string {
  let t = title && snippet.startsWith(`${title} — `) ? snippet.slice(title.length + 3) : snippet;
  t = t
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|\*|_|~~|`)/g, '')
    .replace(/(^|\s)(#{1,6}|>|[-+]|\d+\.)\s/g, '$1');
  return t;
}

export function Search({ initial }: { initial: string }) {
  const [q, setQ] = useState(initial);
  const { results, query, error, busy } = useSearch();
  const navigate = useUi((s) => s.navigate);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    const t = setTimeout(() => {
      void useSearch.getState().run(q);
      navigate({ name: 'search', query: q }, { replace: true });
    }, 200);
    return () => clearTimeout(t);
  }, [q, navigate]);

  return (
    <>
      <header className="page-head">
        <h1>Search</h1>
      </header>
      <div className="search-box" role="search">
        <Icon name="search" size={18} />
        <label htmlFor="search-input" className="visually-hidden">
          Search posts
        </label>
        <input
          id="search-input"
          ref={input}
          type="search"
          className="search-input"
          placeholder="Search all posts"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
      </div>
      {error ? <ErrorBanner text={error} /> : null}
      {!query.trim() ? (
        <EmptyState icon="search" title="Search every post" text="Posts from your streams and the ones you follow, found by any word in them." />
      ) : results.length === 0 && !busy ? (
        <EmptyState icon="search" title="No posts match" text={`Nothing here says “${query}”. Try fewer or other words.`} />
      ) : (
        <ul className="results" aria-label="Results">
          {results.map((r: TimelineItem & { snippet: string }) => (
            <li key={`${r.streamKey}/${r.key}`}>
              <button type="button" className="card result" onClick={() => navigate({ name: 'stream', publicKey: r.streamKey })}>
                <Avatar publicKey={r.streamKey} name={r.streamName || '?'} size={32} />
                <span className="result-main">
                  <span className="result-head">
                    <span className="result-name">{r.streamName || 'Unnamed stream'}</span>
                    <span className="post-dot" aria-hidden="true">
                      ·
                    </span>
                    <span className="post-time">
                      <RelativeTime us={r.ts} />
                    </span>
                  </span>
                  {r.title ? <span className="result-title">{highlight(r.title, query)}</span> : null}
                  <span className="result-snippet">{highlight(cleanSnippet(r.snippet, r.title), query)}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
