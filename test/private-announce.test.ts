// Private announcements on the LAN (issue 18): a stream set to "announce privately" is announced
// only sealed. Real multicast in a private network namespace (test/fixtures/private-child.ts):
// a capture of every packet and the HTTP listings hold nothing of the stream, a follower that
// knows the key finds the holder and gets a new post by the announcement alone, a stranger's
// Nearby does not show it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netnsAvailable, NETNS_SKIP_REASON, netnsChildResult } from './netns.js';

test('a private stream: nothing of it on the air or in listings; its follower finds it and gets posts as fast as plain ones; a stranger never sees it', async (t) => {
  if (!netnsAvailable()) return t.skip(NETNS_SKIP_REASON);
  const out = await netnsChildResult<{ ok: boolean; error?: string; result: Record<string, any> }>('private-child', { DRAYER_PRIVATE_CHILD: '1' }, 120_000);
  assert.equal(out.ok, true, out.error);
  const o = out.result;
  t.diagnostic(JSON.stringify(o));
  assert.equal(o.settingShown, true, 'the setting reads back');
  assert.ok(o.packets > 10, `the capture heard the LAN (${o.packets} packets)`);
  // the search can find: the plain stream shows in the same capture and listings
  assert.ok(o.plainFoundMulticast.includes('raw'), `the plain stream's key is on the air: ${o.plainFoundMulticast}`);
  assert.ok(o.plainFoundHttp.includes('base64') && o.plainFoundHttp.includes('name'), `and in the listings: ${o.plainFoundHttp}`);
  assert.deepEqual(o.leaksMulticast, [], 'no key, name or record of the private stream in any multicast packet');
  assert.deepEqual(o.leaksHttp, [], 'nor in the HTTP listings of the writer or the follower');
  assert.equal(o.fHeard, true, 'the follower heard a private listing');
  assert.ok(o.followRecords >= 2, `the follow by key alone found the holder and brought the stream (${o.followRecords} records)`);
  assert.equal(o.followerAdopted, true, 'the follower announces it privately too');
  // and lists it, unless the writer's own announcement made that needless (Trickle: a mirror leaves it out)
  assert.ok(o.fStats.sent + o.fStats.suppressed >= 1, `and does: ${JSON.stringify(o.fStats)}`);
  assert.ok(
    o.privateMs.every((x: number | null) => x !== null),
    `every private post arrived by its announcement alone (no scheduled sync): ${o.privateMs} ms, plain ${o.plainMs} ms`,
  );
  assert.ok(
    o.plainMs.every((x: number | null) => x !== null),
    `every plain post arrived: ${o.plainMs} ms`,
  );
  // as fast as plain ones: by the announcement, not by a scheduled sync (the slack is for a loaded machine)
  assert.ok(Math.max(...o.privateMs) <= Math.max(...o.plainMs) + 1000, `private ${o.privateMs} ms, plain ${o.plainMs} ms`);
  assert.ok(o.fStats.opened >= 3 && o.fStats.badSeal === o.hostile.badSeal, `the follower opened the private items: ${JSON.stringify(o.fStats)}`);
  assert.deepEqual(
    o.hostile,
    { unknown: 5 * 16, invalid: 1, badSeal: 2 },
    'hostile packets: junk tags skipped unopened, too many items unread, bad seals refused',
  );
  assert.notEqual(o.afterHostileMs, null, 'and the next private post still arrived');
  assert.equal(o.strangerSeesOpen, true, "the stranger's Nearby shows the plain stream");
  assert.equal(o.strangerSeesSecret, false, 'but not the private one');
  assert.equal(o.strangerOpened, 0, 'the stranger opened nothing');
});
