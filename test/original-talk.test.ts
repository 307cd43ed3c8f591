// Issue 21's records are just records to the original Drayer: the real original (its source at
// $DRAYER_ORIGINAL_SRC, run ONLY in a private network namespace) mirrors a stream holding a reply, a
// reaction, a re-share and a mention, validating each signature as it stores it, and serves them
// again: `drayer clone` from the original's copy gets every one back byte for byte, verified, and
// the thread, the reaction and the links read from that copy as from ours. Skipped, saying why,
// where the source or a namespace is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stream } from '../app/store/store.js';
import { addPost, decodePost, newPostKey, POST_TYPE } from '../app/store/posts.js';
import { decodeLinks, decodeReaction, encodeLinkedPost, REACTION_TYPE, REACTIONS, replyTo, setReaction } from '../app/store/talk.js';
import { mentionedKeys, mentionMarkdown } from '../app/core/mentions.js';
import { runInNetns } from './netns.js';
import { mirrorScript, skipReal } from './original-mirror.js';
import { DRAYER_BIN, runDrayer, tmpDir } from './helpers.js';

test(
  'the real original Drayer mirrors and serves replies, reactions, re-shares and mentions: they come back whole and read the same',
  { skip: skipReal, timeout: 300_000 },
  async () => {
    const dir = tmpDir('drayer-orig-talk-');
    const file = path.join(dir, 'data', 'talk.stream');
    fs.mkdirSync(path.dirname(file));
    const made = await runDrayer(['create', file, '--name', 'نور الهدى']);
    assert.equal(made.code, 0, made.err);
    const pk = made.out.trim();
    const s = Stream.open(file);
    const written: { type: string; key: string }[] = [];
    try {
      const root = addPost(s, { title: 'حديقة السطح', body: 'Rooftop garden.' });
      const rootRec = s.get(POST_TYPE, root.key)!;
      const reply = s.put(POST_TYPE, newPostKey(), encodeLinkedPost({ title: '', body: 'A reply to myself' }, { reply: replyTo(pk, rootRec) }));
      const reaction = setReaction(s, { stream: pk, post: root.key }, REACTIONS[0]!)!;
      const reshare = s.put(POST_TYPE, newPostKey(), encodeLinkedPost({ title: '', body: 'Look at this' }, { reshare: { stream: pk, post: root.key } }));
      const mention = addPost(s, { title: '', body: `Hello ${mentionMarkdown('نور الهدى', pk)}` });
      written.push(
        { type: POST_TYPE, key: root.key },
        { type: POST_TYPE, key: reply.key },
        { type: REACTION_TYPE, key: reaction.key },
        { type: POST_TYPE, key: reshare.key },
        { type: POST_TYPE, key: mention.key },
      );
    } finally {
      s.close();
    }
    // one namespace: ours serves, the original mirrors it and serves its copy; ours stops; we clone from the original
    const port = 33141;
    const back = path.join(dir, 'back.stream');
    const script = mirrorScript(
      dir,
      pk,
      port,
      `"${process.execPath}" "${DRAYER_BIN}" clone http://127.0.0.1:${port + 1} "${pk}" "${back}" 2>&1; echo "cloned $?"`,
    );
    const r = await runInNetns('sh', ['-c', script], { timeoutMs: 280_000 });
    const log = fs.existsSync(path.join(dir, 'original.log')) ? fs.readFileSync(path.join(dir, 'original.log'), 'utf8') : '';
    assert.match(r.stdout, /^cloned 0$/m, `${r.stdout}\n${r.stderr}\n${log}`);

    const ours = Stream.open(file, { readonly: true });
    const theirs = Stream.open(back, { readonly: true });
    try {
      for (const w of written) {
        const a = ours.get(w.type, w.key)!;
        const b = theirs.get(w.type, w.key);
        assert.ok(b, `${w.type} ${w.key} came back through the original`);
        assert.ok(Buffer.from(b.val!).equals(Buffer.from(a.val!)), `${w.type} ${w.key}: the same bytes`);
      }
      const [root, reply, reaction, reshare, mention] = written.map((w) => theirs.get(w.type, w.key)!);
      assert.deepEqual(decodeLinks(reply!.val).reply, { stream: pk, post: root!.key, hash: replyTo(pk, root!).hash, root: { stream: pk, post: root!.key } });
      assert.deepEqual(decodeReaction(reaction!.key, reaction!.val), { stream: pk, post: root!.key, emoji: REACTIONS[0] });
      assert.deepEqual(decodeLinks(reshare!.val).reshare, { stream: pk, post: root!.key });
      assert.deepEqual(mentionedKeys(decodePost(mention!.val).body), [pk]);
    } finally {
      ours.close();
      theirs.close();
    }
  },
);
