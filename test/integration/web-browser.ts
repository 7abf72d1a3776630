/**
 * Helpers for the web client's browser tests: a repeater server in-process with its web listener,
 * and Debian's Chromium driven by playwright-core. When /usr/bin/chromium is absent the tests
 * skip and say why (CI installs it: .ci/run).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { silentLogger } from '../../src/log/index.js';
import { createWebServer, type WebServer } from '../../src/web/web-server.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

export const CHROMIUM = process.env.LAB93_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
  console.log(`# web tests ${why}`);
  return why;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export interface WebChat {
  chat: TestServer;
  web: WebServer;
  url: string;
  webPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** A chat server and its web listener; `webPort` and `dir` restart the same one after a stop. */
export async function startWebChat(o: { dir?: string; webPort?: number; origins?: string[] } = {}): Promise<WebChat> {
  const dir = o.dir ?? tempDir('lab93-web-');
  const chat = await startServer({}, {}, dir);
  const web = createWebServer({ server: chat.server, log: silentLogger(), options: { origins: o.origins ?? [] } });
  const a = await web.listen(o.webPort ?? 0, '127.0.0.1');
  return {
    chat,
    web,
    dir,
    webPort: a.port,
    url: `http://127.0.0.1:${a.port}/`,
    async stop() {
      await chat.stop();
      await web.close();
    },
  };
}

/** Signs in on a fresh page. */
export async function signIn(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#status', { hasText: /^online/ }).waitFor();
}

/** Types a line into the input and sends it with Enter, as a user does. */
export async function type(page: Page, line: string): Promise<void> {
  await page.getByLabel('Message, or a /command').fill(line);
  await page.getByLabel('Message, or a /command').press('Enter');
}

/** The message in the open conversation whose content is exactly `text`. */
export function message(page: Page, text: string) {
  return page.locator('#log li.msg').filter({ has: page.locator('.content', { hasText: text }) });
}
