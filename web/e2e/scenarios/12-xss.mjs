// Stored XSS: markup in a run name, a dataset description and a tag is
// shown as text in the search box, the lineage graph's text, the details
// panel and the impact view; no dialog opens (the runner fails on any).
export const name = 'user text with markup renders as text (stored XSS)';

const PAYLOAD = '<img src=x onerror=alert(1)>';

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function post(page, base, query, variables) {
  const resp = await page.request.post(base + '/graphql', {
    headers: { 'Content-Type': 'application/json' },
    data: { query, variables },
  });
  const body = await resp.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function run({ page, base, shot }) {
  const digest = 'sha256:' + 'ab'.repeat(32);
  const { registerDatasetVersion: dv } = await post(
    page,
    base,
    `mutation($i: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $i) { id } }`,
    { i: { dataset: 'xss-probe', uri: 's3://xss/probe', digest, description: PAYLOAD, tags: [{ key: 'note', value: PAYLOAD }] } },
  );
  const { startRun: r } = await post(page, base, `mutation($i: StartRunInput!) { startRun(input: $i) { id } }`, {
    i: { experiment: 'xss-probe', name: PAYLOAD, description: PAYLOAD, inputs: [{ node: dv.id, role: 'train' }] },
  });

  // Watch for anything the payload would do if it were parsed as HTML.
  let imgRequests = 0;
  page.on('request', (req) => {
    if (/\/x$/.test(new URL(req.url()).pathname)) imgRequests++;
  });
  const noInjectedImg = async () => {
    const n = await page.evaluate(() => document.querySelectorAll('img[src="x"], img[onerror]').length);
    check(n === 0, `${n} injected <img> elements`);
  };

  // The search box lists the run by its name, as text.
  await page.goto(base + '/#/');
  const box = page.getByRole('combobox', { name: 'Search datasets, runs, models and more' });
  await box.fill('onerror');
  const opt = page.getByRole('option').filter({ hasText: PAYLOAD });
  await opt.first().waitFor();
  await noInjectedImg();
  await opt.first().click();
  await page.waitForURL(/#\/lineage\/run:/);

  // The lineage view: heading, text alternative and details show the text.
  await page.getByRole('heading', { name: `Lineage of ${PAYLOAD}` }).waitFor();
  const details = page.getByRole('complementary', { name: 'Node details' });
  await details.getByRole('heading', { name: PAYLOAD }).waitFor();
  await details.locator('.description').filter({ hasText: PAYLOAD }).waitFor();
  await page.locator('table.graph-nodes').getByRole('button', { name: PAYLOAD }).waitFor();
  // The dataset version's description and tag, in its details.
  await page.locator('table.graph-nodes').getByRole('button', { name: 'xss-probe@v1' }).click();
  await details.getByRole('heading', { name: 'xss-probe@v1' }).waitFor();
  await details.locator('.description').filter({ hasText: PAYLOAD }).waitFor();
  await details.locator('.pairs').filter({ hasText: PAYLOAD }).waitFor();
  await noInjectedImg();
  await shot('xss-lineage');

  // The exported SVG escapes the label.
  const [svg] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export SVG' }).click()]);
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(await svg.path(), 'utf8');
  check(!text.includes('<img') && text.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the SVG export does not escape the label');

  // The impact view of the dataset version lists the run as text.
  await page.goto(base + '/#/impact/' + dv.id);
  await page.getByRole('heading', { name: /Impact of xss-probe@v1/ }).waitFor();
  await page.getByText('Runs (1)', { exact: false }).click();
  await page.getByRole('link', { name: PAYLOAD }).waitFor();
  await noInjectedImg();
  check(imgRequests === 0, `${imgRequests} requests for the injected image`);
  check(r.id.startsWith('run:'), 'no run');
}
