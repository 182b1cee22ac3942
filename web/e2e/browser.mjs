// Shared set-up of the browser tests: Debian's headless Chromium through
// playwright-core, pages that record anything a test must not see
// (requests to another host, console errors, uncaught exceptions).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const base = new URL(process.env.PEDIGREE_URL || 'http://127.0.0.1:8080');

const executablePath =
  process.env.CHROMIUM ||
  ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((p) => existsSync(p));

// Only the server itself may be contacted; the UI must work offline.
const localHosts = new Set(['127.0.0.1', 'localhost', '[::1]', base.hostname]);
export function isLocal(u) {
  const url = new URL(u);
  if (url.protocol === 'data:' || url.protocol === 'blob:') return true;
  return localHosts.has(url.hostname);
}

export async function launch() {
  if (!executablePath) {
    console.error('no Chromium found: apt-get install -y --no-install-recommends chromium-headless-shell, or set CHROMIUM');
    process.exit(2);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// newPage opens a fresh context whose external requests (aborted), console
// errors and page errors are pushed to problems.
export async function newPage(browser, problems) {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    extraHTTPHeaders: process.env.PEDIGREE_TOKEN ? { Authorization: `Bearer ${process.env.PEDIGREE_TOKEN}` } : {},
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    problems.push(`request to another host (aborted): ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('websocket', (ws) => {
    if (!isLocal(ws.url())) problems.push(`websocket to another host: ${ws.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (d) => problems.push(`dialog opened (${d.type()}): ${d.message()}`) && d.dismiss());
  return { context, page };
}
