// `drayer device` over real HTTP on 127.0.0.1 (DESIGN §9): a new device makes its copy and key, the
// owner lists it, the device syncs and posts into its own chain, and the owner, the device and a
// follower all list one merged stream; a removed device's later posts are refused everywhere. An
// original Drayer node asks newRecords of the device's chain by its key and gets it, with `chain`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyWords, parseKey } from '../app/core/keys.js';
import type { Stream as StreamT } from '../app/store/store.js';
import { decodeOriginalAnswer, tmpDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `drayer` as a child process (async: this process serves the HTTP it talks to). */
function drayer(cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, DRAYER_DEBUG: '' } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => {
      assert.doesNotMatch(err, /\n\s+at .+:\d+:\d+/, `stack trace on stderr for ${args.join(' ')}: ${err}`);
      resolve({ code, out, err });
    });
  });
}

async function ok(cwd: string, args: string[]): Promise<Run> {
  const r = await drayer(cwd, args);
  assert.equal(r.code, 0, `drayer ${args.join(' ')} failed: ${r.err}`);
  return r;
}

const titles = async (dir: string, file: string): Promise<string[]> =>
  (JSON.parse((await ok(dir, ['ls', file, '--type', 'post', '--json'])).out) as { title?: string }[]).map((r) => r.title ?? '?');

/** Serve stream files of `dir` over HTTP on 127.0.0.1, each by its key and its devices' keys (as a node does). */
async function servers(dir: string) {
  const { LanServer } = await import('../app/net/server/server.js');
  const { Stream } = await import('../app/store/store.js');
  const open: Record<string, StreamT> = {};
  const serve = async (file: string) => {
    const lan = new LanServer({
      resolve: (k) => {
        const s = (open[file] ??= Stream.open(path.join(dir, file)));
        return Buffer.from(s.publicKey).equals(Buffer.from(k)) ? s : undefined;
      },
      resolveDevice: (k) => {
        const s = (open[file] ??= Stream.open(path.join(dir, file)));
        return s.devices().list.some((d) => Buffer.from(d.pubkey).equals(Buffer.from(k))) ? s : undefined;
      },
      shared: () => [],
    });
    return { lan, url: `http://127.0.0.1:${(await lan.listen()).port}` };
  };
  return { open, serve };
}

test('drayer device: pair, sync, post from both devices, one merged stream everywhere; remove; the original reads the device chain', async () => {
  const dir = tmpDir('drayer-devices-');
  const pk = (await ok(dir, ['create', 'owner.stream', '--name', 'Ana'])).out.trim();
  await ok(dir, ['post', 'owner.stream', '--title', 'from the desktop', '--body', 'one']);
  // The new device: an empty copy of the stream, and a key pair of its own.
  const init = await ok(dir, ['device', 'init', 'laptop.stream', '--for', pk, '--name', 'laptop']);
  const [devKey, words] = init.out.trim().split('\n');
  assert.equal(parseKey(devKey!).length, 32);
  assert.equal(words, keyWords(parseKey(devKey!)));
  assert.match(init.err, /drayer device add STREAM_FILE/);
  // a post before pairing stays in the laptop's own copy; nobody else takes it
  const ls0 = await ok(dir, ['device', 'ls', 'laptop.stream']);
  assert.match(ls0.err + ls0.out, /not listed yet|No devices/);

  // The owner lists it (a wrong key is a clear error and changes nothing).
  const bad = await drayer(dir, ['device', 'add', 'owner.stream', 'not-a-key']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^drayer: .*device init/m);
  await ok(dir, ['device', 'add', 'owner.stream', devKey!, '--name', 'laptop']);
  const listed = JSON.parse((await ok(dir, ['device', 'ls', 'owner.stream', '--json'])).out);
  assert.deepEqual(
    listed.devices.map((d: { key: string; name: string; removed: boolean }) => [d.key, d.name, d.removed]),
    [[devKey, 'laptop', false]],
  );

  // Each copy served over HTTP on 127.0.0.1, as a node serves it.
  const { open, serve } = await servers(dir);
  const desk = await serve('owner.stream');
  const lap = await serve('laptop.stream');
  try {
    await ok(dir, ['sync', 'laptop.stream', desk.url]);
    await ok(dir, ['post', 'laptop.stream', '--title', 'from the laptop', '--body', 'two']);
    await ok(dir, ['sync', 'owner.stream', lap.url]);
    await ok(dir, ['clone', desk.url, pk, 'follower.stream']);
    for (const f of ['owner.stream', 'laptop.stream', 'follower.stream']) {
      assert.deepEqual(await titles(dir, f), ['from the laptop', 'from the desktop'], `${f} lists one merged stream`);
      const v = JSON.parse((await ok(dir, ['verify', f, '--json'])).out);
      assert.deepEqual(v.problems, [], `${f} verifies`);
    }

    // Interop: an original node asks the device's chain by its key, as its httpSync does.
    const res = await fetch(`${desk.url}/${encodeURIComponent(devKey!)}/newRecords/0`);
    assert.equal(res.status, 200);
    const recs = decodeOriginalAnswer(new Uint8Array(await res.arrayBuffer())) as unknown as { chain: Uint8Array; type: string; key: string }[];
    assert.ok(recs.length >= 2, 'the device chain: its drayer/device record and its post');
    for (const r of recs) assert.ok(Buffer.from(r.chain).equals(Buffer.from(parseKey(devKey!))), 'each record carries its chain');
    const main = decodeOriginalAnswer(new Uint8Array(await (await fetch(`${desk.url}/${encodeURIComponent(pk)}/newRecords/0`)).arrayBuffer())) as unknown as {
      chain: Uint8Array;
    }[];
    assert.ok(
      main.every((r) => Buffer.from(r.chain).equals(Buffer.from(parseKey(pk)))),
      "the stream's own newRecords answers its own chain",
    );

    // Removal: the laptop's later posts are refused by the owner and the follower; its earlier one stays.
    await ok(dir, ['device', 'rm', 'owner.stream', devKey!]);
    await ok(dir, ['post', 'laptop.stream', '--title', 'after removal', '--body', 'three']);
    await ok(dir, ['sync', 'follower.stream', desk.url]);
    await ok(dir, ['sync', 'follower.stream', lap.url]);
    await ok(dir, ['sync', 'owner.stream', lap.url]);
    for (const f of ['owner.stream', 'follower.stream']) assert.deepEqual(await titles(dir, f), ['from the laptop', 'from the desktop'], f);
    const gone = JSON.parse((await ok(dir, ['device', 'ls', 'follower.stream', '--json'])).out);
    assert.equal(gone.devices[0].removed, true);
    const again = await drayer(dir, ['device', 'rm', 'owner.stream', devKey!]);
    assert.equal(again.code, 1);
    assert.match(again.err, /removed already/);
  } finally {
    for (const s of Object.values(open)) s.close();
    await desk.lan.close();
    await lap.lan.close();
  }
});

