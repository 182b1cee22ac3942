// Pure helpers of the Runs and Compare views: table columns, sort keys,
// param diffs, best values and number formatting. No React, no fetching.

// columnKeys collects the param and metric keys present in a page of runs
// (from paramMap/metricMap), each sorted.
export function columnKeys(runs) {
  const params = new Set();
  const metrics = new Set();
  for (const r of runs || []) {
    for (const k of Object.keys(r.paramMap || {})) params.add(k);
    for (const k of Object.keys(r.metricMap || {})) metrics.add(k);
  }
  return { params: [...params].sort(), metrics: [...metrics].sort() };
}

// parseOrder reads an orderBy term such as "metrics.auc DESC" into
// { key: 'metrics.auc', dir: 'DESC' }; an empty term gives null.
export function parseOrder(order) {
  const s = (order || '').trim();
  if (!s) return null;
  const m = /^(.*?)(?:\s+(ASC|DESC))?$/i.exec(s);
  return { key: m[1], dir: (m[2] || 'ASC').toUpperCase() };
}

// nextOrder is what a click on a column header sets: a new column sorts
// (metrics descending first, since higher is usually what one looks for;
// everything else ascending), a second click flips, a third clears.
export function nextOrder(current, key) {
  const cur = parseOrder(current);
  const first = key.startsWith('metrics.') ? 'DESC' : 'ASC';
  if (!cur || cur.key !== key) return formatOrder(key, first);
  if (cur.dir === first) return formatOrder(key, first === 'DESC' ? 'ASC' : 'DESC');
  return '';
}

export function formatOrder(key, dir) {
  return dir === 'DESC' ? `${key} DESC` : key;
}

// ariaSort is the aria-sort value of a column header under an order.
export function ariaSort(order, key) {
  const cur = parseOrder(order);
  if (!cur || cur.key !== key) return 'none';
  return cur.dir === 'DESC' ? 'descending' : 'ascending';
}

// valuesDiffer says whether compared values disagree; a missing value
// (null/undefined) differs from any present one.
export function valuesDiffer(values) {
  if (!values || values.length < 2) return false;
  const norm = (v) => (v === undefined || v === null ? '\u0000missing' : String(v));
  const first = norm(values[0]);
  return values.some((v) => norm(v) !== first);
}

// paramRows normalizes compareRuns params: the server's differs flag when
// given, the client's own check otherwise.
export function paramRows(params) {
  return (params || []).map((p) => ({
    key: p.key,
    values: p.values,
    differs: typeof p.differs === 'boolean' ? p.differs : valuesDiffer(p.values),
  }));
}

// visibleRows applies the "Show only differences" toggle.
export function visibleRows(rows, onlyDifferences) {
  return onlyDifferences ? rows.filter((r) => r.differs) : rows;
}

// lowerIsBetter guesses the direction of a metric from its name (loss,
// error, rmse, …) when the server does not say.
export function lowerIsBetter(key) {
  return /(loss|err|error|rmse|mse|mae|mape|perplexity|latency|time|duration)/i.test(key);
}

// bestIndex picks the run with the best last value of a metric row: the
// server's bestIndex when it gives one, the client's own pick otherwise.
// Returns null when no run has the metric.
export function bestIndex(row) {
  if (row && Number.isInteger(row.bestIndex)) return row.bestIndex;
  const lasts = (row?.lastValues ?? (row?.values || []).map((v) => (v ? v.last : null))) || [];
  const higher = typeof row?.higherIsBetter === 'boolean' ? row.higherIsBetter : !lowerIsBetter(row?.key || '');
  let best = null;
  lasts.forEach((v, i) => {
    if (v === null || v === undefined || Number.isNaN(v)) return;
    if (best === null || (higher ? v > lasts[best] : v < lasts[best])) best = i;
  });
  return best;
}

// fmtNum shows a metric value compactly without losing small differences.
export function fmtNum(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

// fmtTime shows an RFC 3339 instant in the reader's locale.
export function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

// runLabels gives each run a legend/header label, unique among them:
// its name, with a piece of its ID appended where names repeat.
export function runLabels(runs) {
  const counts = new Map();
  for (const r of runs) {
    const n = r.name || r.id;
    counts.set(n, (counts.get(n) || 0) + 1);
  }
  return runs.map((r) => {
    const n = r.name || r.id;
    return counts.get(n) > 1 ? `${n} (${r.id.slice(-6)})` : n;
  });
}

// parseIds reads the ids= list of a compare link, without blanks or repeats.
export function parseIds(s) {
  return [...new Set((s || '').split(',').map((x) => x.trim()).filter(Boolean))];
}
