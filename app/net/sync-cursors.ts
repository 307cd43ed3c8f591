// Where a pull stands with each peer: cursors per (peer, stream) tied to the peer's store id (kept
// in the stream file or a library), per window epoch for "latest N" copies, and which peers are
// original Drayer nodes.
import type { Stream } from '../store/store.js';

export interface CursorStore {
  getCursor(peer: string, streamPk: string, nodeId: string): number;
  setCursor(peer: string, streamPk: string, nodeId: string, seq: number): void;
  /** the node id last seen for this peer and stream, so a first page can be checked */
  lastNodeId?(peer: string, streamPk: string): string | undefined;
  /** whether the peer was found to be an original Drayer node (newRecords only); kept beyond this process */
  original?(peer: string): boolean;
  setOriginal?(peer: string, yes: boolean): void;
}

/** Cursors kept in the stream file itself: one-shot CLI syncs resume without a library. */
export function streamCursors(s: Stream): CursorStore {
  const read = (peer: string): { node: string; seq: number } | undefined => {
    const v = s.meta(`cursor:${peer}`);
    if (typeof v !== 'string') return undefined;
    try {
      return JSON.parse(v);
    } catch {
      return undefined;
    }
  };
  return {
    getCursor: (peer, _pk, nodeId) => {
      const c = read(peer);
      return c && c.node === nodeId ? c.seq : 0;
    },
    setCursor: (peer, _pk, nodeId, seq) => {
      const c = read(peer);
      if (c?.node !== nodeId || c.seq !== seq) s.setMeta(`cursor:${peer}`, JSON.stringify({ node: nodeId, seq })); // unmoved: no write
    },
    lastNodeId: (peer) => read(peer)?.node,
    original: (peer) => s.meta(`original:${peer}`) === 1,
    setOriginal: (peer, yes) => {
      if (yes !== (s.meta(`original:${peer}`) === 1)) s.setMeta(`original:${peer}`, yes ? 1 : null);
    },
  };
}

/**
 * Peers found to be original Drayer nodes (they answered /changes with 404 or their error page,
 * and newRecords with records), so later pulls ask newRecords at once instead of drawing an error
 * first. Kept for this process (a node's memory, a CLI run) and bounded; the cursor store may keep
 * it longer (streamCursors: in the stream file). An answer with the Drayer-Sync header drops it.
 */
const originalPeers = new Set<string>();
const ORIGINAL_PEERS_MAX = 1024;

export function isOriginal(peer: string, cursors: CursorStore): boolean {
  return originalPeers.has(peer) || cursors.original?.(peer) === true;
}

export function rememberOriginal(peer: string, cursors: CursorStore, yes: boolean): void {
  originalPeers.delete(peer);
  if (yes) {
    originalPeers.add(peer);
    if (originalPeers.size > ORIGINAL_PEERS_MAX) originalPeers.delete(originalPeers.values().next().value!);
  }
  cursors.setOriginal?.(peer, yes);
}

/**
 * Cursors of a copy whose window was lowered are kept apart per window epoch (Stream.lowerWindow):
 * a cursor taken under a narrower filter skipped records that the copy now wants.
 */
export function windowCursors(stream: Stream, inner: CursorStore): CursorStore {
  const epoch = Number(stream.meta('windowEpoch') ?? 0);
  if (!epoch) return inner;
  const tag = `#w${epoch}`;
  return {
    getCursor: (peer, pk, node) => inner.getCursor(peer, pk, node + tag),
    setCursor: (peer, pk, node, seq) => inner.setCursor(peer, pk, node + tag, seq),
    lastNodeId: (peer, pk) => {
      const n = inner.lastNodeId?.(peer, pk);
      return n?.endsWith(tag) ? n.slice(0, -tag.length) : undefined; // another epoch's: start over
    },
  };
}
