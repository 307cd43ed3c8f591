// Several devices on a running node (DESIGN §9): the API's listDevices, addDevice, removeDevice and
// joinAsDevice over the store's device support (store/devices.ts). A pairing code carries the new
// device's key and where it can be reached, so the owner's node pulls the device's chain from there.
import * as fs from 'node:fs';
import { DrayerError } from '../core/errors.js';
import { formatKey, keyWords, parseKey } from '../core/keys.js';
import { peerId } from '../core/peer.js';
import { cleanName } from '../core/text.js';
import { devicePathFor } from '../store/devices.js';
import { writeKeyFile } from '../store/keystore.js';
import { generateKeyPair } from '../core/crypto.js';
import type { Stream } from '../store/store.js';
import type { Arg, DevicesView, JoinedDevice, PairingCode } from './api.js';
import { afterChange } from './changes.js';
import { follow } from './follow.js';
import { ownAddresses, parseAddress } from './presence-mdns.js';
import { entryOf, streamOf, type NodeState } from './state.js';
import { summary } from './views.js';
import { deviceState } from './device-state.js';

const CODE_SCHEME = 'drayer-device:';
/** Addresses a pairing code carries at most (a computer has a few LAN addresses). */
const MAX_CODE_ADDRESSES = 4;
/** Sources an owned stream keeps at most (as setStreamSettings allows). */
const MAX_SOURCES = 64;
/** Per device, the addresses its pairing code gave (stream meta): removing it drops them from the sources. */
const DEVICE_SOURCES_META = 'deviceSources';

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The code a new device shows (as text and QR): its key, the stream's, and its addresses. */
export function pairingCode(device: Uint8Array, stream: Uint8Array, addresses: string[]): string {
  const at = addresses.slice(0, MAX_CODE_ADDRESSES).map((a) => `&at=${encodeURIComponent(a).replace(/%3A/g, ':')}`);
  return `${CODE_SCHEME}${b64url(device)}?stream=${b64url(stream)}${at.join('')}`;
}

/** A pairing code, or a device key alone (base64 or its 32 words); hostile text gets a clear error. */
export function parsePairing(text: string): { device: Uint8Array; stream?: Uint8Array; urls: string[] } {
  const t = text.trim();
  const what = 'Paste the code the new device shows under "Use this stream on this computer too", or its 32 words.';
  if (!t.toLowerCase().startsWith(CODE_SCHEME)) {
    try {
      return { device: parseKey(t), urls: [] };
    } catch (e) {
      throw new DrayerError('INVALID_ARGUMENT', `That is not a device's pairing code: ${(e as Error).message.replace(/\.$/, '')}. ${what}`);
    }
  }
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw new DrayerError('INVALID_ARGUMENT', `That pairing code is broken (it may have been cut when copied). ${what}`);
  }
  const key = (s: string | null): Uint8Array | undefined => {
    const b = s && /^[A-Za-z0-9_-]{43}$/.test(s) ? new Uint8Array(Buffer.from(s, 'base64url')) : undefined;
    return b?.length === 32 ? b : undefined;
  };
  const device = key(u.pathname);
  if (!device) throw new DrayerError('INVALID_ARGUMENT', `That pairing code holds no device key (it may have been cut when copied). ${what}`);
  const urls: string[] = [];
  for (const a of u.searchParams.getAll('at').slice(0, MAX_CODE_ADDRESSES)) {
    try {
      const { host, port } = parseAddress(a);
      const url = peerId(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
      if (!urls.includes(url)) urls.push(url);
    } catch {
      /* an address that is no URL is left out; LAN discovery may still find the device */
    }
  }
  const stream = key(u.searchParams.get('stream'));
  return { device, ...(stream ? { stream } : {}), urls };
}

function codeOf(n: NodeState, s: Stream, mine: Uint8Array): PairingCode {
  return { key: formatKey(mine), words: keyWords(mine).split(' '), code: pairingCode(mine, s.publicKey, ownAddresses(n)) };
}

export function listDevices(n: NodeState, publicKey: string): DevicesView {
  const s = streamOf(n, publicKey);
  const { list, mine } = s.devices();
  // of two entries for one key the latest wins (siblings.ts windowsOf)
  const latest = new Map<string, (typeof list)[number]>();
  for (const d of list) {
    const k = formatKey(d.pubkey);
    if (!latest.has(k) || latest.get(k)!.timestamp <= d.timestamp) latest.set(k, d);
  }
  const mineKey = mine ? formatKey(mine) : null;
  return {
    devices: [...latest.values()].map((d) => ({
      key: formatKey(d.pubkey),
      name: cleanName(d.name ?? ''),
      added: d.from,
      ...(d.to ? { removed: d.to } : {}),
      ...(formatKey(d.pubkey) === mineKey ? { thisDevice: true } : {}),
    })),
    ...(mine && !s.writable ? { mine: { ...codeOf(n, s, mine), state: deviceState(s)! } } : {}),
  };
}

