// What the private-stream tests through real nodes share: a node that serves a stream file put in
// its data directory, an HTTP proxy that keeps every answer it passes on, and the written forms of
// a secret that must appear in none of the bytes a blind mirror holds or a node sends.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ReadKey, SEALED_TYPE } from '../app/core/private.js';
import { DrayerNode } from '../app/node/node.js';
import { Stream } from '../app/store/store.js';

/** A node on 127.0.0.1 (no discovery, no sync of its own) that serves `pk`, when given, once it returns. */
export async function servingNode(dataDir: string, pk?: string): Promise<{ node: DrayerNode; url: string }> {
  const node = await DrayerNode.start({ dataDir, host: '127.0.0.1', port: 0, discovery: false, autoSync: false });
  const url = `http://127.0.0.1:${node.lanAddress()!.port}`;
  // the node takes stream files put in its data directory within a second or two
  let served = !pk;
  for (let i = 0; i < 100 && !served; i++) {
    served = (await fetch(`${url}/${encodeURIComponent(pk!)}/tips`)).ok;
    if (!served) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(served, `the node serves ${pk}`);
  return { node, url };
}

/** An HTTP proxy on 127.0.0.1 that keeps every answer it passes on (status line, headers and body). */
export async function recordingProxy(target: string): Promise<{ url: string; answers: Buffer[]; close(): Promise<void> }> {
  const answers: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
      const parts: Buffer[] = [Buffer.from(`${r.statusCode} ${JSON.stringify(r.headers)}\n`)];
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.on('data', (d: Buffer) => {
        parts.push(d);
        res.write(d);
      });
      r.on('end', () => {
        answers.push(Buffer.concat(parts));
        res.end();
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A needle's written forms: UTF-8, UTF-16, hex, base64 and base64url at each alignment, percent- and JSON-escaped. */
export function forms(needle: string): Buffer[] {
  const raw = Buffer.from(needle, 'utf8');
  const out = [
    raw,
    Buffer.from(needle, 'utf16le'),
    Buffer.from(raw.toString('hex')),
    Buffer.from(raw.toString('hex').toUpperCase()),
    Buffer.from(encodeURIComponent(needle)),
    Buffer.from(JSON.stringify(needle).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)),
  ];
  // base64 of the needle inside a longer text: only the characters wholly made of its bytes are fixed
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), raw]).toString('base64');
    const inner = b64.slice(pad === 0 ? 0 : pad + 1, b64.length - 4);
    out.push(Buffer.from(inner), Buffer.from(inner.replace(/\+/g, '-').replace(/\//g, '_')));
  }
  return out;
}

/** A stream file's bytes with its write-ahead log. */
export function fileBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

/** Of a stream file's sealed records (of one chain when given): how many `rk` opens, and how many there are. */
export function openedBy(file: string, rk: ReadKey, chain?: Uint8Array): { opens: number; sealed: number } {
  const s = Stream.open(file);
  try {
    const sealed = [...s.iterate()].filter((r) => r.type === SEALED_TYPE && r.val && (!chain || Buffer.from(r.chain).equals(Buffer.from(chain))));
    let opens = 0;
    for (const r of sealed) {
      try {
        rk.open(r.val!, r.key);
        opens++;
      } catch {
        // another key's
      }
    }
    return { opens, sealed: sealed.length };
  } finally {
    s.close();
  }
}
