/**
 * Takes the README's screenshots of the web client (docs/screenshots/) with a small classroom
 * conversation. Run by hand: node --import tsx test/integration/web-screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import { REPO } from '../helpers/client-cli.js';
import { removeDir } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';
import { browserMissing, launchBrowser, message, signIn, startWebChat, type } from './web-browser.js';

if (browserMissing()) process.exit(0);
const out = REPO + 'docs/screenshots/';
mkdirSync(out, { recursive: true });
const browser = await launchBrowser();
const say = async (c: WireClient, uid: string, content: string, extra: Record<string, unknown> = {}): Promise<void> => {
  c.send({ type: 'message', uid, content, ...extra });
  await c.next((p) => p.type === 'ack' && p.uid === uid);
};
try {
  for (const [name, viewport] of [['desktop', { width: 1200, height: 720 }], ['phone', { width: 390, height: 760 }]] as const) {
    const wc = await startWebChat();
    const { c: teacher } = await WireClient.login(wc.chat.port, 'ms_rivera', { rooms: ['lobby', 'lab'] });
    const { c: sam } = await WireClient.login(wc.chat.port, 'sam', { rooms: ['lobby', 'lab'] });
    await say(teacher, 't1', 'Good morning! Today: sockets. Open the lab room when you are ready.', { subject: 'Lab 3', room: 'lobby' });
    await say(sam, 's1', 'morning :)', { room: 'lobby' });
    const ctx = await browser.newContext({ viewport, deviceScaleFactor: name === 'phone' ? 2 : 1 });
    const p = await ctx.newPage();
    const me = name === 'desktop' ? 'alex' : 'noor';
    await signIn(p, wc.url, me);
    await type(p, '/join lab');
    await p.locator('#conv-title', { hasText: '#lab' }).waitFor();
    await p.locator('#rooms button', { hasText: '#lobby' }).click();
    await say(teacher, 't2', 'Step 1: connect with nc to port 9393 and send a hello.', { subject: 'Lab 3', room: 'lobby' });
    await say(sam, 's2', 'got a welcome back! and my ack has id 4', { room: 'lobby' });
    await type(p, 'mine says bad_frame… I forgot the newline');
    await p.locator('#log li.msg.own:not(.pending)').last().waitFor();
    await say(teacher, 't3', 'Exactly: one JSON object per line. Try again!', { room: 'lobby' });
    await say(sam, 's3', 'who else is in the lab room?', { room: 'lab' });
    await say(sam, 's4', 'want to pair on step 2?', { to: me });
    await message(p, 'Try again!').waitFor();
    await p.locator('#input').focus();
    await p.screenshot({ path: `${out}web-${name}.png` });
    await ctx.close();
    await teacher.close();
    await sam.close();
    await wc.stop();
    removeDir(wc.dir);
  }
} finally {
  await browser.close();
}