function setSources(n: NodeState, s: Stream, pk: string, change: (list: string[]) => string[]): void {
  const e = entryOf(n, pk);
  const now = Array.isArray(e.settings.sources) ? e.settings.sources.filter((x): x is string => typeof x === 'string') : [];
  n.library.updateStream(pk, { settings: { ...e.settings, sources: change(now).slice(0, MAX_SOURCES) } });
}

function deviceSources(s: Stream): Record<string, string[]> {
  try {
    const v: unknown = JSON.parse(String(s.meta(DEVICE_SOURCES_META) ?? '{}'));
    return v && typeof v === 'object' ? (v as Record<string, string[]>) : {};
  } catch {
    return {};
  }
}

export function addDevice(n: NodeState, a: Arg<'addDevice'>): DevicesView {
  const s = streamOf(n, a.publicKey);
  const pk = formatKey(s.publicKey);
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', "Only a computer holding the stream's secret key adds devices to it.");
  const { device, stream, urls } = parsePairing(a.device);
  if (stream && !Buffer.from(stream).equals(Buffer.from(s.publicKey)))
    throw new DrayerError(
      'INVALID_ARGUMENT',
      'That pairing code is for another stream: on the new device, open this stream\'s "Use on this computer too" and copy its code.',
    );
  if (Buffer.from(device).equals(Buffer.from(s.publicKey))) throw new DrayerError('INVALID_ARGUMENT', "That is the stream's own key, not a device's.");
  const name = a.name?.trim() ? cleanName(a.name).slice(0, 200) : undefined;
  const r = s.addDevice(device, name);
  if (urls.length) {
    const dk = formatKey(device);
    s.setMeta(DEVICE_SOURCES_META, JSON.stringify({ ...deviceSources(s), [dk]: urls }));
    setSources(n, s, pk, (now) => [...new Set([...now, ...urls])]);
  }
  afterChange(n, s, { stored: [r], removed: [] }, true);
  return listDevices(n, pk);
}

export function removeDevice(n: NodeState, a: Arg<'removeDevice'>): DevicesView {
  const s = streamOf(n, a.publicKey);
  const pk = formatKey(s.publicKey);
  if (!s.writable) throw new DrayerError('NOT_WRITABLE', "Only a computer holding the stream's secret key removes its devices.");
  const { device } = parsePairing(a.device);
  const chainIds = (): number[] => s.db.prepare('SELECT id FROM records WHERE chain = ?').pluck().all(Buffer.from(device)) as number[];
  const held = chainIds();
  const r = s.removeDevice(device);
  // its records past its window left this copy (store/devices.ts dropAfter): the library forgets them too
  const still = new Set(chainIds());
  const removed = held.filter((id) => !still.has(id));
  const dk = formatKey(device);
  const known = deviceSources(s);
  const gone = new Set(known[dk] ?? []);
  if (gone.size) {
    delete known[dk];
    s.setMeta(DEVICE_SOURCES_META, JSON.stringify(known));
    setSources(n, s, pk, (now) => now.filter((u) => !gone.has(u)));
  }
  afterChange(n, s, { stored: [r], removed }, true);
  return listDevices(n, pk);
}

/** On a new device: an empty copy of the stream with a key pair of its own (kept like a secret key), fetched now when it can be. */
export async function joinAsDevice(n: NodeState, a: Arg<'joinAsDevice'>): Promise<JoinedDevice> {
  const name = a.name?.trim() ? cleanName(a.name).slice(0, 200) : undefined;
  let made: Uint8Array | null = null;
  let copy: string | null = null;
  const sum = await follow(n, { key: a.key, ...(a.url ? { url: a.url } : {}) }, (file) => {
    const kp = generateKeyPair();
    writeKeyFile(devicePathFor(file), kp);
    made = kp.publicKey;
    copy = file;
  }).catch((e: unknown) => {
    // a follow undone (a read link that does not open the stream): its device key goes with the copy, or the next join could not write its own there
    if (copy && !fs.existsSync(copy)) fs.rmSync(devicePathFor(copy), { force: true });
    if ((e as { code?: string }).code === 'EXISTS')
      throw new DrayerError(
        'EXISTS',
        `${(e as Error).message} To write it from this computer too, unfollow it here first (or, when it is yours, it is written here already).`,
      );
    throw e;
  });
  const s = streamOf(n, sum.publicKey);
  if (name) s.setMeta('deviceName', name);
  return { stream: summary(n, sum.publicKey), ...codeOf(n, s, made!) };
}
