// Delete with Undo (UI.md: a toast, 5 s). The post leaves the screen at once, but nothing is
// written until the 5 s have passed: an undone delete never reaches the stream, so followers
// never see a post vanish and come back (with a new time and an "edited" mark) and the stream
// keeps no trace of it. Closing the window within the 5 s writes the delete at once (pagehide);
// if even that cannot happen the post simply stays, which loses nothing.
import { create } from 'zustand';
import type { TimelineItem } from '../api/transport';
import { messageOf } from './errors';
import { useStreams } from './streams';
import { postId, useTimeline, type PostId } from './timeline';
import { useUi } from './ui';

export const UNDO_MS = 5000;

export const useDeletes = create<{ hidden: Record<PostId, true> }>()(() => ({ hidden: {} }));

const waiting = new Map<PostId, { timer: ReturnType<typeof setTimeout>; commit: () => Promise<void> }>();

function hide(id: PostId, on: boolean): void {
  const hidden = { ...useDeletes.getState().hidden };
  if (on) hidden[id] = true;
  else delete hidden[id];
  useDeletes.setState({ hidden });
}

/** Take a post off the screen now and delete it in UNDO_MS unless the toast's Undo is pressed. */
export function deleteWithUndo(item: TimelineItem): void {
  const id = postId(item);
  if (waiting.has(id)) return;
  hide(id, true);
  const commit = async () => {
    waiting.delete(id);
    try {
      await useTimeline.getState().remove(item);
      await useStreams
        .getState()
        .loadPosts(item.streamKey)
        .catch(() => {});
    } catch (e) {
      useUi.getState().toast(`The post was not deleted: ${messageOf(e)}`, 'error');
    } finally {
      hide(id, false);
    }
  };
  waiting.set(id, { timer: setTimeout(() => void commit(), UNDO_MS), commit });
  useUi.getState().toast('Post deleted', 'info', {
    label: 'Undo',
    run: () => {
      const w = waiting.get(id);
      if (!w) return;
      clearTimeout(w.timer);
      waiting.delete(id);
      hide(id, false);
    },
  });
}

if (typeof window !== 'undefined') {
  window.addEventListener('pagehide', () => {
    for (const w of [...waiting.values()]) {
      clearTimeout(w.timer);
      void w.commit();
    }
  });
}
