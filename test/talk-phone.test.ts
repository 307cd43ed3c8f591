// Issue 21: a stream's phone page says what each reply answers, "in reply to NAME", with a link
// to the answered post where this server shares it (its stream's page, at the page listing it,
// scrolled to its article), and keeps its strict CSP. Real node, real HTTP on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyName, parseKey } from '../app/core/keys.js';
import { postAnchor } from '../app/net/server/phone-replies.js';
import { startNode, urlOf } from './nodes.js';

const pageOf = (pk: string) => `/${Buffer.from(pk, 'base64').toString('base64url')}/`;

test('the phone page links a reply to the post it answers where this server shares it, at the page that lists it', async () => {
  const a = await startNode();
  const b = await startNode();
  try {
    const ada = await a.call('createStream', { name: 'Ada' });
    const bo = await a.call('createStream', { name: 'Bo <b>' });
    const cy = await b.call('createStream', { name: 'Cy' });
    const q = await a.call('post', { publicKey: bo.publicKey, title: 'Question', body: 'Tea or coffee?' });
    // 25 more posts of Bo: the question moves to its page 2
    for (let i = 0; i < 25; i++) await a.call('post', { publicKey: bo.publicKey, title: '', body: `later ${i}` });
    const own = await a.call('post', { publicKey: ada.publicKey, title: 'Mine', body: 'first' });
    const c = await b.call('post', { publicKey: cy.publicKey, title: '', body: 'from afar' });
    await a.call('follow', { key: cy.publicKey, url: urlOf(b) });
    await a.call('post', { publicKey: ada.publicKey, title: '', body: 'Tea', replyTo: { streamKey: bo.publicKey, key: q.key } });
    await a.call('post', { publicKey: ada.publicKey, title: '', body: 'Me again', replyTo: { streamKey: ada.publicKey, key: own.key } });
    await a.call('post', { publicKey: ada.publicKey, title: '', body: 'Hi Cy', replyTo: { streamKey: cy.publicKey, key: c.key } });

    const res = await fetch(urlOf(a) + pageOf(ada.publicKey));
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-[^']+';/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
    const html = await res.text();
    const boHref = `${pageOf(bo.publicKey)}?page=2#${postAnchor(q.key)}`;
    assert.ok(
      html.includes(`in reply to <a href="${boHref}"><bdi>Bo &lt;b&gt;</bdi></a>`),
      'another stream shared here: its name, escaped, and a link to its page 2',
    );
    assert.ok(html.includes(`in reply to <a href="./#${postAnchor(own.key)}"><bdi>Ada</bdi></a>`), 'its own post: on its own page');
    assert.ok(html.includes(`id="${postAnchor(own.key)}"`), 'the answered article carries the anchor');
    // Cy's stream is held here; served or not, the link goes only where the server answers
    const served = (await fetch(urlOf(a) + pageOf(cy.publicKey))).status === 200;
    const cyLine = html.match(/in reply to [^\n]*?<\/p>/g)!.find((l) => l.includes('Cy') || l.includes(keyName(parseKey(cy.publicKey))))!;
    assert.equal(cyLine.includes('<a href'), served, cyLine);
    // the link lands: the page it names lists the answered post under that id
    const target = await (await fetch(new URL(boHref, urlOf(a)))).text();
    assert.ok(target.includes(`id="${postAnchor(q.key)}"`));
    assert.ok(target.includes('Tea or coffee?'));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the phone page shows a re-share as "re-shared from NAME" with the post it shares, or by key words where this server does not hold it', async () => {
  const a = await startNode();
  const b = await startNode();
  try {
    const ada = await a.call('createStream', { name: 'Ada' });
    const evil = await a.call('createStream', { name: 'Eve <img src=x onerror=alert(1)>' });
    const cy = await b.call('createStream', { name: 'Cy' });
    const dee = await b.call('createStream', { name: 'Dee' });
    const shared = await a.call('post', { publicKey: evil.publicKey, title: 'Kettle <script>alert(2)</script>', body: 'Boil **twice**' });
    for (let i = 0; i < 25; i++) await a.call('post', { publicKey: evil.publicKey, title: '', body: `later ${i}` });
    await a.call('post', { publicKey: ada.publicKey, title: '', body: 'Worth reading', reshare: { streamKey: evil.publicKey, key: shared.key } });
    // Cy (on b) re-shares Dee, whom a does not hold: a's page of Cy names Dee by its key's words
    const d = await b.call('post', { publicKey: dee.publicKey, title: 'Dee says', body: 'secret-to-a' });
    await b.call('post', { publicKey: cy.publicKey, title: '', body: '', reshare: { streamKey: dee.publicKey, key: d.key } });
    await a.call('follow', { key: cy.publicKey, url: urlOf(b) });

    const res = await fetch(urlOf(a) + pageOf(ada.publicKey));
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
    const html = await res.text();
    const href = `${pageOf(evil.publicKey)}?page=2#${postAnchor(shared.key)}`;
    assert.ok(
      html.includes(`re-shared from <a href="${href}" title="Eve &lt;img src=x onerror=alert(1)&gt;"><bdi>Eve &lt;img src=x onerror=alert(1)&gt;</bdi></a>`),
      'the shared stream: its name escaped, a link to the page that lists the post',
    );
    assert.ok(!html.includes('<img src=x') && !html.includes('<script>alert'), 'nothing of a stream is markup');
    const quote = html.slice(html.indexOf('<blockquote class="shared">'));
    assert.ok(
      quote.startsWith('<blockquote class="shared">\n<h3 class="title" dir="auto">Kettle &lt;script&gt;alert(2)&lt;/script&gt;</h3>'),
      quote.slice(0, 200),
    );
    assert.ok(quote.includes('Boil <strong>twice</strong>'), 'the shared body, as markdown');
    assert.ok(html.indexOf('Worth reading') < html.indexOf('<blockquote class="shared">'), 'the comment above the post it shares');

    const cyHtml = await (await fetch(urlOf(a) + pageOf(cy.publicKey))).text();
    assert.ok(cyHtml.includes(`re-shared from <bdi>${keyName(parseKey(dee.publicKey))}</bdi>`), 'a stream not held here: its key words, no link');
    assert.ok(!cyHtml.includes('secret-to-a') && !cyHtml.includes('class="shared"'), 'and nothing of a post this server does not hold');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
