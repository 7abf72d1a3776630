/**
 * The web client in a real browser (Debian's Chromium through playwright-core), against the same
 * server core as the terminal client: chatting across both, what was missed, text-only
 * rendering, reconnecting with the outbox, the Origin check, and the teacher's page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { runCli } from '../helpers/client-cli.js';
import { removeDir } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';
import { browserMissing, launchBrowser, message, signIn, startWebChat, type, type WebChat } from './web-browser.js';

const skip = browserMissing() ?? false;

describe('web client in Chromium', { skip }, () => {
  let browser: Browser;
  let wc: WebChat;
  const cleanups: Array<() => Promise<unknown> | void> = [];

  before(async () => {
    browser = await launchBrowser();
    wc = await startWebChat();
  });
  after(async () => {
    for (const f of cleanups.reverse()) await f();
    await browser?.close();
    await wc?.stop();
    if (wc) removeDir(wc.dir);
  });

  it('two pages and a terminal client chat with each other; a DM shows as unread', async () => {
    const a = await (await browser.newContext()).newPage();
    const b = await (await browser.newContext()).newPage();
    cleanups.push(() => a.context().close(), () => b.context().close());
    await signIn(a, wc.url, 'alice');
    await signIn(b, wc.url, 'bob');
    const carol = runCli(['connect', `127.0.0.1:${wc.chat.port}`, '--name', 'carol'], { LAB93_DATA_DIR: join(wc.dir, 'carol') });
    cleanups.push(() => {
      carol.proc.kill();
    });
    // Presence between the pages: bob sees alice in the lobby. (The terminal client is piped, a
    // script's connection: quiet, it causes no presence, as docs/client.md says.)
    await b.locator('#people li', { hasText: 'alice' }).waitFor();

    // The terminal client's line reaches both pages (and proves it is connected).
    carol.proc.stdin.write('hi from the terminal\n');
    await message(a, 'hi from the terminal').waitFor();
    await message(b, 'hi from the terminal').waitFor();
    assert.equal(await message(b, 'hi from the terminal').locator('.who').textContent(), 'carol');

    await type(a, 'hello from the browser');
    await message(b, 'hello from the browser').waitFor();
    await carol.waitLine((l) => /lobby alice.*: hello from the browser$/.test(l));
    // Alice's own message is marked as hers once acknowledged.
    await a.locator('#log li.msg.own:not(.pending)', { hasText: 'hello from the browser' }).waitFor();

    await type(b, '/msg alice just between us');
    const dm = a.locator('#dms button', { hasText: 'bob' });
    await dm.locator('.badge', { hasText: '1' }).waitFor();
    await dm.click();
    await message(a, 'just between us').waitFor();
    assert.equal(await message(b, 'just between us').count(), 1);
  });

  it('a message with <script> and <img onerror> shows as text and runs nothing', async () => {
    const a = await (await browser.newContext()).newPage();
    cleanups.push(() => a.context().close());
    await signIn(a, wc.url, 'dana');
    const evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold?</b>';
    const { c } = await WireClient.login(wc.chat.port, 'mallory');
    cleanups.push(() => c.close());
    c.send({ type: 'message', uid: 'evil-1', content: evil, subject: '<img src=y onerror="window.pwned=3">' });
    await c.next('ack');
    const li = message(a, 'bold?');
    await li.waitFor();
    assert.equal(await li.locator('.content').textContent(), evil);
    assert.equal(await li.locator('.subject').textContent(), '<img src=y onerror="window.pwned=3">');
    assert.equal(await a.locator('#log img, #log script, #log b').count(), 0);
    assert.equal(await a.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  });

  it('the slash commands of the terminal client: /me, /rooms, /nick, and an unknown one', async () => {
    const a = await (await browser.newContext()).newPage();
    const b = await (await browser.newContext()).newPage();
    cleanups.push(() => a.context().close(), () => b.context().close());
    await signIn(a, wc.url, 'hugo');
    await signIn(b, wc.url, 'iris');
    // /me is an action line: stored and relayed as one, shown as "* hugo".
    await type(a, '/me waves at everyone');
    const line = message(b, 'waves at everyone');
    await line.waitFor();
    assert.equal(await line.locator('.who').textContent(), '* hugo');
    const stored = (await wc.chat.store.history('lobby', null, 50)).find((m) => m.content === 'waves at everyone');
    assert.equal(stored?.action, true, 'stored as an action line');
    // /rooms asks the server, which counts the people in each room.
    await type(b, '/join physics');
    await b.locator('#conv-title', { hasText: '#physics' }).waitFor();
    await type(a, '/rooms');
    await a.locator('#log li.sys', { hasText: /^#physics — 1 person$/ }).waitFor();
    await a.locator('#log li.sys', { hasText: /^#lobby — \d+ (people|person) \(you are here\)$/ }).waitFor();
    // /nick goes on under the new name; what is said next is said by it.
    await type(a, '/nick hugo2');
    await a.locator('#me', { hasText: /^hugo2$/ }).waitFor();
    await a.locator('#status', { hasText: /^online/ }).waitFor();
    await type(a, 'said as hugo2');
    await b.locator('#rooms button', { hasText: '#lobby' }).click();
    assert.equal(await message(b, 'said as hugo2').locator('.who').textContent(), 'hugo2');
    // A typo is named, not sent to the room.
    await type(a, '/frobnicate now');
    await a.locator('#log li.sys.err', { hasText: 'unknown command /frobnicate: /help lists them' }).waitFor();
    assert.equal((await wc.chat.store.history('lobby', null, 50)).some((m) => m.content.includes('frobnicate')), false);
  });

  it('a page closed and opened again shows what it missed, marked as missed', async () => {
    const ctx = await browser.newContext();
    cleanups.push(() => ctx.close());
    const p = await ctx.newPage();
    await signIn(p, wc.url, 'erin');
    await type(p, 'erin was here');
    await p.locator('#log li.msg.own:not(.pending)', { hasText: 'erin was here' }).waitFor();
    await p.close();
    const { c } = await WireClient.login(wc.chat.port, 'frank');
    cleanups.push(() => c.close());
    c.send({ type: 'message', uid: 'away-1', content: 'said while erin was away', subject: 'news' });
    await c.next('ack');

    const again = await ctx.newPage();
    await again.goto(wc.url); // signed in already: the name and position are in the browser's storage
    const missed = message(again, 'said while erin was away');
    await missed.waitFor();
    assert.match((await missed.getAttribute('class')) ?? '', /\bmissed\b/);
    assert.equal(await missed.locator('.tag.missed-tag').textContent(), 'missed');
    // What erin saw before leaving comes back from history, not marked as missed.
    const seen = again.locator('#log li.msg', { hasText: 'erin was here' });
    await seen.waitFor();
    assert.doesNotMatch((await seen.getAttribute('class')) ?? '', /\bmissed\b/);
  });

  it('a cross-origin WebSocket upgrade is refused; the page\'s own origin is accepted', async () => {
    const status = (origin: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${wc.webPort}/ws`, { origin });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', reject);
      });
    assert.equal(await status('http://evil.example'), 403);
    assert.equal(await status(`http://127.0.0.1:${wc.webPort}`), 101);
    // And from a page on another origin, in the browser itself.
    const p = await (await browser.newContext()).newPage();
    cleanups.push(() => p.context().close());
    await p.route('http://evil.example/', (r) => r.fulfill({ contentType: 'text/html', body: '<title>evil</title>' }));
    await p.goto('http://evil.example/');
    const outcome = await p.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      `ws://127.0.0.1:${wc.webPort}/ws`,
    );
    assert.equal(outcome, 'refused');
  });

  it('the teacher\'s page lists a raw TCP client and its protocol error', async () => {
    const { c } = await WireClient.login(wc.chat.port, 'stuckstudent');
    cleanups.push(() => c.close());
    c.sendRaw('{"type":"message","content":"oops"\n');
    await c.next('error');
    const p = await (await browser.newContext()).newPage();
    cleanups.push(() => p.context().close());
    await p.goto(wc.url + 'admin');
    const row = p.locator('#rows tr', { hasText: 'stuckstudent' });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.match(cells[0]!, /^127\.0\.0\.1:\d+$/);
    assert.equal(cells[2], 'plain');
    assert.match(cells[6]!, /bad_frame/);
    // The browsers of the other tests are listed as web connections.
    await p.locator('#rows tr td:nth-child(3)', { hasText: 'web' }).first().waitFor();
  });
});

describe('web client reconnects', { skip }, () => {
  it('the connection dropped and restored: a message typed meanwhile is delivered once', async () => {
    const browser = await launchBrowser();
    let wc = await startWebChat();
    const dir = wc.dir;
    try {
      const p = await (await browser.newContext()).newPage();
      await signIn(p, wc.url, 'gina');
      await wc.stop();
      await p.locator('#status', { hasText: /offline/ }).waitFor();
      await type(p, 'typed while offline');
      await p.locator('#log li.msg.pending', { hasText: 'typed while offline' }).waitFor();
      wc = await startWebChat({ dir, webPort: wc.webPort });
      const { c } = await WireClient.login(wc.chat.port, 'hank', { since: 0 });
      await p.locator('#log li.msg.own:not(.pending)', { hasText: 'typed while offline' }).waitFor({ timeout: 20_000 });
      await c.next((x) => x.type === 'message' && x.content === 'typed while offline', 5000);
      // Reloading (the outbox would be resent if anything were left in it) adds no copy.
      await p.reload();
      await p.locator('#status', { hasText: /^online/ }).waitFor();
      await c.settle(300);
      assert.equal(c.all('message').filter((m) => m.content === 'typed while offline').length, 1);
      const stored = (await wc.chat.store.history('lobby', null, 100)).filter((m) => m.content === 'typed while offline');
      assert.equal(stored.length, 1);
      assert.equal(await p.locator('#log li.msg', { hasText: 'typed while offline' }).count(), 1);
      await c.close();
    } finally {
      await browser.close();
      await wc.stop();
      removeDir(dir);
    }
  });
});

describe('web client with accounts, keyboard only', { skip }, () => {
  it('signs in with a password using the keyboard alone, and after a reload with the saved token', async () => {
    const { startAuthServer } = await import('./auth-server.js');
    const { createWebServer } = await import('../../src/web/web-server.js');
    const { silentLogger } = await import('../../src/log/index.js');
    const as = await startAuthServer();
    await as.addUser('ines', 'a long password');
    const web = createWebServer({ server: as.server, log: silentLogger(), hasAccounts: async () => true });
    const url = `http://127.0.0.1:${(await web.listen(0, '127.0.0.1')).port}/`;
    const browser = await launchBrowser();
    try {
      const p = await (await browser.newContext()).newPage();
      await p.goto(url);
      // The name field has focus; Tab leads to the password, Enter submits.
      await p.keyboard.type('ines');
      await p.keyboard.press('Tab');
      await p.keyboard.type('a long password');
      await p.keyboard.press('Enter');
      await p.locator('#status', { hasText: /^online/ }).waitFor();
      assert.equal(await p.locator('#me').textContent(), 'ines ✓');
      // Focus is in the message line: typing and Enter sends.
      await p.keyboard.type('typed without a mouse');
      await p.keyboard.press('Enter');
      await p.locator('#log li.msg.own:not(.pending)', { hasText: 'typed without a mouse' }).waitFor();
      assert.equal(await p.locator('#log').getAttribute('aria-live'), 'polite');
      const stored = (await as.store.history('lobby', null, 10)).find((m) => m.content === 'typed without a mouse');
      assert.equal(stored?.verified, true);
      await p.reload();
      await p.locator('#status', { hasText: /^online/ }).waitFor();
      assert.equal(await p.locator('#me').textContent(), 'ines ✓');
      // A wrong password for a registered name brings the sign-in form back with the reason.
      const q = await (await browser.newContext()).newPage();
      await q.goto(url);
      await q.getByLabel('Name', { exact: true }).fill('ines');
      await q.getByLabel(/^Password/).fill('not it');
      await q.getByRole('button', { name: 'Sign in' }).click();
      await q.locator('#signin-error', { hasText: /wrong password/ }).waitFor();
    } finally {
      await browser.close();
      await as.stop();
      await web.close();
    }
  });
});
