// The streams a node holds, by public key (base64). Those its library lists are opened after the
// node has started, a few at a time between other work, or at once when something asks for one
// (get/has see them all): a node following 500 streams shows Home from library.db without
// waiting for 500 SQLite files to open. Iterating sees only the opened ones.
import type { Stream } from '../store/store.js';

export class HeldStreams extends Map<string, Stream> {
  /** streams not opened yet → how to open one (undefined when it cannot be opened) */
  private readonly waiting = new Map<string, () => Stream | undefined>();

  /** Hold a stream to be opened when first asked for (or by openWaiting). */
  later(publicKey: string, open: () => Stream | undefined): void {
    if (!super.has(publicKey)) this.waiting.set(publicKey, open);
  }

  /** The stream when it is open already; never opens one. */
  peek(publicKey: string): Stream | undefined {
    return super.get(publicKey);
  }

  isOpen(publicKey: string): boolean {
    return super.has(publicKey);
  }

  /** Keys of the streams not opened yet. */
  unopened(): string[] {
    return [...this.waiting.keys()];
  }

  override get(publicKey: string): Stream | undefined {
    const s = super.get(publicKey);
    if (s) return s;
    const open = this.waiting.get(publicKey);
    if (!open) return undefined;
    this.waiting.delete(publicKey);
    const opened = open();
    if (opened) super.set(publicKey, opened);
    return opened;
  }

  override has(publicKey: string): boolean {
    return super.has(publicKey) || this.waiting.has(publicKey);
  }

  override set(publicKey: string, s: Stream): this {
    this.waiting?.delete(publicKey);
    return super.set(publicKey, s);
  }

  override delete(publicKey: string): boolean {
    const waited = this.waiting.delete(publicKey);
    return super.delete(publicKey) || waited;
  }

  override clear(): void {
    this.waiting.clear();
    super.clear();
  }
}
