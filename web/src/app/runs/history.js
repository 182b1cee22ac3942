// Loading metric histories for charts. Run.metricHistory pages by step
// (at most 1,000 points a page, afterStep for the next), so a history of
// 100,000 points takes 100 pages; to keep round trips low, each request
// asks for the next page of many (run, key) pairs at once through aliases,
// within the API's limits (20 root fields, 30 aliases per selection set,
// complexity 200,000).
import { gql } from '../api.js';

export const PAGE = 1000;
const MAX_RUNS_PER_REQUEST = 20;
const MAX_KEYS_PER_RUN = 25;
const MAX_PAIRS_PER_REQUEST = 60; // 60 × (1,000 × 2 fields) stays under the complexity limit

// buildHistoryQuery writes one request for a batch of pairs
// [{ runId, key, afterStep }]; it returns { query, variables, aliases }
// where aliases[j] = [runAlias, pairAlias] of batch[j].
export function buildHistoryQuery(batch) {
  const byRun = new Map();
  batch.forEach((p, j) => {
    if (!byRun.has(p.runId)) byRun.set(p.runId, []);
    byRun.get(p.runId).push(j);
  });
  const decls = [];
  const fields = [];
  const variables = {};
  const aliases = new Array(batch.length);
  let r = 0;
  for (const [runId, js] of byRun) {
    decls.push(`$r${r}: ID!`);
    variables[`r${r}`] = runId;
    const inner = js.map((j) => {
      decls.push(`$k${j}: String!`, `$a${j}: Int64`);
      variables[`k${j}`] = batch[j].key;
      variables[`a${j}`] = batch[j].afterStep ?? null;
      aliases[j] = [`r${r}`, `p${j}`];
      return `p${j}: metricHistory(key: $k${j}, afterStep: $a${j}, first: ${PAGE}) { step value }`;
    });
    fields.push(`r${r}: run(id: $r${r}) { ${inner.join(' ')} }`);
    r++;
  }
  return { query: `query MetricHistories(${decls.join(', ')}) { ${fields.join(' ')} }`, variables, aliases };
}

// nextBatch picks pending pairs for one request within the limits.
export function nextBatch(pending) {
  const runs = new Map();
  const batch = [];
  for (const p of pending) {
    if (batch.length >= MAX_PAIRS_PER_REQUEST) break;
    const n = runs.get(p.runId);
    if (n === undefined && runs.size >= MAX_RUNS_PER_REQUEST) continue;
    if ((n || 0) >= MAX_KEYS_PER_RUN) continue;
    runs.set(p.runId, (n || 0) + 1);
    batch.push(p);
  }
  return batch;
}

// fetchHistories loads the histories of keys × runIds, at most maxPoints
// per series, calling onProgress(series) after every request so charts can
// draw while the rest arrives. series is { [key]: [[step, value]…] per run }.
export async function fetchHistories(runIds, keys, { signal, maxPoints = 100_000, onProgress, request = gql } = {}) {
  const series = {};
  const pairs = [];
  for (const key of keys) {
    series[key] = runIds.map(() => []);
    runIds.forEach((runId, i) => pairs.push({ runId, key, i, afterStep: null, done: false }));
  }
  for (;;) {
    const pending = pairs.filter((p) => !p.done);
    if (!pending.length) break;
    const batch = nextBatch(pending);
    const { query, variables, aliases } = buildHistoryQuery(batch);
    const data = await request(query, variables, { signal });
    batch.forEach((p, j) => {
      const [ra, pa] = aliases[j];
      const page = data?.[ra]?.[pa] || [];
      const out = series[p.key][p.i];
      for (const pt of page) out.push([Number(pt.step), pt.value]);
      if (page.length) p.afterStep = page[page.length - 1].step;
      if (page.length < PAGE || out.length >= maxPoints) p.done = true;
    });
    if (onProgress) onProgress(series);
  }
  return series;
}
