// Compare: select two runs, see the differing params highlighted, toggle
// "Show only differences", the best metric marked, charts drawn.
export const name = 'compare: two runs, differing params, only differences, charts';

export async function run({ page, base, shot }) {
  await page.goto(base + '/#/runs?experiment=churn&order=attributes.name');
  await page.locator('table.runs-table tbody tr').nth(2).waitFor();
  const compare = page.getByRole('button', { name: /^Compare/ });
  if (!(await compare.isDisabled())) throw new Error('Compare enabled with nothing selected');
  await page.getByRole('checkbox', { name: 'Select run xgb-baseline' }).check();
  // Keyboard: focus the second checkbox and toggle it with Space.
  await page.getByRole('checkbox', { name: 'Select run xgb-more-data' }).focus();
  await page.keyboard.press('Space');
  await shot('runs-selected');
  await compare.click();
  await page.waitForFunction(() => location.hash.startsWith('#/compare?ids='));
  await page.getByRole('heading', { name: 'Compare runs' }).waitFor();

  // Differing params: class and accessible marker; equal ones neither.
  const row = (k) => page.locator(`table.params-table tbody tr[data-param="${k}"]`);
  await row('max_depth').waitFor();
  for (const k of ['max_depth', 'learning_rate', 'n_estimators']) {
    const cls = await row(k).getAttribute('class');
    if (!/\bdiffers\b/.test(cls || '')) throw new Error(`${k} not highlighted (class=${cls})`);
    const head = await row(k).getByRole('rowheader').textContent();
    if (!head.includes('(differs)')) throw new Error(`${k} has no accessible marker: ${head}`);
  }
  for (const k of ['model', 'seed']) {
    if (await row(k).getAttribute('class')) throw new Error(`${k} marked as differing`);
  }
  // Best metric: xgb-more-data (second column) has the best auc and logloss.
  const best = page.locator('table.metrics-table tbody tr[data-metric="auc"] td.best');
  if ((await best.count()) !== 1) throw new Error('no single best auc');
  if (!(await best.textContent()).includes('0.9072')) throw new Error(`best auc: ${await best.textContent()}`);

  // Charts: one canvas per metric, with both runs' points loaded.
  const charts = page.locator('.metric-chart .chart');
  await charts.nth(1).waitFor();
  await page.locator('.metric-chart canvas').first().waitFor();
  await page.waitForFunction(() =>
    [...document.querySelectorAll('.metric-chart .chart')].every((c) => Number(c.dataset.points) === 100),
  );
  const size = await page.locator('.metric-chart canvas').first().boundingBox();
  if (!size || size.width < 200 || size.height < 100) throw new Error(`canvas ${JSON.stringify(size)}`);

  // GraphiQL link carries the compareRuns query.
  const gq = await page.getByRole('link', { name: 'Open in GraphiQL' }).getAttribute('href');
  if (!gq.startsWith('/graphiql?') || !decodeURIComponent(gq).includes('compareRuns')) throw new Error(`graphiql ${gq}`);
  await shot('compare');

  // Only differences: equal params disappear, differing ones stay; it is in the hash.
  await page.getByRole('checkbox', { name: 'Show only differences' }).check();
  await page.waitForFunction(() => location.hash.includes('only=1'));
  await row('seed').waitFor({ state: 'detached' });
  if ((await row('model').count()) !== 0) throw new Error('equal param still shown');
  await row('max_depth').waitFor();
  await shot('compare-differences');
  await page.getByRole('checkbox', { name: 'Show only differences' }).uncheck();
  await row('seed').waitFor();

  await largeHistories({ page, base, shot });
}

// Two runs with 100,000 points each: the histories page in, the charts draw
// downsampled series, and the page stays responsive.
async function largeHistories({ page, base, shot }) {
  const gql = async (query, variables) => {
    const resp = await page.request.post(base + '/graphql', { data: { query, variables } });
    const body = await resp.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const N = 100_000;
  const ids = [];
  for (const [name, phase] of [['large-a', 0], ['large-b', 1.3]]) {
    const { startRun } = await gql(
      'mutation($i: StartRunInput!) { startRun(input: $i) { id } }',
      { i: { experiment: 'e2e-large-history', name, params: [{ key: 'phase', value: String(phase) }] } },
    );
    ids.push(startRun.id);
    for (let from = 0; from < N; from += 10_000) {
      const points = [];
      for (let s = from; s < from + 10_000; s++) {
        points.push({ key: 'loss', step: s, value: 1 / (1 + s / 5000) + 0.05 * Math.sin(s / 300 + phase) + (s === 61_000 ? 2 : 0) });
      }
      await gql('mutation($i: LogMetricsInput!) { logMetrics(input: $i) }', { i: { run: startRun.id, points } });
    }
  }
  const t0 = Date.now();
  await page.goto(`${base}/#/compare?ids=${ids.join(',')}`);
  await page.locator('.metric-chart canvas').first().waitFor();
  // While histories stream in, the page keeps answering.
  const probe = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const frame = Date.now() - probe;
  if (frame > 1000) throw new Error(`a frame took ${frame} ms while loading histories`);
  await page.waitForFunction((n) => Number(document.querySelector('.metric-chart .chart')?.dataset.points) === n, 2 * N, { timeout: 60_000 });
  const loaded = Date.now() - t0;
  // Interacting with the drawn chart is quick: toggle a series in the legend
  // by hovering and measure a frame.
  const box = await page.locator('.metric-chart .chart').first().boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const t1 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const hover = Date.now() - t1;
  if (hover > 500) throw new Error(`hovering the chart took ${hover} ms`);
  await shot('compare-100k');
  // Zooming in (wheel over the chart) re-downsamples the visible window.
  for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -400);
  await page.waitForTimeout(300);
  await shot('compare-100k-zoomed');
  console.log(`     2 × ${N} points loaded and drawn in ${loaded} ms; frame after hover ${hover} ms`);
}
