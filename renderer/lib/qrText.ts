// What a scanned QR code says, for the dialog that scanned it. The text is a stranger's: it is
// bounded, only its shape is checked here, and the engine's own parsers (parseReadLink,
// parsePairing) judge it when the dialog submits it, exactly as for pasted text.

/** No Drayer code is longer (a pairing code with four addresses is ~250 characters; a read link ~100). */
export const MAX_QR_TEXT = 2048;

export type ScanKind = 'device' | 'follow';

export type Scanned = { ok: true; text: string; address?: string } | { ok: false; message: string };

const B64URL_KEY = /^[A-Za-z0-9_-]{43}$/;
const B64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** A short, printable excerpt of hostile text, to say what the code holds. */
export function excerptOf(text: string, max = 60): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** A stream's phone address (Share's QR: http://host:port/<key>/ with #r=<read key> for a private stream) as a link and an address. */
function phoneAddress(text: string): { text: string; address: string } | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const m = /^\/([A-Za-z0-9_-]{43})\/?$/.exec(u.pathname);
  if (!m) return null;
  const r = new URLSearchParams(u.hash.slice(1)).get('r');
  return { text: `drayer:${m[1]}${r ? `#r=${r}` : ''}`, address: u.host };
}

function notDrayer(text: string, what: string): Scanned {
  const shown = excerptOf(text);
  const holds = /^https?:\/\//i.test(text) ? `a web address (${shown})` : shown ? `“${shown}”` : 'no text';
  return { ok: false, message: `This QR code is not a Drayer code: it holds ${holds}. ${what}` };
}

const ASK = {
  device: 'Scan the pairing code the new computer shows under “Use a stream of yours here too”.',
  follow: 'Scan the QR code under Share on the stream’s page (on the other computer or a phone showing it).',
};

/** What the scanned `raw` text gives the dialog of `kind`: the text for its field (and an address), or why it cannot. */
export function scannedFor(kind: ScanKind, raw: string): Scanned {
  if (raw.length > MAX_QR_TEXT) return { ok: false, message: `This QR code holds ${raw.length} characters, far more than any Drayer code. ${ASK[kind]}` };
  const text = raw.trim();
  const lower = text.toLowerCase();
  const device = lower.startsWith('drayer-device:');
  const link = lower.startsWith('drayer:');
  const key = B64_KEY.test(text) || B64URL_KEY.test(text);
  const phone = link || device || key ? null : phoneAddress(text);
  if (kind === 'device') {
    if (device && B64URL_KEY.test(text.slice('drayer-device:'.length).split('?')[0]!)) return { ok: true, text };
    if (device) return { ok: false, message: `This pairing code is cut or damaged. ${ASK.device}` };
    if (link || key || phone)
      return { ok: false, message: `This QR code is a stream’s link, not a device’s pairing code: follow it with Follow a stream. ${ASK.device}` };
    return notDrayer(text, ASK.device);
  }
  if (device) return { ok: false, message: 'This QR code is a device’s pairing code: add it under Devices on the page of your stream, not here.' };
  if (link && B64URL_KEY.test(text.slice('drayer:'.length).split('#')[0]!)) return { ok: true, text };
  if (link) return { ok: false, message: `This Drayer link is cut or damaged. ${ASK.follow}` };
  if (key) return { ok: true, text };
  if (phone) return { ok: true, ...phone };
  return notDrayer(text, ASK.follow);
}
