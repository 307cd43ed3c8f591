// Names that lie (issue 14.8): a stream's signed name with terminal escapes and a newline, a file
// name with a bidi override. Shown and logged cleaned; refused when adding; a hostile stream's
// such file shown with the character written out and served only as a download.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import { DrayerNode } from '../app/node/node.js';
import { addPost } from '../app/store/posts.js';
import { Stream } from '../app/store/store.js';
import { cleanName, jsonSafe, pathCharProblem, terminalSafe, visiblePath } from '../app/core/text.js';
import { cleanName as discoveryName } from '../app/net/discovery-wire.js';
import { streamPage } from '../app/net/server/webpage.js';
import { tmpDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/drayer.js', import.meta.url));

const HOSTILE = 'Evil\x1b]0;pwned\x07 name\nFAKE LOG LINE: everything is fine';
const RLO_FILE = '\u202egpj.exe';
const ESC = '\x1b';

/** No ESC, BEL or bidi override anywhere, and no line that starts with the forged text. */
function assertClean(text: string, where: string): void {
  assert.ok(!text.includes(ESC), `${where} holds an ESC: ${JSON.stringify(text)}`);
  assert.ok(!text.includes('\x07'), `${where} holds a BEL: ${JSON.stringify(text)}`);
  assert.ok(!text.includes('\u202e'), `${where} holds U+202E: ${JSON.stringify(text)}`);
  for (const line of text.split(/\r\n|\r|\n/)) assert.ok(!line.trimStart().startsWith('FAKE LOG LINE'), `${where} has a forged line: ${JSON.stringify(text)}`);
}

/** A stream signed by its author (a real key) whose name and one file's name are hostile. */
function hostileStream(file: string): Stream {
  const s = Stream.create(file, { name: HOSTILE, about: 'line one\n\x1b[2Jline two' });
  // the author writes the file record directly: the value layout of a small file (files.ts)
  const header = encode({ enc: 'binary', time: Date.now() * 1000, mime: 'image/jpeg' });
  const body = new TextEncoder().encode('MZ this is a program');
  const val = new Uint8Array(4 + header.length + body.length);
  new DataView(val.buffer).setUint32(0, header.length, true);
  val.set(header, 4);
  val.set(body, 4 + header.length);
  s.put('file', RLO_FILE, val);
  addPost(s, { title: 'hello', body: 'a post' });
  return s;
}

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

test('cleanName, terminalSafe, jsonSafe, visiblePath and pathCharProblem', () => {
  assert.equal(cleanName(HOSTILE), 'Evil]0;pwned name FAKE LOG LINE: everything is fine');
  assert.equal(cleanName('a\u202eb\u2066c\u200fd\u061ce\u200bf\ufeffg'), 'abcdefg');
  assert.equal(cleanName('  two\t\tspaces\r\nand \u2028lines  '), 'two spaces and lines');
  assert.equal(cleanName('👩\u200d💻 می\u200cخواهم'), '👩\u200d💻 می\u200cخواهم', 'ZWJ (emoji) and ZWNJ (Persian) stay');
  assert.equal(cleanName('مرحبا بالعالم'), 'مرحبا بالعالم', 'Arabic text stays as it is');
  assert.equal(cleanName('x'.repeat(300), 200).length, 200);
  assert.equal(cleanName('\ud800broken'), '\ufffdbroken');
  assert.equal(cleanName(42), '');
  assert.equal(discoveryName('\x1b[31mred\u202e'), '[31mred', 'discovery names are cleaned the same way');

  assert.equal(terminalSafe('ok\x1b]0;t\x07\nnext\tline\u009b2J\u202e'), 'ok]0;t\nnext\tline2J');
  const json = jsonSafe(JSON.stringify({ n: 'a\u202eb\u009bc\x1bd' }));
  assert.ok(!/[\u202e\u009b\x1b]/.test(json));
  assert.deepEqual(JSON.parse(json), { n: 'a\u202eb\u009bc\x1bd' }, 'the JSON still means the same');

  assert.equal(visiblePath(RLO_FILE), '\u2039U+202E\u203agpj.exe');
  assert.equal(visiblePath('dir/\x1b[2Ja.txt'), 'dir/\u2039U+001B\u203a[2Ja.txt');
  assert.equal(visiblePath('plain/name.jpg'), 'plain/name.jpg');
  assert.match(pathCharProblem(RLO_FILE)!, /character 1 is U\+202E RIGHT-TO-LEFT OVERRIDE, which reorders how the name reads/);
  assert.match(pathCharProblem('photos/a\u2066b.png')!, /character 9 is U\+2066 LEFT-TO-RIGHT ISOLATE/);
  assert.match(pathCharProblem('a\u0085b')!, /character 2 is U\+0085 \(a control character\), which a terminal or a log would act on/);
  assert.equal(pathCharProblem('👩\u200d💻/مرحبا.txt'), null);
});

test('drayer info and a drayer serve child never print a hostile name raw', async () => {
  const dir = tmpDir();
  hostileStream(path.join(dir, 'evil.stream')).close();

  const info = spawnSync(process.execPath, [BIN, 'info', 'evil.stream'], { cwd: dir, encoding: 'utf8' });
  assert.equal(info.status, 0, info.stderr);
  assertClean(info.stdout + info.stderr, 'drayer info');
  assert.match(info.stdout, /^Name: +Evil\]0;pwned name FAKE LOG LINE: everything is fine$/m, 'the name shows, on one line, without its escapes');
  assert.match(info.stdout, /^About: +line one\n {14}\[2Jline two$/m, 'the about text keeps its lines, indented under its label');
  const asJson = spawnSync(process.execPath, [BIN, 'info', 'evil.stream', '--json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(asJson.status, 0, asJson.stderr);
  assertClean(asJson.stdout, 'drayer info --json');
  assert.equal(JSON.parse(asJson.stdout).nameFromKey, false);

  // the node's log: a real `drayer serve` finds the stream in its data directory and says so
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.copyFileSync(path.join(dir, 'evil.stream'), path.join(data, 'evil.stream')); // a mirror: no key beside it
  const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--host', '127.0.0.1', '--port', '0', '--no-discovery'], {
    cwd: dir,
    env: { ...process.env, DRAYER_DEBUG: '' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const until = Date.now() + 30_000;
    while (!/Serving .*evil\.stream/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /Serving .*evil\.stream, found in the data directory: "Evil\]0;pwned name FAKE LOG LINE: everything is fine"/, out);
  } finally {
    child.kill('SIGINT');
    await closed;
  }
  assertClean(out, 'the drayer serve log');
});

test('the API names a hostile stream cleanly; its bidi file shows written out on the phone page and is only ever a download', async () => {
  const dir = tmpDir();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  hostileStream(path.join(dir, 'evil.stream')).close();
  fs.copyFileSync(path.join(dir, 'evil.stream'), path.join(data, 'evil.stream'));
  const logs: string[] = [];
  const node = await DrayerNode.start({ dataDir: data, host: '127.0.0.1', port: 0, discovery: false, autoSync: false, log: (m) => logs.push(m) });
  try {
    const [s] = await node.call('listStreams', undefined);
    assert.ok(s);
    assert.equal(s.owned, false);
    assert.equal(s.name, 'Evil]0;pwned name FAKE LOG LINE: everything is fine');
    const timeline = await node.call('timeline', {});
    assert.ok(timeline.length > 0);
    for (const t of timeline) assertClean(t.streamName, 'a timeline entry');
    const details = await node.call('streamDetails', { publicKey: s.publicKey });
    assertClean(details.name, 'streamDetails');
    // the path is how the file is read, unchanged; what shows it writes the character out
    assert.ok(details.files.some((f) => f.path === RLO_FILE));
    assertClean(logs.join('\n'), 'the node log');

    const lan = node.lanAddress()!;
    const urlKey = Buffer.from(s.publicKey, 'base64').toString('base64url');
    const page = await get(`http://127.0.0.1:${lan.port}/${urlKey}/`);
    assert.equal(page.status, 200);
    assert.ok(page.body.includes('\u2039U+202E\u203agpj.exe'), 'the phone page writes the bidi control out');
    assertClean(page.body, 'the phone page');
    const index = await get(`http://127.0.0.1:${lan.port}/`);
    assertClean(index.body, 'the list of shared streams');

    const file = await get(`http://127.0.0.1:${lan.port}/${urlKey}/webAccess/${encodeURIComponent(RLO_FILE)}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers['content-type'], 'application/octet-stream', 'not served as the image/jpeg it claims');
    assert.match(
      String(file.headers['content-disposition']),
      /^attachment; filename="_U\+202E_gpj\.exe"; filename\*=UTF-8''%E2%80%B9U%2B202E%E2%80%BAgpj\.exe$/,
    );
  } finally {
    await node.stop();
  }
  // the phone page renderer alone, for a stream name that was not cleaned before it
  const html = streamPage({
    name: HOSTILE,
    about: '',
    publicKey: 'k',
    urlKey: 'k',
    posts: [],
    page: 1,
    totalPosts: 0,
    pageSize: 20,
    files: [{ path: RLO_FILE, size: 3, mime: 'image/jpeg' }],
    moreFiles: 0,
  });
  assertClean(html, 'streamPage');
});

test('adding a file whose name holds a bidi control is refused, saying which character, where, and what to do', async () => {
  const dir = tmpDir();
  const data = path.join(dir, 'data');
  const node = await DrayerNode.start({ dataDir: data, host: null, discovery: false, autoSync: false });
  try {
    const s = await node.call('createStream', { name: 'Mine' });
    const b64 = Buffer.from('hello').toString('base64');
    const expected =
      /The file name "‹U\+202E›gpj\.exe" cannot be added: character 1 is U\+202E RIGHT-TO-LEFT OVERRIDE, .*Rename the file without it, then add it again\./;
    await assert.rejects(node.call('putFile', { publicKey: s.publicKey, path: RLO_FILE, data: b64 }), expected);
    await assert.rejects(node.call('uploadBegin', { publicKey: s.publicKey, path: `docs/${RLO_FILE}`, size: 5 }), /character 6 is U\+202E/);
    const src = path.join(dir, RLO_FILE);
    fs.writeFileSync(src, 'hello');
    await assert.rejects(node.call('addFiles', { publicKey: s.publicKey, paths: [src] }), expected);
    // in a folder, it is skipped and reported; the rest is added
    const folder = path.join(dir, 'folder');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, RLO_FILE), 'x');
    fs.writeFileSync(path.join(folder, 'ok.txt'), 'fine');
    const r = await node.call('addFiles', { publicKey: s.publicKey, paths: [folder] });
    assert.deepEqual(r.added, ['ok.txt']);
    assert.deepEqual((r as { skipped?: string[] }).skipped, [RLO_FILE]); // returned, not yet in ImportSummary's type
    const files = (await node.call('streamDetails', { publicKey: s.publicKey })).files.map((f) => f.path);
    assert.deepEqual(files, ['ok.txt']);
    // names in other scripts and emoji are fine
    await node.call('putFile', { publicKey: s.publicKey, path: 'مرحبا 👩\u200d💻.txt', data: b64 });
  } finally {
    await node.stop();
  }

  // the CLI says the same, and adds nothing
  const cdir = tmpDir();
  const ok = spawnSync(process.execPath, [BIN, 'create', 'a.stream', '--name', 'A'], { cwd: cdir, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  fs.writeFileSync(path.join(cdir, RLO_FILE), 'hello');
  const add = spawnSync(process.execPath, [BIN, 'add', 'a.stream', RLO_FILE], { cwd: cdir, encoding: 'utf8' });
  assert.notEqual(add.status, 0);
  assert.match(add.stderr, /cannot be added: character 1 is U\+202E RIGHT-TO-LEFT OVERRIDE/);
  assertClean(add.stderr, 'drayer add');
});
