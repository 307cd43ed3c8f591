// Hostile answers to GET /replies (issue 21), shared by nearby-replies.test.ts (asked directly)
// and fixtures/nearby-replies-child.ts (asked by a node that found these servers nearby).
import * as http from 'node:http';
import { blake2b256, generateKeyPair, type KeyPair } from '../app/core/crypto.js';
import { formatKey } from '../app/core/keys.js';
import { encodeWire, signRecord, toWire, type DrayerRecord } from '../app/core/record.js';
import { POST_TYPE } from '../app/store/posts.js';
import type { PostRef } from '../app/store/talk.js';

/** A post of `kp`'s chain, signed, whose value is `value` (a reply when it names one). */
export function signedPost(kp: KeyPair, id: number, value: Record<string, unknown>): DrayerRecord {
  const val = new TextEncoder().encode(JSON.stringify(value));
  const ts = 1_700_000_000_000_000 + id;
  return signRecord(
    { id, type: POST_TYPE, key: `k${id}`, val, hash: blake2b256(val), ts, mod: ts, prev: id - 1, prevch: id === 1 ? 0 : ts - 1, chain: kp.publicKey },
    kp,
  );
}

export function replyValue(to: PostRef, body: string): Record<string, unknown> {
  return { title: '', body, reply: { stream: to.stream, post: to.post, hash: '0'.repeat(64), root: to } };
}

/** What each hostile server answers at /replies (the JSON listing at `/` makes it a computer Nearby knows). */
export function hostileAnswers(to: PostRef): Record<string, (res: http.ServerResponse) => void> {
  const liar = generateKeyPair();
  const victim = generateKeyPair();
  const bin = (b: Uint8Array) => (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'application/msgpack' }).end(Buffer.from(b));
  // signed by the liar, claiming the victim's stream
  const forged = signedPost(liar, 1, replyValue(to, 'forged'));
  // honestly signed, but answering another post
  const other = signedPost(liar, 2, replyValue({ stream: formatKey(victim.publicKey), post: 'elsewhere' }, 'not this thread'));
  // a valid reply whose value was changed after signing
  const tampered = { ...signedPost(liar, 3, replyValue(to, 'honest')), val: new TextEncoder().encode(JSON.stringify(replyValue(to, 'tampered'))) };
  const many = signedPost(liar, 4, replyValue(to, 'x'.repeat(100)));
  return {
    garbage: bin(new Uint8Array(Buffer.from('\xc1\xff\x00not msgpack at all\x93\x92', 'latin1'))),
    wrong: bin(
      encodeWire([
        [victim.publicKey, toWire(forged)],
        [liar.publicKey, toWire(other)],
        [liar.publicKey, toWire(tampered)],
        ['junk', 7],
        [new Uint8Array(5), {}],
      ]),
    ),
    // 10,000 signed replies: over the size bound, so none is read
    tenThousand: bin(encodeWire(Array.from({ length: 10_000 }, () => [liar.publicKey, toWire(many)]))),
    // an endless body
    huge: (res) => {
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      const chunk = Buffer.alloc(64 * 1024, 0x91);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    },
    // headers, then nothing
    slow: (res) => {
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.write(Buffer.from([0xdd]));
    },
  };
}

/** One server per hostile answer on 127.0.0.1, with a JSON listing at `/` naming one made-up stream. */
export async function startHostile(to: PostRef): Promise<{ name: string; port: number; asked: () => number; close: () => Promise<void> }[]> {
  const out = [];
  for (const [name, answer] of Object.entries(hostileAnswers(to))) {
    let asked = 0;
    const pk = formatKey(generateKeyPair().publicKey);
    const srv = http.createServer((req, res) => {
      if (req.url?.startsWith('/replies')) {
        asked++;
        return answer(res);
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ node: { id: '', name: `hostile ${name}` }, streams: [{ publicKey: pk, name: 'x', mtip: 1 }] }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    out.push({
      name,
      port: (srv.address() as { port: number }).port,
      asked: () => asked,
      close: () => {
        srv.closeAllConnections();
        return new Promise<void>((r) => srv.close(() => r()));
      },
    });
  }
  return out;
}