test('a device of a private stream, paired with the read link, posts sealed; the owner reads it, a blind mirror does not', async () => {
  const dir = tmpDir('drayer-devices-private-');
  const [pk, link] = (await ok(dir, ['create', 'p.stream', '--private'])).out.trim().split('\n');
  const devKey = (await ok(dir, ['device', 'init', 'pd.stream', '--for', link!])).out.split('\n')[0]!;
  await ok(dir, ['device', 'add', 'p.stream', devKey]);
  const { open, serve } = await servers(dir);
  const desk = await serve('p.stream');
  const lap = await serve('pd.stream');
  try {
    await ok(dir, ['sync', 'pd.stream', desk.url]);
    await ok(dir, ['post', 'pd.stream', '--title', 'Quokka from the laptop', '--body', 'sealed words']);
    await ok(dir, ['sync', 'p.stream', lap.url]);
    assert.deepEqual(await titles(dir, 'p.stream'), ['Quokka from the laptop']);
    await ok(dir, ['clone', desk.url, pk!, 'blind.stream']);
    const blind = JSON.parse((await ok(dir, ['ls', 'blind.stream', '--json'])).out) as { type: string }[];
    assert.ok(blind.length > 0 && blind.every((r) => r.type !== 'post'), 'a blind mirror holds only sealed records');
    for (const s of Object.values(open)) s.close();
    for (const k of Object.keys(open)) delete open[k];
    const fs = await import('node:fs');
    for (const f of ['blind.stream', 'blind.stream-wal'])
      if (fs.existsSync(path.join(dir, f))) assert.ok(!fs.readFileSync(path.join(dir, f)).includes('Quokka'), `${f} holds no plaintext`);
    // a rotation on the owner cannot seal the laptop's post again (signed by the laptop's key): it says what happens
    const rotated = await ok(dir, ['rotate', 'p.stream', '--yes']);
    assert.match(
      rotated.err,
      /1 record written by this stream's other devices is still sealed under the old read key: each device re-seals its own posts the next time it syncs/,
    );
    // the laptop's next sync takes the new key (sealed to its own key in drayer/readkeys) and seals its post again
    const synced = await ok(dir, ['sync', 'pd.stream', desk.url]);
    assert.match(synced.err, /Took the owner's new read key: 1 record of this device sealed again/);
    await ok(dir, ['sync', 'p.stream', lap.url]);
    assert.deepEqual(await titles(dir, 'p.stream'), ['Quokka from the laptop'], 'the owner reads it with the new key');
  } finally {
    for (const s of Object.values(open)) s.close();
    await desk.lan.close();
    await lap.lan.close();
  }
});
