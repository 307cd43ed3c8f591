// The holdings digest check of a peer's deltas (PeerTable.announce) keeps each peer's held keys
// sorted instead of sorting them for every delta: it must accept and refuse exactly what the old
// computation (all held keys and the added ones, sorted, hashed) did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { randomBytes } from '../app/core/crypto.js';
import { mergeSorted, PeerTable } from '../app/net/discovery-peers.js';
import { digestOfKeys, digestOfSortedKeys } from '../app/net/discovery-trickle.js';
import { type AnnounceMessage, hexOf } from '../app/net/discovery-wire.js';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexOf(b));

test('mergeSorted and digestOfSortedKeys give the digest of the old computation (sort all, hash)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(key, { maxLength: 60 }), fc.array(key, { maxLength: 8 }), fc.nat(), (held, more, pick) => {
      // some of the added keys are already held, some repeated: a set, as before
      const added = held.length ? [...more, held[pick % held.length]!, ...more.slice(0, 1)] : more;
      const merged = mergeSorted([...held].sort(), added);
      const old = [...new Set([...held, ...added])];
      assert.deepEqual(merged, [...old].sort());
      assert.deepEqual(digestOfSortedKeys(merged), digestOfKeys(old));
    }),
    { numRuns: 500 },
  );
});

const bytes = (k: string): Uint8Array => new Uint8Array(Buffer.from(k, 'hex'));
const msg = (keys: string[], digestOf: string[] | string, full?: number): AnnounceMessage => ({
  t: 'a',
  port: 9000,
  name: 'n',
  intervalMs: 30_000,
  streams: keys.map((k) => ({ publicKey: bytes(k), mtip: 1 })),
  digest: typeof digestOf === 'string' ? digestOf : hexOf(digestOfKeys(digestOf)),
  ...(full !== undefined ? { full: { q: full, i: 0, c: 1 } } : {}),
});

type Op = { t: 'add'; n: number; again: boolean } | { t: 'bogus'; n: number } | { t: 'full'; drop: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('add' as const), n: fc.integer({ min: 1, max: 4 }), again: fc.boolean() }),
  fc.record({ t: fc.constant('bogus' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ t: fc.constant('full' as const), drop: fc.nat({ max: 5 }) }),
);

test('a peer table accepts a delta exactly when its digest is over the last listing and the added streams', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const t = new PeerTable(64, 30_000);
      const node = hexOf(randomBytes(8));
      let q = 1;
      let truth = [hexOf(randomBytes(32))];
      assert.equal(t.announce(msg(truth, truth, q++), node, '10.0.0.2', 1).wantFull, false);
      for (const o of ops) {
        if (o.t === 'full') {
          truth = truth.slice(Math.min(o.drop, truth.length - 1));
          assert.equal(t.announce(msg(truth, truth, q++), node, '10.0.0.2', 1).wantFull, false);
        } else if (o.t === 'add') {
          const fresh = Array.from({ length: o.n }, () => hexOf(randomBytes(32)));
          const sent = o.again ? [...fresh, truth[0]!] : fresh; // a held stream named again changes nothing
          truth = [...truth, ...fresh];
          assert.equal(t.announce(msg(sent, truth), node, '10.0.0.2', 1).wantFull, false, 'a true delta is taken');
        } else {
          const sent = Array.from({ length: o.n }, () => hexOf(randomBytes(32)));
          assert.equal(t.announce(msg(sent, hexOf(randomBytes(8))), node, '10.0.0.2', 1).wantFull, true, 'a wrong digest asks for a full listing');
          // what it named stays unheld: the next true delta is still checked against the listing
          assert.equal(t.announce(msg([], truth), node, '10.0.0.2', 1).wantFull, false);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('a held stream pushed out of the table makes the next delta ask for a full listing, as before', () => {
  const t = new PeerTable(64, 30_000);
  const a = hexOf(randomBytes(8));
  const listed = Array.from({ length: 3 }, () => hexOf(randomBytes(32)));
  assert.equal(t.announce(msg(listed, listed, 1), a, '10.0.0.2', 1).wantFull, false);
  const held = [...listed, hexOf(randomBytes(32))];
  assert.equal(t.announce(msg(held.slice(3), held), a, '10.0.0.2', 1).wantFull, false, 'a delta taken (the held keys now kept sorted)');
  // another node at the same address fills the address's share (512 entries), oldest out first
  const flood = Array.from({ length: 512 }, () => hexOf(randomBytes(32)));
  for (let i = 0; i < flood.length; i += 20) t.announce(msg(flood.slice(i, i + 20), []), hexOf(randomBytes(8)), '10.0.0.2', 2);
  const added = hexOf(randomBytes(32));
  assert.equal(t.announce(msg([added], [...held, added]), a, '10.0.0.2', 3).wantFull, true);
  // a full listing restores it, and deltas are taken again
  const all = [...held, added];
  assert.equal(t.announce(msg(all, all, 2), a, '10.0.0.2', 4).wantFull, false);
  const more = hexOf(randomBytes(32));
  assert.equal(t.announce(msg([more], [...all, more]), a, '10.0.0.2', 5).wantFull, false);
});
