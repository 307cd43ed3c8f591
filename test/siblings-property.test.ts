// Convergence with several chains (DESIGN §9), against the real store: model/siblings.py's trial run
// on Stream files. The owner and two devices make random posts, edits and deletes, each into its own
// chain; the owner pairs devices and removes them while they keep writing (a removed device racing
// its removal); owner, devices and mirrors pull random pages of each other's change feeds with a
// cursor per source, started over when a new siblings record arrives (as sync-cursors.ts does).
// After a drain every copy but a removed device's holds the same records; an open device's chain is
// exactly what its device holds of it; a closed chain holds nothing after its window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { generateKeyPair } from '../app/core/crypto.js';
import { decodeSiblings } from '../app/core/siblings.js';
import { Stream, writeKeyFile } from '../app/store/store.js';
import { devicePathFor } from '../app/store/devices.js';
import { tmpDir } from './helpers.js';
import { rng } from './rng.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** A copy of the stream and where it stands with each source. */
interface Copy {
  name: string;
  s: Stream;
  cursors: Map<string, number>;
}

function pull(dst: Copy, src: Copy, pageSize?: number): void {
  const since = dst.cursors.get(src.name) ?? 0;
  const page = src.s.changesSince(since, { limit: pageSize ?? 1_000_000 });
  const res = dst.s.apply(page.records);
  // a new siblings record starts every cursor over (windowEpoch: sync-cursors.ts windowCursors)
  if (res.siblingsChanged) dst.cursors.clear();
  else dst.cursors.set(src.name, page.seq);
}

const state = (s: Stream) =>
  [...s.iterate({ withValues: true })]
    .map((r) => [b64(r.chain).slice(0, 8), r.id, r.type, r.key, r.mod, r.prev, r.prevch, b64(r.hash).slice(0, 8)].join(' '))
    .sort();

function trial(seed: number): string | null {
  const rnd = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const dir = tmpDir('drayer-sib-prop-');
  const make = (name: string, opts: Parameters<typeof Stream.create>[1]): Copy => ({
    name,
    s: Stream.create(path.join(dir, `${name}.stream`), opts),
    cursors: new Map(),
  });
  const owner = make('owner', { name: 'owner' });
  const pk = owner.s.publicKey;
  const devs: Copy[] = [];
  const mirrors = [make('m1', { followKey: pk }), make('m2', { followKey: pk })];
  const removed = new Map<string, number>(); // device name → window end
  const keys = new Map<Copy, string[]>([[owner, []]]);
  let n = 0;
  const all = () => [owner, ...devs, ...mirrors];
  try {
    const steps = 30 + Math.floor(rnd() * 50);
    for (let step = 0; step < steps; step++) {
      const op = rnd();
      if (op < 0.06 && devs.length < 2) {
        const name = `dev${devs.length + 1}`;
        const file = path.join(dir, `${name}.stream`);
        Stream.create(file, { followKey: pk }).close();
        writeKeyFile(devicePathFor(file), generateKeyPair());
        const d: Copy = { name, s: Stream.open(file), cursors: new Map() };
        owner.s.addDevice(d.s.devices().mine!, name);
        for (let i = 0; i < 3; i++) pull(d, owner); // the new device syncs before it posts
        devs.push(d);
        keys.set(d, []);
      } else if (op < 0.09 && devs.some((d) => !removed.has(d.name))) {
        const d = pick(devs.filter((x) => !removed.has(x.name)));
        owner.s.removeDevice(d.s.devices().mine!);
        const entry = decodeSiblings(owner.s.get('drayer', 'siblings')!.val!).find((x) => b64(x.pubkey) === b64(d.s.devices().mine!))!;
        removed.set(d.name, entry.to);
      } else {
        const w = pick([owner, ...devs]);
        const ks = keys.get(w)!;
        const r = rnd();
        try {
          if (r < 0.5 || ks.length === 0) {
            const k = `k${++n}`;
            w.s.put('post', k, new TextEncoder().encode(`v${step}`));
            ks.push(k);
          } else if (r < 0.75) w.s.put('post', pick(ks), new TextEncoder().encode(`e${step}`));
          else {
            const k = pick(ks);
            w.s.delete('post', k);
            ks.splice(ks.indexOf(k), 1);
          }
        } catch (e) {
          // a device that has synced its removal writes nothing (one that has not races it); nor, between two
          // partial syncs, one whose copy holds no siblings record for a moment (the owner re-issued it)
          if (w === owner || (e as { code?: string }).code !== 'NOT_WRITABLE') throw e;
        }
      }
      for (let i = Math.floor(rnd() * 4); i > 0; i--) {
        const a = pick(all());
        const b = pick(all().filter((x) => x !== a));
        pull(a, b, 1 + Math.floor(rnd() * 6));
      }
    }
    // drain: everyone pulls everyone, in random order, until nothing changes
    for (let round = 0; round < 20; round++) {
      const before = all().map((c) => state(c.s).join('\n'));
      for (const a of all().sort(() => rnd() - 0.5)) for (const b of all().sort(() => rnd() - 0.5)) if (a !== b) pull(a, b);
      if (all().every((c, i) => state(c.s).join('\n') === before[i])) break;
    }
    const want = state(owner.s);
    for (const c of all()) {
      if (removed.has(c.name)) continue; // a removed device's own copy keeps what it wrote since: its business
      const got = state(c.s);
      if (got.join('\n') !== want.join('\n')) return `seed ${seed}: ${c.name} differs from the owner\n got  ${got.join(' | ')}\n want ${want.join(' | ')}`;
    }
    for (const d of devs) {
      const chain = b64(d.s.devices().mine!).slice(0, 8);
      const held = want.filter((x) => x.startsWith(chain + ' '));
      const own = state(d.s).filter((x) => x.startsWith(chain + ' '));
      const to = removed.get(d.name);
      if (to === undefined && held.join('\n') !== own.join('\n'))
        return `seed ${seed}: ${d.name}'s open chain differs from the device's own\n got  ${held}\n want ${own}`;
      if (to !== undefined && held.some((x) => Number(x.split(' ')[4]) > to)) return `seed ${seed}: ${d.name}'s chain holds records after its removal`;
    }
    return null;
  } finally {
    for (const c of all()) c.s.close();
  }
}

test('several chains converge: random writes on each device, random syncs, devices removed while they write', () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 40; seed++) {
    const e = trial(seed);
    if (e) failures.push(e);
  }
  assert.deepEqual(failures.slice(0, 2), [], `${failures.length} of 40 trials failed`);
});
