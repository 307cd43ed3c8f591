// Against the real original Drayer (issue 20.1): its source at $DRAYER_ORIGINAL_SRC (a checkout of
// EternityForest/drayer; Debian's python3-libnacl, -cherrypy3, -msgpack, -requests), run ONLY in a
// private network namespace (it multicasts). It makes a stream of DRAYER_ORIGINAL_RECORDS posts
// (default 11,000: minutes), or serves the one at DRAYER_ORIGINAL_STREAM, and `drayer clone` takes
// all of it through newRecords, which the original answers in one list built whole first
// (O(n²): minutes for 11,000 records). Skipped, saying why, where the source or a namespace is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsAvailable, NETNS_SKIP_REASON, runInNetns } from './netns.js';
import { DRAYER_BIN, tmpDir } from './helpers.js';

const SRC = process.env.DRAYER_ORIGINAL_SRC;
const HELPER = fileURLToPath(new URL('../../test/original/original.py', import.meta.url));
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // Debian's, with its python3-* packages
const skip = !SRC ? 'DRAYER_ORIGINAL_SRC is not set (a checkout of the original Python Drayer)' : !netnsAvailable() ? NETNS_SKIP_REASON : false;

test('the real original Drayer: a stream of 11,000 posts cloned through newRecords, verified, shown as posts', { skip, timeout: 60 * 60_000 }, async (t) => {
  const dir = tmpDir('drayer-original-real-');
  const records = Number(process.env.DRAYER_ORIGINAL_RECORDS ?? 11_000);
  const given = process.env.DRAYER_ORIGINAL_STREAM;
  const file = path.join(dir, 'original.stream');
  if (given) {
    fs.copyFileSync(given, file);
    fs.copyFileSync(`${given}.privatekey`, `${file}.privatekey`);
  }
  const out = path.join(dir, 'clone.stream');
  // one namespace: the original serves on 127.0.0.1:33125, drayer clones from it, then the original stops
  const script = `
    set -e
    ${given ? '' : `"${PYTHON}" "${HELPER}" make "${file}" ${records} 2>/dev/null`}
    KEY=$("${PYTHON}" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\\"select value from attr where key='PublicKey'\\").fetchone()[0])" "${file}")
    COUNT=$("${PYTHON}" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from record').fetchone()[0])" "${file}")
    "${PYTHON}" "${HELPER}" serve "${file}" 33125 > "${dir}/serve.log" 2>&1 &
    ORIG=$!
    for i in $(seq 1 100); do grep -q ready "${dir}/serve.log" && break; sleep 0.2; done
    START=$(date +%s)
    set +e
    "${process.execPath}" "${DRAYER_BIN}" clone http://127.0.0.1:33125 "$KEY" "${out}" --json > "${dir}/clone.json" 2> "${dir}/clone.err"
    CODE=$?
    END=$(date +%s)
    kill $ORIG
    echo "count=$COUNT clone_exit=$CODE seconds=$((END-START))"
  `;
  const r = await runInNetns('sh', ['-c', script], { timeoutMs: 55 * 60_000 });
  const said = fs.existsSync(path.join(dir, 'clone.err')) ? fs.readFileSync(path.join(dir, 'clone.err'), 'utf8') : '';
  t.diagnostic(`${r.stdout.trim().split('\n').join(' | ')}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1))}`);
  t.diagnostic(
    said
      .split('\n')
      .filter((l) => /preparing/.test(l))
      .slice(0, 3)
      .join(' | '),
  );
  assert.equal(r.timedOut, false);
  assert.match(r.stdout, /clone_exit=0/, `${r.stdout}\n${r.stderr}\n${said}`);
  const count = Number(/count=(\d+)/.exec(r.stdout)![1]);
  const clone = JSON.parse(fs.readFileSync(path.join(dir, 'clone.json'), 'utf8')) as { stored?: number; records?: number };
  assert.equal(clone.stored ?? clone.records, count, JSON.stringify(clone));
  const { Stream } = await import('../app/store/store.js');
  const s = Stream.open(out, { readonly: true });
  try {
    assert.equal([...s.iterate()].filter((x) => x.type === 'publicSocialPost').length, count);
    assert.ok(s.verify().intact);
  } finally {
    s.close();
  }
  // shown as posts: a node holding the clone lists every one, the newest with the original's text
  const { DrayerNode } = await import('../app/node/node.js');
  const n = await DrayerNode.start({ dataDir: tmpDir('drayer-original-real-node-'), host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  try {
    const held = await n.call('openStreamFile', { path: out });
    assert.equal(held.posts, count);
    const newest = await n.call('listPosts', { publicKey: held.publicKey, limit: 1 });
    assert.match(newest[0]?.body ?? '', /^An original post, number \d+\.$/);
    if (!given) assert.equal((await n.call('getPost', { publicKey: held.publicKey, key: `Post ${records}` }))?.body, `An original post, number ${records}.`);
  } finally {
    await n.stop();
  }
});
