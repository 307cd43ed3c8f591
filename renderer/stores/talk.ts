// Conversations (issue 21) in the UI: replying and reacting through the API, and a version that
// moves with every change of records, so what shows replies and reactions (a thread, a stream's
// posts) reads again when a reply or a reaction arrives from any stream.
import { create } from 'zustand';
import { transport } from '../api';
import type { ReactionCount, TimelineItem } from '../api/transport';
import { useTimeline } from './timeline';

interface TalkState {
  /** moves with every recordsChanged event (events.ts) */
  version: number;
  bump(): void;
  reply(asStream: string, to: TimelineItem, title: string, body: string): Promise<void>;
  /** re-share `to` as `asStream`, the comment the re-share's body (may be empty) */
  reshare(asStream: string, to: TimelineItem, comment: string): Promise<void>;
  /** react as `asStream`; the same emoji again takes the reaction back. The post's reactions after. */
  react(asStream: string, to: TimelineItem, emoji: string, mine: string | null): Promise<ReactionCount[]>;
}

export const useTalk = create<TalkState>()((set, get) => ({
  version: 0,
  bump() {
    set({ version: get().version + 1 });
  },
  async reply(asStream, to, title, body) {
    await transport().call('post', { publicKey: asStream, title, body, replyTo: { streamKey: to.streamKey, key: to.key } });
    get().bump();
    await useTimeline.getState().refreshHead(true);
  },
  async reshare(asStream, to, comment) {
    await transport().call('post', { publicKey: asStream, title: '', body: comment, reshare: { streamKey: to.streamKey, key: to.key } });
    get().bump();
    await useTimeline.getState().refreshHead(true);
  },
  async react(asStream, to, emoji, mine) {
    const out = await transport().call('react', { publicKey: asStream, streamKey: to.streamKey, key: to.key, emoji: mine === emoji ? null : emoji });
    get().bump();
    return out;
  },
}));
