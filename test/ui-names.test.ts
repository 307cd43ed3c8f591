// Names that lie, in the desktop UI (issue 14.8): a followed stream whose signed name holds
// terminal escapes and a newline, and whose file name holds a bidi override. A real Chromium
// against a real headless node: the name shows cleaned, the file with the override written out
// and typed by its real extension, never previewed as the picture it pretends to be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encode } from '@msgpack/msgpack';
import { Stream } from '../app/store/store.js';
import { shoot, uiSuite } from './ui-harness.js';
import { tmpDir } from './helpers.js';

const ui = uiSuite();

test("a hostile stream's name and bidi file name show neutralised in the Files tab", async () => {
  const dir = tmpDir();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  // the author's copy, signed by its own key; the node holds a mirror (no key beside it)
  const s = Stream.create(path.join(dir, 'evil.stream'), { name: 'Evil\x1b]0;pwned\x07\nFAKE LOG LINE' });
  const header = encode({ enc: 'binary', time: Date.now() * 1000, mime: 'image/jpeg' });
  const body = new TextEncoder().encode('MZ a program');
  const val = new Uint8Array(4 + header.length + body.length);
  new DataView(val.buffer).setUint32(0, header.length, true);
  val.set(header, 4);
  val.set(body, 4 + header.length);
  s.put('file', 'docs/\u202egpj.exe', val);
  const pk = Buffer.from(s.publicKey).toString('base64');
  s.close();
  fs.copyFileSync(path.join(dir, 'evil.stream'), path.join(dataDir, 'evil.stream'));
  const node = await ui.node('names', { dataDir });

  await ui.withApp(`${node.url}#/stream/${encodeURIComponent(pk)}/files`, async ({ page, problems }) => {
    // the file sits under its folder's row (docs/), which names the folder
    const row = page.locator('.folder-files .file-row:not(.folder-row)').first();
    await row.waitFor();
    assert.equal(await page.locator('.folder-row .file-base').first().textContent(), 'docs/');
    assert.equal(await row.locator('.file-base').textContent(), '\u2039U+202E\u203agpj.exe');
    assert.equal(await row.locator('.file-type').textContent(), 'EXE file', 'typed by its real extension, not as the image it claims');
    const text = await page.locator('body').innerText();
    assert.ok(!/[\u202e\x1b\x07]/.test(text), 'no bidi override or escape anywhere on the page');
    assert.ok(text.includes('Evil]0;pwned FAKE LOG LINE'), 'the name, cleaned');
    await shoot(page, 'names-hostile-files-light-wide');
    // opening it never previews it as a picture
    await row.locator('.file-name').click();
    await page.waitForTimeout(300);
    assert.equal(await page.locator('.dialog img').count(), 0);
    assert.deepEqual(problems.errors, []);
  });
});
