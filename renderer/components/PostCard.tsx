// One post: avatar, stream name, time, title and markdown body; your own posts have a ⋯ menu
// (edit, delete) and edit in place, where pictures can be attached as in the composer.
import { useState } from 'react';
import type { TimelineItem } from '../api/transport';
import { Markdown } from '../lib/markdown';
import { attachTo } from '../stores/files';
import { Avatar } from './Avatar';
import { Menu } from './Menu';
import { PostEditor } from './PostEditor';
import { RelativeTime } from './RelativeTime';

export interface PostCardProps {
  item: TimelineItem;
  own: boolean;
  onOpenStream: (publicKey: string) => void;
  onDelete: (item: TimelineItem) => void;
  /** the full post to edit (the timeline holds excerpts) */
  loadFull: (item: TimelineItem) => Promise<{ title: string; body: string }>;
  onSave: (item: TimelineItem, title: string, body: string) => Promise<void>;
}

export function PostCard({ item, own, onOpenStream, onDelete, loadFull, onSave }: PostCardProps) {
  const [editing, setEditing] = useState<{ title: string; body: string } | null>(null);
  const name = item.streamName || 'Unnamed stream';
  const titleId = `post-${item.streamKey.slice(0, 8)}-${item.key}`;
  return (
    <article className="card post" aria-labelledby={item.title ? titleId : undefined} aria-label={item.title ? undefined : `Post by ${name}`} data-post-key={item.key}>
      <button type="button" className="post-avatar" onClick={() => onOpenStream(item.streamKey)} aria-label={`Open ${name}`} tabIndex={-1}>
        <Avatar publicKey={item.streamKey} name={name} />
      </button>
      <div className="post-main">
        <header className="post-head">
          <button type="button" className="post-author" onClick={() => onOpenStream(item.streamKey)}>
            {name}
          </button>
          <span className="post-dot" aria-hidden="true">·</span>
          <span className="post-time"><RelativeTime us={item.ts} /></span>
          {item.mod > item.ts + 1_000_000 ? <span className="post-edited">edited</span> : null}
          {own && !editing ? (
            <Menu
              label="Post actions"
              items={[
                { label: 'Edit', onSelect: () => void loadFull(item).then(setEditing) },
                { label: 'Delete…', danger: true, onSelect: () => onDelete(item) },
              ]}
            />
          ) : null}
        </header>
        {editing ? (
          <PostEditor
            idBase={`edit-${item.key}`}
            initialTitle={editing.title}
            initialBody={editing.body}
            submitLabel="Save"
            attach={attachTo(item.streamKey)}
            onCancel={() => setEditing(null)}
            onSubmit={async (t, b) => {
              await onSave(item, t, b);
              setEditing(null);
            }}
          />
        ) : (
          <>
            {item.title ? <h3 id={titleId} className="post-title">{item.title}</h3> : null}
            {item.body ? <Markdown source={item.body} className="md post-body" streamKey={item.streamKey} /> : null}
          </>
        )}
      </div>
    </article>
  );
}
