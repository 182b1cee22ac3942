// The registry: open it, open churn, promote a version to Production with
// one click (reason, confirm), see its badge change and the audit entry;
// then lose a race (the stage changes behind the UI's back) and see the
// conflict explained. Robust to whatever stages earlier scenarios left.
export const name = 'registry: promote a version with one click, and a conflict is explained';

async function api(page, base, query, variables) {
  const resp = await page.request.post(base + '/graphql', { data: { query, variables } });
  const body = await resp.json();
  if (body.errors) throw new Error(`API: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const STAGES = `query($name: String!) { model(name: $name) { versions(first: 200) { nodes { version stage } } } }`;
const stages = async (page, base) => (await api(page, base, STAGES, { name: 'churn' })).model.versions.nodes;

function badge(page, version) {
  return page.locator(`tr[data-version="${version}"] .badge`).first();
}

async function waitBadge(page, version, stage) {
  await page.waitForFunction(
    ([v, s]) => document.querySelector(`tr[data-version="${v}"] .badge`)?.textContent === s,
    [version, stage],
  );
}

export async function run({ page, base, shot }) {
  await page.goto(base + '/#/models');
  const link = page.getByRole('link', { name: 'churn', exact: true });
  await link.waitFor();
  await page.locator('tr[data-model="churn"] .alias').first().waitFor();
  await shot('registry');
  await link.click();
  await page.getByRole('heading', { name: /Model churn/ }).waitFor();
  if (!page.url().includes('#/model/churn')) throw new Error(`clicking churn went to ${page.url()}`);
  await page.getByRole('heading', { name: 'Audit trail' }).waitFor();

  // Promote the newest version that is not in Production.
  const before = await stages(page, base);
  const prod = before.find((v) => v.stage === 'PRODUCTION');
  const target = before.find((v) => v.stage !== 'PRODUCTION');
  if (!target) throw new Error('churn has no version outside Production to promote');
  await badge(page, target.version).waitFor();
  await page.getByRole('button', { name: `Production v${target.version}`, exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Move churn v${target.version} to Production` });
  await dialog.waitFor();
  if (prod) {
    const text = await dialog.textContent();
    if (!text.includes(`v${prod.version}`) || !/archived: it is the current Production version/.test(text)) {
      throw new Error(`the dialog does not say v${prod.version} will be archived: ${text}`);
    }
  }
  // The reason is required: confirming without one keeps the dialog open.
  await dialog.getByRole('button', { name: 'Move to Production' }).click();
  await dialog.getByText('A reason is required.').waitFor();
  const reason = `e2e promotion ${Date.now()}: holdout AUC 0.91`;
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: 'Move to Production' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: `churn v${target.version} is now in PRODUCTION` }).waitFor();
  await waitBadge(page, target.version, 'PRODUCTION');
  if (prod) await waitBadge(page, prod.version, 'ARCHIVED');
  const entry = page.locator('table.audit tbody tr').filter({ hasText: reason });
  await entry.waitFor();
  const entryText = await entry.textContent();
  if (!entryText.includes(`v${target.version}`) || !entryText.includes('PRODUCTION')) {
    throw new Error(`audit entry lacks the version or stage: ${entryText}`);
  }
  await shot('model');

  // A conflict: open a stage change, move the version behind the UI's back, confirm.
  const now = await stages(page, base);
  const victim = now.find((v) => v.stage !== 'PRODUCTION');
  if (!victim) throw new Error('no version outside Production for the conflict');
  const [button, wanted] = victim.stage === 'STAGING' ? ['Archive', 'Archived'] : ['Staging', 'Staging'];
  const sneaky = victim.stage === 'NONE' ? 'ARCHIVED' : 'NONE';
  await page.getByRole('button', { name: `${button} v${victim.version}`, exact: true }).click();
  const d2 = page.getByRole('dialog', { name: `Move churn v${victim.version} to ${wanted}` });
  await d2.waitFor();
  await api(
    page,
    base,
    `mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) { stage } }`,
    { input: { model: 'churn', version: victim.version, stage: sneaky, reason: 'changed behind the UI' } },
  );
  await d2.getByLabel(/Reason/).fill('this one loses the race');
  await d2.getByRole('button', { name: `Move to ${wanted}` }).click();
  const alert = d2.getByRole('alert');
  await alert.waitFor();
  const msg = await alert.textContent();
  const expected = `Someone else changed churn v${victim.version} first: it is now in ${sneaky}. Reload to see the current state.`;
  if (!msg.includes(expected)) throw new Error(`conflict message = ${JSON.stringify(msg)}, want ${expected}`);
  await shot('conflict');
  await d2.getByRole('button', { name: 'Reload' }).click();
  await d2.waitFor({ state: 'detached' });
  await waitBadge(page, victim.version, sneaky);
  await page.locator('table.audit tbody tr').filter({ hasText: 'changed behind the UI' }).waitFor();
  if (await page.locator('table.audit').getByText('this one loses the race').count()) {
    throw new Error('the losing change reached the audit trail');
  }
}
