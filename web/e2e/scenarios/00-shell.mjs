// The shell loads at /, links every view and GraphiQL.
export const name = 'the app shell loads with its navigation';
export async function run({ page, base, shot }) {
  const resp = await page.goto(base + '/');
  if (resp.status() !== 200) throw new Error(`GET / = ${resp.status()}`);
  for (const label of ['Lineage', 'Runs', 'Registry', 'GraphiQL']) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).waitFor();
  }
  await shot('home');
}
