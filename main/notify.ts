// Which new posts become desktop notifications. Only posts that arrived from elsewhere in streams
// you follow (never your own), only with the setting on and the window not in front, never for
// what was there before (a first clone or the app's start sets a baseline), and rate-limited: at
// most one notice per stream a minute (later posts fold into "N new posts"), a few a minute in all.
// Plain module with an injected clock (tested under Node); index.ts shows the notices.
import type { PostView, StreamSummary } from '../app/node/api.js';

export interface Notice {
  publicKey: string;
  /** the post to open, when the notice is about one post */
  postKey: string | null;
  title: string;
  body: string;
  count: number;
}

export interface NotifyContext {
  /** the notifications setting */
  enabled: boolean;
  /** the window is in front: the UI shows new posts itself */
  focused: boolean;
  /** your own stream, or one written here as a device (writtenHere) */
  owned: boolean;
  streamName: string;
}

export interface NotifyLimits {
  /** at most one notice per stream in this many ms */
  perStreamMs: number;
  /** notices in all: a burst, then one per refillMs */
  burst: number;
  refillMs: number;
}

export const DEFAULT_LIMITS: NotifyLimits = { perStreamMs: 60_000, burst: 3, refillMs: 20_000 };
const BODY_MAX = 140;

/** A stream written on this computer: owned, or as an added (or waiting) device; its posts are never news here. */
export function writtenHere(s: Pick<StreamSummary, 'owned' | 'device'>): boolean {
  return s.owned || s.device === 'listed' || s.device === 'waiting';
}

/** A line of a post for a notice: its title, else the start of its body without markdown marks. */
export function excerpt(p: Pick<PostView, 'title' | 'body'>): string {
  const t =
    p.title.trim() ||
    p.body
      .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[#>*_`~]+/g, '')
      .replace(/\s+/g, ' ')
      .trim();
  return t.length > BODY_MAX ? `${t.slice(0, BODY_MAX - 1)}…` : t || 'New post';
}

export class NotificationPolicy {
  /** per stream: the newest post ts seen (the baseline) */
  private readonly seen = new Map<string, number>();
  private readonly lastNotice = new Map<string, number>();
  /** per stream: posts held back by the per-stream limit, told with the next notice */
  private readonly pending = new Map<string, number>();
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: NotifyLimits = DEFAULT_LIMITS,
  ) {
    this.tokens = limits.burst;
    this.refilledAt = now();
  }

  /** Start from what a stream holds now, so nothing already there is announced. */
  baseline(publicKey: string, posts: readonly Pick<PostView, 'ts'>[]): void {
    this.seen.set(publicKey, Math.max(this.seen.get(publicKey) ?? 0, ...posts.map((p) => p.ts), 0));
  }

  /** The notice (or none) for a stream's latest posts (any order), after records arrived from elsewhere. */
  decide(publicKey: string, posts: readonly PostView[], ctx: NotifyContext): Notice | null {
    const before = this.seen.get(publicKey);
    this.baseline(publicKey, posts);
    if (before === undefined) return null; // first sight: a clone, or the app's start
    const fresh = posts.filter((p) => p.ts > before).sort((a, b) => b.ts - a.ts);
    if (fresh.length === 0 || !ctx.enabled || ctx.owned || ctx.focused) return null;
    const t = this.now();
    const count = fresh.length + (this.pending.get(publicKey) ?? 0);
    if (t - (this.lastNotice.get(publicKey) ?? -Infinity) < this.limits.perStreamMs || !this.take(t)) {
      this.pending.set(publicKey, count);
      return null;
    }
    this.pending.delete(publicKey);
    this.lastNotice.set(publicKey, t);
    const newest = fresh[0]!;
    return count === 1
      ? { publicKey, postKey: newest.key, title: ctx.streamName, body: excerpt(newest), count }
      : { publicKey, postKey: null, title: ctx.streamName, body: `${count} new posts. Latest: ${excerpt(newest)}`, count };
  }

  /** Forget a stream (unfollowed). */
  forget(publicKey: string): void {
    this.seen.delete(publicKey);
    this.lastNotice.delete(publicKey);
    this.pending.delete(publicKey);
  }

  private take(t: number): boolean {
    const earned = Math.floor((t - this.refilledAt) / this.limits.refillMs);
    if (earned > 0) {
      this.tokens = Math.min(this.limits.burst, this.tokens + earned);
      this.refilledAt += earned * this.limits.refillMs;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
