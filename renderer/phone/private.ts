// A phone reading a private stream (DESIGN §8): the page's one script. The read key is in the
// address's fragment (#r=…), which the browser never sends; the LAN server gives the sealed
// records as it stores them (GET sealed), and this opens them with the engine's own layout
// (app/core/sealed-open.ts, shared with app/core/private.ts): subkeys are keyed BLAKE2b-256 of a
// context string, values are nonce(24) ‖ secretbox(msgpack{type, key, val}). Everything from the stream is untrusted: it is
// put in the page as text nodes and a fixed set of elements, never as HTML.
import { decode } from '@msgpack/msgpack';
import { blake2b } from '@noble/hashes/blake2.js';
import { Lexer, type Token } from 'marked';
import nacl from 'tweetnacl';
import { toPgpWords } from '../../app/core/pgpwords';
import { chunkNonce, isOpened, opaqueKeyMessage, openSealed, subkeys, type OpenedValue } from '../../app/core/sealed-open';
import { avatarColor, initials } from '../lib/avatar';
import { streamFileRef } from '../lib/files';
import { bigManifest, bigPictureOf, pictureCache, pictureOf, sealedBig } from './sealed-files';

const keyed = (key: Uint8Array, data: Uint8Array): Uint8Array => blake2b(data, { key, dkLen: 32 });

/** The limits core/private.ts's SEALED_LIMITS put on what a sealed value holds. */
const LIMITS = { maxStrLength: 4096, maxBinLength: 8 * 1024 * 1024, maxArrayLength: 0, maxMapLength: 8, maxExtLength: 0 };
const MAX_MD_DEPTH = 24;
const SAFE_LINK = /^(https?:|mailto:)/i;

