// The impact view of a dataset version: model versions by stage, deployments, counts.
export const name = 'impact view: model versions by stage and deployments';

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

export async function run({ page, base, shot }) {
  await page.goto(base + '/#/impact/datasetversion:customers/1');
  await page.getByRole('heading', { name: /Impact of customers@v1/ }).waitFor();
  await page.getByRole('heading', { name: 'Model versions by stage' }).waitFor();
  // customers@v1 trained churn@v1, which is back in Production after the rollback.
  const prod = page.locator('section.stage-group').filter({ has: page.locator('.stage-production') });
  await prod.getByRole('link', { name: 'churn@v1', exact: true }).waitFor();
  const deployments = page.locator('table.deployments tbody tr');
  await deployments.first().waitFor();
  const rows = await deployments.allTextContents();
  check(rows.some((r) => r.includes('churn@v1') && r.includes('production')), `deployments: ${rows}`);
  const counts = await page.getByRole('list', { name: 'Counts' }).textContent();
  check(/1\s*model version/.test(counts), `counts: ${counts}`);
  await shot('impact');

  // customers@v2 trained churn@v2 (archived by the rollback): grouped under ARCHIVED.
  await page.goto(base + '/#/impact/datasetversion:customers/2');
  await page.getByRole('heading', { name: /Impact of customers@v2/ }).waitFor();
  const archived = page.locator('section.stage-group').filter({ has: page.locator('.stage-archived') });
  await archived.getByRole('link', { name: 'churn@v2', exact: true }).waitFor();

  // A link goes to the version's lineage.
  await archived.getByRole('link', { name: 'Lineage of churn@v2' }).click();
  await page.waitForURL(/#\/lineage\/modelversion:churn\/2/);
  await page.getByRole('heading', { name: /Lineage of churn@v2/ }).waitFor();

  // The start page finds a dataset version through the search box.
  await page.goto(base + '/#/impact');
  const box = page.getByRole('combobox', { name: 'Impact of' });
  await box.fill('customers@v1');
  await page.getByRole('option', { name: /customers@v1/ }).first().waitFor();
  await page.getByRole('option', { name: /datasetversion:customers\/1/ }).click();
  await page.waitForURL(/#\/impact\/datasetversion:customers\/1/);
}
