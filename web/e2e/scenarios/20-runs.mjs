// Runs: the demo's runs in a table, the filter language narrowing them, a
// malformed filter explained next to the input, sorting by a metric column.
export const name = 'runs: table, filter, filter errors, sort by metric';

const names = async (page) =>
  page.locator('table.runs-table tbody td.run-name').allTextContents();

async function waitNames(page, want, what) {
  for (let i = 0; i < 100; i++) {
    const got = await names(page);
    if (JSON.stringify(got) === JSON.stringify(want)) return got;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(await names(page))}`);
}

export async function run({ page, base, shot }) {
  await page.goto(base + '/#/runs?experiment=churn');
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  await page.locator('table.runs-table tbody tr').first().waitFor();
  const all = (await names(page)).sort();
  const want = ['lgbm-trial', 'xgb-baseline', 'xgb-more-data'];
  if (JSON.stringify(all) !== JSON.stringify(want)) throw new Error(`runs: ${JSON.stringify(all)}`);
  // Columns come from the keys present: params and metrics.
  for (const col of ['learning_rate', 'max_depth', 'auc', 'logloss']) {
    await page.getByRole('columnheader', { name: col }).waitFor();
  }
  // The experiment selector lists the demo's experiment.
  const exp = await page.getByLabel('Experiment').inputValue();
  if (exp !== 'churn') throw new Error(`experiment select = ${exp}`);

  // A filter narrows the runs (through the server) and lands in the hash.
  const input = page.getByLabel('Filter');
  await input.fill("params.model = 'xgb' and metrics.auc > 0.88");
  await input.press('Enter');
  await waitNames(page, ['xgb-more-data'], 'filtered');
  const hash = await page.evaluate(() => decodeURIComponent(location.hash));
  if (!hash.includes("filter=params.model+%3D+'xgb'") && !hash.includes('filter=')) throw new Error(`hash ${hash}`);

  // A malformed filter shows the server's message by the input, no crash.
  await input.fill('metrics.auc >');
  await input.press('Enter');
  const err = page.locator('#run-filter-error');
  await err.waitFor();
  const msg = await err.textContent();
  if (!/expected a value/.test(msg)) throw new Error(`filter error: ${msg}`);
  if ((await input.getAttribute('aria-invalid')) !== 'true') throw new Error('input not marked invalid');
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  await shot('runs-filter-error');

  // Clear, then sort by auc: the first click sorts metrics descending.
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.locator('table.runs-table tbody tr').nth(2).waitFor();
  await page.getByRole('columnheader', { name: 'auc' }).getByRole('button').click();
  await waitNames(page, ['xgb-more-data', 'lgbm-trial', 'xgb-baseline'], 'auc DESC');
  await shot('runs');
  const sort = await page.getByRole('columnheader', { name: 'auc' }).getAttribute('aria-sort');
  if (sort !== 'descending') throw new Error(`aria-sort ${sort}`);
  if (!(await page.evaluate(() => decodeURIComponent(location.hash))).includes('order=metrics.auc+DESC'))
    throw new Error('order not in the hash');
  // A second click (keyboard) flips it.
  await page.getByRole('columnheader', { name: 'auc' }).getByRole('button').focus();
  await page.keyboard.press('Enter');
  await waitNames(page, ['xgb-baseline', 'lgbm-trial', 'xgb-more-data'], 'auc ASC');
  // Sort by a param through the server as well.
  await page.getByRole('columnheader', { name: 'n_estimators' }).getByRole('button').click();
  await waitNames(page, ['xgb-baseline', 'lgbm-trial', 'xgb-more-data'], 'n_estimators ASC');
}
