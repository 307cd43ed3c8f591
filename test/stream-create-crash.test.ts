// A new stream file is a copy of an empty schema already in WAL mode, its meta rows written by the
// first transaction (store.ts create): whatever a crash in the middle leaves must open as a stream
// or be refused clearly (a DrayerError saying what the file is), never half-read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Stream } from '../app/store/store.js';
import { emptyStreamImage } from '../app/store/schema.js';
import { isDrayerError } from '../app/core/errors.js';
import { tmpDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Open what is at `f` as a stream: 'opened', or the code of the clear refusal (anything else fails the test). */
function openOrRefused(f: string): string {
  try {
    const s = Stream.open(f);
    // opened: it is a whole stream, readable and writable as any mirror
    assert.equal(s.publicKey.length, 32);
    assert.equal(s.count(), 0);
    s.close();
    return 'opened';
  } catch (e) {
    assert.ok(isDrayerError(e), `${f}: ${String(e)}`);
    assert.ok(['NOT_A_STREAM', 'CORRUPT'].includes(e.code), `${f}: ${e.code} ${e.message}`);
    assert.match(e.message, new RegExp(path.basename(f).replace('.', '\\.')));
    return e.code;
  }
}

test('a new stream file cut short anywhere (a torn write) opens or is refused clearly', () => {
  const d = tmpDir();
  const image = emptyStreamImage();
  assert.equal(image[18], 2, 'the copy is in WAL mode already');
  assert.equal(image[19], 2);
  const seen = new Set<string>();
  for (const len of [0, 1, 50, 99, 100, 101, 4095, 4096, 4097, 8192, image.length >> 1, image.length - 4096, image.length - 1, image.length]) {
    const f = path.join(d, `cut${len}.stream`);
    fs.writeFileSync(f, image.subarray(0, len));
    const got = openOrRefused(f);
    seen.add(got);
    // never taken as a stream without its meta rows, and never written over by a create
    assert.notEqual(got, 'opened', `cut at ${len}`);
    assert.throws(
      () => Stream.create(f, { followKey: new Uint8Array(32).fill(7) }),
      (e: unknown) => isDrayerError(e, 'EXISTS'),
    );
  }
  assert.ok(seen.has('NOT_A_STREAM'));
});

test('a process killed while it creates stream files leaves files that open or are refused clearly', async () => {
  const d = tmpDir();
  const storeUrl = pathToFileURL(path.join(here, '../app/store/store.js')).href;
  // creates mirrors in a loop until killed; says 'go' when the first is made
  const code = `
    const { Stream } = await import(${JSON.stringify(storeUrl)});
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; ; i++) {
      Stream.create(${JSON.stringify(d)} + '/s' + i + '.stream', { followKey: randomBytes(32) });
      if (i === 0) process.stdout.write('go');
    }`;
  let opened = 0;
  for (let round = 0; round < 6; round++) {
    const dir = path.join(d, String(round));
    fs.mkdirSync(dir);
    const child = spawn(process.execPath, ['--input-type=module', '-e', code.replaceAll(JSON.stringify(d), JSON.stringify(dir))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 20 + round * 37));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.stream'));
    assert.ok(files.length >= 1, `round ${round}: ${files.length} files`);
    for (const f of files) if (openOrRefused(path.join(dir, f)) === 'opened') opened++;
  }
  // each round's first file was made whole before the kill (it said 'go' after it)
  assert.ok(opened >= 6, `${opened} whole files opened`);
});
