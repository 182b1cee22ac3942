// Roll back churn with a reason: the previous Production version is back in
// Production, the rolled-back one archived, and the audit trail says why.
// Reads the current stages first; if churn has nothing to roll back to, it
// first promotes another version through the API.
export const name = 'registry: roll back to the previous Production version';

async function api(page, base, query, variables) {
  const resp = await page.request.post(base + '/graphql', { data: { query, variables } });
  const body = await resp.json();
  if (body.errors) throw new Error(`API: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const STAGES = `query($name: String!) { model(name: $name) { versions(first: 200) { nodes { version stage } } } }`;
const TRANSITION = `mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) { stage } }`;

async function waitBadge(page, version, stage) {
  await page.waitForFunction(
    ([v, s]) => document.querySelector(`tr[data-version="${v}"] .badge`)?.textContent === s,
    [version, stage],
  );
}

export async function run({ page, base, shot }) {
  let vs = (await api(page, base, STAGES, { name: 'churn' })).model.versions.nodes;
  let prod = vs.find((v) => v.stage === 'PRODUCTION');
  // Promoting another version over the current one guarantees a previous Production version.
  const other = vs.find((v) => v.stage !== 'PRODUCTION');
  if (!prod || !other) throw new Error(`churn needs a Production version and another one: ${JSON.stringify(vs)}`);
  const restored = prod;
  const current = other;
  await api(page, base, TRANSITION, { input: { model: 'churn', version: other.version, stage: 'PRODUCTION', reason: 'e2e set-up for rollback' } });

  await page.goto(base + '/#/model/churn');
  await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
  await waitBadge(page, current.version, 'PRODUCTION');
  await page.getByRole('button', { name: 'Roll back', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Roll back churn' });
  await dialog.waitFor();
  const text = await dialog.textContent();
  if (!text.includes(`v${current.version} (now PRODUCTION) will be archived`)) {
    throw new Error(`the dialog does not say v${current.version} will be archived: ${text}`);
  }
  if (!text.includes(`v${restored.version} (now`) || !text.includes('expected back in Production')) {
    throw new Error(`the dialog does not name v${restored.version} as restored: ${text}`);
  }
  // Escape cancels without changing anything; the button gets focus back.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  const focused = await page.evaluate(() => document.activeElement?.textContent);
  if (focused !== 'Roll back') throw new Error(`focus went to ${JSON.stringify(focused)} after Escape, not the Roll back button`);
  await page.keyboard.press('Enter');
  await dialog.waitFor();

  const reason = `e2e rollback ${Date.now()}: live AUC dropped`;
  await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.getByRole('button', { name: 'Roll back' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('status').filter({ hasText: `Rolled back churn: v${restored.version} is now in PRODUCTION` }).waitFor();
  await waitBadge(page, restored.version, 'PRODUCTION');
  await waitBadge(page, current.version, 'ARCHIVED');
  const rows = page.locator('table.audit tbody tr').filter({ hasText: `rollback: ${reason}` });
  await rows.first().waitFor();
  if ((await rows.count()) !== 2) throw new Error(`want 2 audit entries for the rollback, got ${await rows.count()}`);
  vs = (await api(page, base, STAGES, { name: 'churn' })).model.versions.nodes;
  prod = vs.find((v) => v.stage === 'PRODUCTION');
  if (prod?.version !== restored.version) throw new Error(`server says v${prod?.version} is in Production, want v${restored.version}`);
  await shot('rollback');
}
