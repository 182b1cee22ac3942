// Comparison of runs: params side by side with differences highlighted,
// metric summaries with the best value marked, and metric histories overlaid.
// Deep link: #/compare?ids=run:a,run:b&only=1
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading } from '../ui.jsx';
import { COMPARE } from '../runs/queries.js';
import { bestIndex, fmtNum, paramRows, parseIds, runLabels, visibleRows } from '../runs/logic.js';
import { fetchHistories } from '../runs/history.js';
import { MetricChart } from '../runs/MetricChart.jsx';
import '../runs/runs.css';

function RunHeaders({ runs, labels }) {
  return runs.map((r, i) => (
    <th scope="col" key={r.id}>
      <a href={href('lineage', r.id)}>{labels[i]}</a>
      <div className="sub">
        <span className={`badge status-${String(r.status).toLowerCase()}`}>{r.status}</span>
      </div>
    </th>
  ));
}

// CompareTable is the frame both comparison tables share: one column per
// run, and a row saying so when nothing is left to show.
function CompareTable({ className, caption, heading, runs, labels, empty, children }) {
  return (
    <table className={`compare-table ${className}`}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{heading}</th>
          <RunHeaders runs={runs} labels={labels} />
        </tr>
      </thead>
      <tbody>
        {children.length === 0 ? (
          <tr>
            <td colSpan={runs.length + 1} className="empty">
              {empty}
            </td>
          </tr>
        ) : (
          children
        )}
      </tbody>
    </table>
  );
}

export function ParamsTable({ runs, labels, params, onlyDifferences }) {
  const rows = visibleRows(paramRows(params), onlyDifferences);
  const differing = paramRows(params).filter((r) => r.differs).length;
  return (
    <CompareTable
      className="params-table"
      caption={
        <>
          Params <span className="hint">({differing} of {params.length} differ)</span>
        </>
      }
      heading="Param"
      runs={runs}
      labels={labels}
      empty={onlyDifferences ? 'No param differs.' : 'No params.'}
    >
      {rows.map((row) => (
        <tr key={row.key} className={row.differs ? 'differs' : undefined} data-param={row.key}>
          <th scope="row">
            {row.key}
            {row.differs ? <span className="visually-hidden"> (differs)</span> : null}
            {row.differs ? (
              <span className="diff-mark" aria-hidden="true" title="differs">
                ≠
              </span>
            ) : null}
          </th>
          {row.values.map((v, i) => (
            <td key={i} className={v === null || v === undefined ? 'missing' : undefined}>
              {v === null || v === undefined ? <span aria-label="not set">—</span> : v}
            </td>
          ))}
        </tr>
      ))}
    </CompareTable>
  );
}

export function MetricsTable({ runs, labels, metrics, onlyDifferences }) {
  const rows = onlyDifferences ? metrics.filter((m) => m.differs !== false) : metrics;
  return (
    <CompareTable
      className="metrics-table"
      caption="Metrics (last value; min – max; best last value marked ★)"
      heading="Metric"
      runs={runs}
      labels={labels}
      empty={onlyDifferences ? 'No metric differs.' : 'No metrics.'}
    >
      {rows.map((m) => {
        const best = bestIndex({ ...m, lastValues: m.values.map((v) => (v ? v.last : null)) });
        return (
          <tr key={m.key} data-metric={m.key}>
            <th scope="row">
              {m.key}
              <div className="sub hint">{m.higherIsBetter === false ? 'lower is better' : 'higher is better'}</div>
            </th>
            {m.values.map((v, i) =>
              v ? (
                <td key={i} className={i === best ? 'best num' : 'num'} aria-label={i === best ? `best ${m.key}` : undefined}>
                  <strong>{fmtNum(v.last)}</strong>
                  {i === best ? (
                    <span className="best-mark" title="best">
                      {' '}
                      ★<span className="visually-hidden"> best</span>
                    </span>
                  ) : null}
                  <div className="sub">
                    {fmtNum(v.min)} – {fmtNum(v.max)} · {v.count} pts
                  </div>
                </td>
              ) : (
                <td key={i} className="missing">
                  <span aria-label="not logged">—</span>
                </td>
              ),
            )}
          </tr>
        );
      })}
    </CompareTable>
  );
}

function Charts({ runs, labels, metrics }) {
  const ids = useMemo(() => runs.map((r) => r.id), [runs]);
  const keys = useMemo(() => metrics.map((m) => m.key), [metrics]);
  const [state, setState] = useState({ series: null, error: null, done: false });
  useEffect(() => {
    if (!keys.length) return undefined;
    const ctrl = new AbortController();
    setState({ series: null, error: null, done: false });
    // Each progress report copies the arrays so React sees new series.
    const snap = (s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.map((a) => a.slice())]));
    fetchHistories(ids, keys, {
      signal: ctrl.signal,
      onProgress: (s) => !ctrl.signal.aborted && setState({ series: snap(s), error: null, done: false }),
    }).then(
      (s) => !ctrl.signal.aborted && setState({ series: snap(s), error: null, done: true }),
      (error) => error.name !== 'AbortError' && setState((st) => ({ ...st, error, done: true })),
    );
    return () => ctrl.abort();
  }, [ids, keys]);
  if (!keys.length) return <p className="empty">No metrics logged.</p>;
  return (
    <section className="charts" aria-label="Metric histories">
      <h2>Metric histories</h2>
      <ErrorBox error={state.error} />
      {!state.done ? <Loading what="Loading metric histories" /> : null}
      <div className="chart-grid">
        {keys.map((k) => (
          <MetricChart key={k} metricKey={k} labels={labels} series={state.series?.[k] || runs.map(() => [])} />
        ))}
      </div>
    </section>
  );
}

export function ComparePage({ route }) {
  const idsParam = route.query.get('ids') || '';
  const ids = useMemo(() => parseIds(idsParam), [idsParam]);
  // The toggle lives in the hash (deep links) and answers at once, before
  // the hashchange comes back.
  const onlyInHash = route.query.get('only') === '1';
  const [only, setOnly] = useState(onlyInHash);
  useEffect(() => setOnly(onlyInHash), [onlyInHash]);
  const tooFew = ids.length < 2;
  const res = useQuery(COMPARE, { ids }, { skip: tooFew });
  const cmp = res.data?.compareRuns;
  const labels = useMemo(() => (cmp ? runLabels(cmp.runs) : []), [cmp]);

  return (
    <section className="compare-page">
      <div className="page-head">
        <h1>Compare runs</h1>
        <GraphiQLLink query={COMPARE} variables={{ ids }} />
        <a href={href('runs')}>Back to runs</a>
      </div>
      {tooFew ? (
        <p role="alert">
          Pick at least two runs on the <a href={href('runs')}>Runs</a> page to compare them.
        </p>
      ) : res.loading && !cmp ? (
        <Loading what="Comparing runs" />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={res.reload} />
      ) : cmp ? (
        <>
          <label className="toggle">
            <input
              type="checkbox"
              checked={only}
              onChange={(e) => {
                setOnly(e.target.checked);
                navigate('compare', '', { ids: ids.join(','), only: e.target.checked ? '1' : '' });
              }}
            />{' '}
            Show only differences
          </label>
          <div className="table-scroll">
            <ParamsTable runs={cmp.runs} labels={labels} params={cmp.params} onlyDifferences={only} />
          </div>
          <div className="table-scroll">
            <MetricsTable runs={cmp.runs} labels={labels} metrics={cmp.metrics} onlyDifferences={only} />
          </div>
          <Charts runs={cmp.runs} labels={labels} metrics={cmp.metrics} />
        </>
      ) : null}
    </section>
  );
}
