// Smoke test of the /graphiql page in a real browser.
//
//   PEDIGREE_URL=http://127.0.0.1:8080 node e2e/graphiql.smoke.mjs
//
// It opens /graphiql on a running server in Debian's headless Chromium and
// checks that the page carries the security headers, that the editor renders
// the example tabs, that running the active example gets an answer from
// /graphql, that ?query= prefills the editor, that no request goes to any host
// but the server's own (such requests are aborted, not sent), and that the
// console shows no error (CSP violations are console errors). A screenshot is
// saved to e2e/screenshots/graphiql.png.
//
// Environment: PEDIGREE_URL (default http://127.0.0.1:8080), CHROMIUM (path
// of the browser; default /usr/bin/chromium-headless-shell or
// /usr/bin/chromium), PEDIGREE_TOKEN (optional, sent as a bearer token).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { base, launch, newPage as openPage } from './browser.mjs';

const screenshotDir = fileURLToPath(new URL('./screenshots/', import.meta.url));
const timeout = 30_000;

const browser = await launch();

// newPage opens a fresh context (no stored GraphiQL tabs) that records
// external requests, console errors and uncaught exceptions into problems.
const newPage = (problems) => openPage(browser, problems);

// editorText returns the visible text of the operation editor.
async function editorText(page) {
  const lines = page.locator('.graphiql-query-editor .view-lines').first();
  await lines.waitFor({ state: 'visible', timeout });
  return (await lines.innerText()).replace(/\u00a0/g, ' ');
}

const checks = [
  [
    'page loads with headers, examples and a working fetcher',
    async (problems) => {
      const { context, page } = await newPage(problems);
      try {
        await loadAndRun(page);
      } finally {
        // Saved on failure too: it shows what the page looked like.
        mkdirSync(screenshotDir, { recursive: true });
        await page.screenshot({ path: `${screenshotDir}graphiql.png` }).catch(() => {});
        await context.close();
      }
    },
  ],
  [
    '?query= prefills the editor',
    async (problems) => {
      const { context, page } = await newPage(problems);
      const q = '{ node(id: "modelversion:churn/1") { id } }';
      const url = new URL('/graphiql', base);
      url.searchParams.set('query', q);
      await page.goto(url.href, { waitUntil: 'load', timeout });
      await waitForText(page, 'modelversion:churn/1');
      await context.close();
    },
  ],
];

// loadAndRun opens /graphiql, checks its headers and example tabs, and runs
// the first example.
async function loadAndRun(page) {
  const resp = await page.goto(new URL('/graphiql', base).href, { waitUntil: 'load', timeout });
  if (!resp || resp.status() !== 200) throw new Error(`GET /graphiql: status ${resp && resp.status()}`);
  const h = resp.headers();
  for (const [name, want] of [
    ['x-frame-options', 'DENY'],
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'no-referrer'],
  ]) {
    if (h[name] !== want) throw new Error(`header ${name}: got ${h[name]}, want ${want}`);
  }
  const csp = h['content-security-policy'] || '';
  if (!/script-src 'self'(;|$)/.test(csp)) throw new Error(`CSP does not lock scripts to 'self': ${csp}`);

  const text = await waitForText(page, 'query Models');
  const tabs = await page.locator('.graphiql-tab').count();
  if (tabs < 5) throw new Error(`want the 5 example tabs, got ${tabs}`);
  if (!text.includes('# Models and stages')) throw new Error(`first tab is not the first example:\n${text}`);

  // Run the active example; any JSON answer proves POST /graphql works
  // under the CSP (errors are fine: the server may lack the demo data).
  const answer = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/graphql' && r.request().method() === 'POST' &&
      (r.request().postData() || '').includes('query Models'),
    { timeout },
  );
  await page.locator('.graphiql-execute-button').click();
  const r = await answer;
  const body = await r.json().catch(() => null);
  if (!body || !('data' in body || 'errors' in body)) throw new Error(`POST /graphql answered ${r.status()} without a GraphQL result`);
  await page.locator('.graphiql-response .view-lines').filter({ hasText: /"(data|errors)"/ }).waitFor({ timeout });
  if (body.errors) console.log(`  note: Models example answered errors: ${JSON.stringify(body.errors).slice(0, 300)}`);
}

async function waitForText(page, want) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await editorText(page);
    if (text.includes(want)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`editor never showed ${JSON.stringify(want)}; it shows:\n${text}`);
}

// summarize lists distinct problems, the first 20, with repeat counts.
function summarize(problems) {
  const counts = new Map();
  for (const p of problems) counts.set(p, (counts.get(p) || 0) + 1);
  const lines = [...counts].map(([p, n]) => (n > 1 ? `${p} (x${n})` : p));
  const more = lines.length > 20 ? `\n… and ${lines.length - 20} more` : '';
  return lines.slice(0, 20).join('\n') + more;
}

let passed = 0;
let failed = 0;
for (const [name, run] of checks) {
  const problems = [];
  try {
    await run(problems);
    if (problems.length) throw new Error(summarize(problems));
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n  ${String(err.message || err).replace(/\n/g, '\n  ')}`);
    if (problems.length && !String(err.message).includes(problems[0])) console.log(`  ${summarize(problems).replace(/\n/g, '\n  ')}`);
  }
}
await browser.close();
console.log(`graphiql: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
