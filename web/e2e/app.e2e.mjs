// End-to-end tests of the UI at / against a running `pedigree serve --demo`:
//
//   PEDIGREE_URL=http://127.0.0.1:8080 node e2e/app.e2e.mjs
//
// Each module in e2e/scenarios/ exports `name` and `run({ page, base, shot })`,
// which throws on a failed check. Every scenario runs in a fresh browser
// context; any request to another host, console error, page error or
// JavaScript dialog (an XSS alert) fails it. Screenshots go to
// e2e/screenshots/ (not committed) for a person to look at.
import { mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { base, launch, newPage } from './browser.mjs';

const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const shots = fileURLToPath(new URL('./screenshots/', import.meta.url));
mkdirSync(shots, { recursive: true });

const browser = await launch();
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()) {
  const scenario = await import(new URL(`./scenarios/${file}`, import.meta.url));
  const problems = [];
  const { context, page } = await newPage(browser, problems);
  page.setDefaultTimeout(20_000);
  const shot = (name) => page.screenshot({ path: `${shots}${name}.png`, fullPage: true });
  try {
    await scenario.run({ page, base: base.href.replace(/\/$/, ''), shot });
    if (problems.length) throw new Error(problems.join('\n'));
    console.log(`ok   ${scenario.name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${scenario.name}: ${err.stack || err.message}`);
    await shot(`FAILED-${file.replace(/\.mjs$/, '')}`).catch(() => {});
  }
  await context.close();
}
await browser.close();
console.log(failed ? `app e2e: ${failed} failed` : 'app e2e: all passed');
process.exit(failed ? 1 : 0);
