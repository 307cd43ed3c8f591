// Mentions (issue 21): a `drayer:<key>` link to a stream inside a post's markdown. Plain text the
// engine and the renderer both read (no Node built-ins): the node indexes who a post mentions, the
// UI renders such a link as the stream's name. A link followed by `#` (a private stream's read
// link, drayer:<key>#r=…) shares access and is not a mention.

/** Mentions a post counts at most (more are links, not notifications: a post cannot notify a thousand streams). */
export const MAX_MENTIONS = 20;
/** How much of a body is searched for them. */
const MAX_SCAN = 64 * 1024;
// 43 base64 characters (standard or URL-safe) make 32 bytes when the last one carries no stray bits
const LINK = /drayer:([A-Za-z0-9+/_-]{42}[AEIMQUYcgkosw048])=?(?![A-Za-z0-9+/_=#-])/g;

/** The standard base64 (with padding) of a key written as a mention link's 43 characters, or null. */
export function mentionKey(link: string): string | null {
  const m = /^drayer:([A-Za-z0-9+/_-]{42}[AEIMQUYcgkosw048])=?$/.exec(link.trim());
  return m ? `${m[1]!.replace(/-/g, '+').replace(/_/g, '/')}=` : null;
}

/** The streams a markdown body mentions (standard base64 keys, each once, at most MAX_MENTIONS). */
export function mentionedKeys(body: string): string[] {
  const out = new Set<string>();
  for (const m of body.slice(0, MAX_SCAN).matchAll(LINK)) {
    out.add(`${m[1]!.replace(/-/g, '+').replace(/_/g, '/')}=`);
    if (out.size >= MAX_MENTIONS) break;
  }
  return [...out];
}

/** The link a mention writes: the name as the text (brackets and breaks taken out), URL-safe base64 of the key. */
export function mentionMarkdown(name: string, publicKey: string): string {
  const text = name.replace(/[[\]\\\n\r]/g, ' ').trim() || 'stream';
  return `[@${text}](drayer:${publicKey.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')})`;
}