function fromB64(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toB64url(b: Uint8Array): string {
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const secretboxOpen = (box: Uint8Array, nonce: Uint8Array, key: Uint8Array) => nacl.secretbox.open(box, nonce, key);

class Reader {
  private readonly sealKey: Uint8Array;
  private readonly keyKey: Uint8Array;
  private readonly fileRoot: Uint8Array;
  readonly check: Uint8Array;

  constructor(readKey: Uint8Array) {
    const k = subkeys((data) => keyed(readKey, data));
    this.sealKey = k.seal;
    this.keyKey = k.keyKey;
    this.check = k.check;
    this.fileRoot = k.fileRoot;
  }

  /** Chunk i of a big file sealed under `prefix` (ReadKey.fileCipher), or null when it does not open. */
  openChunk(prefix: Uint8Array, i: number, sealed: Uint8Array): Uint8Array | null {
    return secretboxOpen(sealed, chunkNonce(prefix, i), keyed(this.fileRoot, prefix));
  }

  opaqueKey(type: string, key: string): string {
    return toB64url(keyed(this.keyKey, opaqueKeyMessage(type, key)));
  }

  /** The record a sealed value holds, or null when it does not open (altered) or is not the record its key names. */
  open(sealed: Uint8Array, opaqueKey: string): OpenedValue | null {
    const r = openSealed(sealed, this.sealKey, secretboxOpen, (plain) => decode(plain, LIMITS), {
      opaqueKey,
      opaque: (t, k) => this.opaqueKey(t, k),
    });
    return isOpened(r) ? r : null;
  }
}

interface Page {
  marker: string | null;
  records: [string, number, string][];
  next: string | null;
}

const $ = (id: string) => document.getElementById(id)!;
const el = (tag: string, cls?: string, text?: string): HTMLElement => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function status(text: string): void {
  $('status').textContent = text;
}

async function fetchPage(query: string): Promise<Page> {
  const res = await fetch(`sealed${query}`, { headers: { accept: 'application/json' }, credentials: 'omit' });
  if (!res.ok) throw new Error(`The computer sharing this stream answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const p = (await res.json()) as Page;
  if (!p || !Array.isArray(p.records)) throw new Error('The computer sharing this stream sent something this page does not read.');
  return p;
}

/** A chunk as stored (sealed), by its hash; bounded. */
async function fetchChunk(hash: Uint8Array): Promise<Uint8Array> {
  const hex = Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
  const res = await fetch(`chunk/${hex}`, { credentials: 'omit' });
  if (!res.ok) throw new Error(`chunk ${hex} is not here (${res.status})`);
  const b = new Uint8Array(await res.arrayBuffer());
  if (b.length > 1024 * 1024 + 64) throw new Error('a chunk larger than any chunk');
  return b;
}

/** Text keeps markdown's entity references as the characters they mean (as markdown-html.ts does). */
function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? m);
}

/** Markdown tokens as a fixed set of elements; what is not among them shows as its text. */
function render(tokens: Token[], parent: HTMLElement, depth: number): void {
  for (const t of tokens) parent.appendChild(node(t, depth));
}

function node(t: Token, depth: number): Node {
  const kids = (tag: string, list: Token[] | undefined, cls?: string) => {
    const e = el(tag, cls);
    if (list && depth < MAX_MD_DEPTH) render(list, e, depth + 1);
    else e.textContent = decodeEntities('text' in t && typeof t.text === 'string' ? t.text : t.raw);
    return e;
  };
  switch (t.type) {
    case 'paragraph':
      return kids('p', t.tokens);
    case 'heading':
      return kids(`h${Math.min(6, t.depth + 2)}`, t.tokens);
    case 'text':
      return t.tokens ? kids('span', t.tokens) : document.createTextNode(decodeEntities(t.text));
    case 'escape':
      return document.createTextNode(t.text);
    case 'strong':
    case 'em':
    case 'del':
      return kids(t.type, t.tokens);
    case 'codespan':
      return el('code', undefined, decodeEntities(t.text));
    case 'code': {
      const pre = el('pre');
      pre.appendChild(el('code', undefined, t.text));
      return pre;
    }
    case 'blockquote':
      return kids('blockquote', t.tokens);
    case 'list': {
      const list = el(t.ordered ? 'ol' : 'ul');
      for (const item of t.items) list.appendChild(kids('li', item.tokens));
      return list;
    }
    case 'link': {
      if (!SAFE_LINK.test(t.href.trim())) return kids('span', t.tokens);
      const a = kids('a', t.tokens) as HTMLAnchorElement;
      a.href = t.href.trim();
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      return a;
    }
    case 'image': {
      // the stream's pictures are sealed files: the alt text stands in until the picture is opened here
      const alt = el('span', 'img-alt', t.text ? `[${t.text}]` : '[picture]');
      const path = streamFileRef(t.href);
      if (path && picture) {
        void picture(path).then((url) => {
          if (!url || !alt.isConnected) return;
          const img = document.createElement('img');
          img.alt = t.text;
          img.src = url;
          alt.replaceWith(img);
        });
      }
      return alt;
    }
    case 'br':
      return el('br');
    case 'hr':
      return el('hr');
    case 'space':
      return document.createTextNode('');
    default:
      return document.createTextNode(t.raw);
  }
}

function bodyOf(text: string): HTMLElement {
  const div = el('div', 'body');
  try {
    render(new Lexer().lex(text), div, 0);
  } catch {
    div.replaceChildren(el('p', 'plain', text));
  }
  return div;
}

/** The stream's pictures by path, opened on this device (set once the read key opened the stream). */
let picture: ((path: string) => Promise<string | null>) | null = null;
/** The stream's avatar picture, when its profile names one that opened. */
let avatarUrl: string | null = null;

// The app's generated avatars (lib/avatar.ts): initials on a colour from the key, as in the app;
// the stream's own picture where it has one.
function paintAvatar(e: HTMLElement, name: string): void {
  if (avatarUrl) {
    const img = document.createElement('img');
    img.src = avatarUrl;
    img.alt = '';
    e.replaceChildren(img);
    e.style.background = '';
    e.classList.add('has-picture');
    return;
  }
  e.textContent = initials(name);
  e.style.background = avatarColor(($('key').textContent ?? '').trim());
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A post another post names (a reply's or a re-share's), as app/store/talk.ts reads it: anything malformed is none. */
interface PostRef {
  stream: string;
  post: string;
}

function refOf(v: unknown): PostRef | null {
  if (!v || typeof v !== 'object') return null;
  const { stream, post } = v as { stream?: unknown; post?: unknown };
  if (typeof stream !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(stream)) return null;
  return typeof post === 'string' && post !== '' && post.length <= 4096 ? { stream, post } : null;
}

interface Shown {
  title: string;
  body: string;
  reply: PostRef | null;
  reshare: PostRef | null;
}

/** A post's value: {title, body} and what it answers or shares (the public page's words for both). */
function postOf(val: Uint8Array): Shown {
  let p: Record<string, unknown> | null = null;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(val));
    p = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return { title: '', body: new TextDecoder().decode(val), reply: null, reshare: null };
  }
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return { title: str(p?.title), body: str(p?.body), reply: refOf(p?.reply), reshare: refOf(p?.reshare) };
}

/** "↩ in reply to NAME" / "↻ re-shared from NAME", as the public page writes them; NAME is text in a <bdi>. */
function talkLine(mark: string, words: string, name: string): HTMLElement {
  const line = el('p', 'meta reply', `${mark} ${words} `);
  line.appendChild(el('bdi', undefined, name));
  return line;
}

function titleAndBody(parent: HTMLElement, title: string, body: string): void {
  if (title) {
    const h = el('h3', 'title', title);
    h.dir = 'auto';
    parent.appendChild(h);
  }
  if (body) {
    const d = bodyOf(body);
    d.dir = 'auto';
    parent.appendChild(d);
  }
}

/** What a reply or re-share names, as this page can say it: its own stream by name, any other by its key's words (as the public page does for a stream it does not hold). */
function nameOf(ref: PostRef, own: { key: string; name: string }): string {
  if (ref.stream === own.key) return own.name;
  return toPgpWords(fromB64(ref.stream).subarray(0, 4));
}

function postCard(name: string, ts: number, post: Shown, own: { key: string; name: string }): HTMLElement {
  const article = el('article');
  const head = el('header');
  const avatar = head.appendChild(el('span', 'avatar mini'));
  avatar.setAttribute('aria-hidden', 'true');
  paintAvatar(avatar, name);
  const who = el('span', 'who');
  who.appendChild(el('b')).appendChild(el('bdi', undefined, name)); // isolated, and aligned with the time below it
  const time = el('time', undefined, when.format(new Date(ts / 1000))) as HTMLTimeElement;
  time.dateTime = new Date(ts / 1000).toISOString();
  who.appendChild(time);
  head.appendChild(who);
  article.appendChild(head);
  if (post.reply) article.appendChild(talkLine('\u21a9', 'in reply to', nameOf(post.reply, own)));
  if (post.reshare) article.appendChild(talkLine('\u21bb', 're-shared from', nameOf(post.reshare, own)));
  titleAndBody(article, post.title, post.body);
  return article;
}

function readKeyOfAddress(): Uint8Array | null {
  const r = new URLSearchParams(location.hash.slice(1)).get('r');
  if (!r || !/^[A-Za-z0-9_-]{43}=?$/.test(r)) return null;
  const bytes = fromB64(r.replace(/=$/, ''));
  return bytes.length === 32 ? bytes : null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function main(): Promise<void> {
  const rk = readKeyOfAddress();
  if (!rk) {
    status('This stream is private. Its page needs the read key in its address (after #r=): scan the QR code its owner shares, or open their whole link.');
    return;
  }
  const reader = new Reader(rk);
  const infoKey = reader.opaqueKey('drayer', 'info');
  const first = await fetchPage(`?key=${infoKey}`);
  if (first.marker) {
    let m: unknown;
    try {
      m = decode(fromB64(first.marker), { ...LIMITS, maxBinLength: 256 });
    } catch {
      m = null;
    }
    const check = (m as { check?: unknown } | null)?.check;
    if (check instanceof Uint8Array && !sameBytes(check, reader.check)) {
      status('The key in this address is not this stream’s (a cut or mistyped link, or a key the owner has since changed). Ask the owner to share it again.');
      return;
    }
  }
  picture = pictureCache(async (path) => {
    const key = reader.opaqueKey('file', path);
    const r = (await fetchPage(`?key=${key}`)).records[0];
    if (!r) return null;
    const stored = fromB64(r[2]);
    const big = sealedBig(stored);
    const f = reader.open(big ? big.sealed : stored, r[0]);
    if (!f || f.type !== 'file' || f.key !== path) return null;
    if (!big) return pictureOf(path, f.val);
    const m = bigManifest(f.val);
    return m && bigPictureOf(m, big.chunks, async (i, hash) => reader.openChunk(m.prefix, i, await fetchChunk(hash)));
  });
  let name = 'A private stream';
  const info = first.records[0];
  const opened = info ? reader.open(fromB64(info[2]), info[0]) : null;
  if (opened) {
    try {
      const i = decode(opened.val, { ...LIMITS, maxArrayLength: 64, maxMapLength: 64 }) as { name?: unknown; about?: unknown; avatar?: unknown } | null;
      if (typeof i?.name === 'string' && i.name.trim()) name = i.name.trim();
      if (typeof i?.about === 'string') $('about').textContent = i.about;
      const avatar = typeof i?.avatar === 'string' ? streamFileRef(i.avatar) : null;
      if (avatar) avatarUrl = await picture(avatar); // one small fetch before the posts, so every card shows it
    } catch {
      // a profile that does not decode leaves the page's own words
    }
  }
  $('name').textContent = name;
  paintAvatar($('avatar'), name);
  $('name').dir = 'auto';
  $('about').dir = 'auto';
  document.title = name;
  const posts = $('posts');
  const own = { key: ($('key').textContent ?? '').trim(), name };
  let shown = 0;
  let sealed = 0;
  const more = el('button', 'more', 'Older posts') as HTMLButtonElement;
  more.type = 'button';
  const load = async (before: string | null) => {
    more.disabled = true;
    const page = await fetchPage(before ? `?before=${encodeURIComponent(before)}` : '');
    for (const [key, ts, val] of page.records) {
      const stored = fromB64(val);
      const r = reader.open(sealedBig(stored)?.sealed ?? stored, key); // a big file's record: its sealed part, after the clear chunk list
      if (!r) {
        sealed++;
        continue;
      }
      if (r.type !== 'post') continue;
      const post = postOf(r.val);
      posts.insertBefore(postCard(name, ts, post, own), more.isConnected ? more : null);
      shown++;
    }
    status(
      `${shown === 1 ? '1 post' : `${shown} posts`}${page.next ? ' so far' : ''} · decrypted on this device${sealed ? ` · ${sealed} records did not open (altered, or sealed with another key)` : ''}`,
    );
    if (page.next) {
      more.onclick = () => void load(page.next).catch(fail);
      more.disabled = false;
      if (!more.isConnected) posts.appendChild(more);
    } else more.remove();
    if (!page.next && shown === 0) posts.appendChild(el('p', 'empty', 'No posts yet.'));
  };
  await load(null);
}

function fail(e: unknown): void {
  status(`This page could not read the stream: ${e instanceof Error ? e.message : String(e)} Reload to try again.`);
}

// a key pasted into the address (or a second link opened in this tab) reads again from the start
window.addEventListener('hashchange', () => location.reload());
main().catch(fail);
