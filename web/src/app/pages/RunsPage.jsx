// Runs: experiments, and a table of runs with the filter language, sorting by
// any param or metric through the server, paging, and selection for Compare.
// Deep link: #/runs?experiment=E&filter=F&order=K
import { useEffect, useMemo, useRef, useState } from 'react';
import { gql, useQuery } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading } from '../ui.jsx';
import { EXPERIMENTS, RUNS } from '../runs/queries.js';
import { ariaSort, columnKeys, fmtNum, fmtTime, nextOrder } from '../runs/logic.js';
import '../runs/runs.css';

export const PAGE_SIZE = 50;

// usePagedRuns loads the first page whenever the variables change and
// appends further pages on loadMore.
function usePagedRuns(variables) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ runs: [], pageInfo: null, error: null, loading: true, more: false });
  const gen = useRef(0);
  useEffect(() => {
    const ctrl = new AbortController();
    const n = ++gen.current;
    setState({ runs: [], pageInfo: null, error: null, loading: true, more: false });
    gql(RUNS, { ...JSON.parse(key), first: PAGE_SIZE }, { signal: ctrl.signal }).then(
      (d) => n === gen.current && setState({ runs: d.runs.nodes, pageInfo: d.runs.pageInfo, error: null, loading: false, more: false }),
      (error) => n === gen.current && error.name !== 'AbortError' && setState({ runs: [], pageInfo: null, error, loading: false, more: false }),
    );
    return () => ctrl.abort();
  }, [key]);
  const loadMore = () => {
    const n = gen.current;
    const after = state.pageInfo?.endCursor;
    setState((s) => ({ ...s, more: true, error: null }));
    gql(RUNS, { ...JSON.parse(key), first: PAGE_SIZE, after }).then(
      (d) =>
        n === gen.current &&
        setState((s) => ({ ...s, runs: [...s.runs, ...d.runs.nodes], pageInfo: d.runs.pageInfo, more: false })),
      (error) => n === gen.current && setState((s) => ({ ...s, error, more: false })),
    );
  };
  return { ...state, loadMore };
}

function SortHeader({ label, sortKey, order, onSort, className }) {
  const sort = ariaSort(order, sortKey);
  const arrow = sort === 'ascending' ? '▲' : sort === 'descending' ? '▼' : '';
  return (
    <th scope="col" aria-sort={sort} className={className}>
      <button type="button" className="sort" onClick={() => onSort(sortKey)} title={`Sort by ${sortKey}`}>
        {label}
        <span aria-hidden="true" className="arrow">
          {arrow}
        </span>
      </button>
    </th>
  );
}

export function RunsPage({ route }) {
  const q = route.query;
  const experiment = q.get('experiment') || '';
  const filter = q.get('filter') || '';
  const order = q.get('order') || '';
  const set = (patch) => navigate('runs', '', { experiment, filter, order, ...patch });

  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [filter]);
  const [selected, setSelected] = useState(() => new Set());

  const experiments = useQuery(EXPERIMENTS, {});
  const variables = {
    filter: filter || null,
    experiment: experiment || null,
    orderBy: order ? [order] : null,
  };
  const runs = usePagedRuns(variables);
  const cols = useMemo(() => columnKeys(runs.runs), [runs.runs]);
  const filterError = runs.error && runs.error.code === 'BAD_USER_INPUT' ? runs.error : null;
  const otherError = runs.error && !filterError ? runs.error : null;

  const toggle = (id) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allShown = runs.runs.length > 0 && runs.runs.every((r) => selected.has(r.id));
  const toggleAll = () =>
    setSelected((s) => {
      const n = new Set(s);
      for (const r of runs.runs) {
        if (allShown) n.delete(r.id);
        else n.add(r.id);
      }
      return n;
    });
  const ids = [...selected];
  const onSort = (k) => set({ order: nextOrder(order, k) });

  return (
    <section className="runs-page">
      <div className="page-head">
        <h1>Runs</h1>
        <GraphiQLLink query={RUNS} variables={{ ...variables, first: PAGE_SIZE }} />
      </div>

      <div className="runs-controls">
        <label>
          Experiment{' '}
          <select
            value={experiment}
            onChange={(e) => set({ experiment: e.target.value })}
            aria-describedby={experiments.error ? 'experiments-error' : undefined}
          >
            <option value="">All experiments</option>
            {(experiments.data?.experiments.nodes || []).map((x) => (
              <option key={x.id} value={x.name}>
                {x.name}
              </option>
            ))}
            {experiment && experiments.data && !experiments.data.experiments.nodes.some((x) => x.name === experiment) ? (
              <option value={experiment}>{experiment}</option>
            ) : null}
          </select>
        </label>
        <form
          className="filter-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            set({ filter: draft.trim() });
          }}
        >
          <label htmlFor="run-filter">Filter</label>
          <input
            id="run-filter"
            type="search"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="metrics.auc > 0.9 and params.model = 'xgb'"
            spellCheck={false}
            aria-invalid={filterError ? 'true' : undefined}
            aria-describedby={filterError ? 'run-filter-error' : 'run-filter-help'}
          />
          <button type="submit">Apply</button>
          {filter ? (
            <button type="button" onClick={() => set({ filter: '' })}>
              Clear
            </button>
          ) : null}
        </form>
        <button
          type="button"
          className="primary"
          disabled={ids.length < 2}
          onClick={() => navigate('compare', '', { ids: ids.join(',') })}
        >
          Compare{ids.length ? ` (${ids.length})` : ''}
        </button>
      </div>
      {filterError ? (
        <p id="run-filter-error" className="field-error" role="alert">
          {filterError.field ? <strong>{filterError.field}: </strong> : null}
          {filterError.message}
        </p>
      ) : (
        <p id="run-filter-help" className="hint">
          MLflow-style search: <code>metrics.KEY</code>, <code>params.KEY</code>, <code>tags.KEY</code>,{' '}
          <code>attributes.status</code>; <code>= != &lt; &lt;= &gt; &gt;= LIKE ILIKE IN</code>, <code>and</code>,{' '}
          <code>or</code>, parentheses. Select two or more runs to compare.
        </p>
      )}
      {experiments.error ? (
        <div id="experiments-error">
          <ErrorBox error={experiments.error} onRetry={experiments.reload} />
        </div>
      ) : null}
      <ErrorBox error={otherError} />

      {runs.loading ? (
        <Loading what="Loading runs" />
      ) : runs.runs.length === 0 && !runs.error ? (
        <p className="empty">No runs match.</p>
      ) : runs.runs.length ? (
        <>
          <div className="table-scroll">
            <table className="runs-table">
              <caption className="visually-hidden">
                Runs{experiment ? ` of ${experiment}` : ''}; column headers sort.
              </caption>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all shown runs"
                      checked={allShown}
                      onChange={toggleAll}
                    />
                  </th>
                  <SortHeader label="Name" sortKey="attributes.name" order={order} onSort={onSort} />
                  <SortHeader label="Status" sortKey="attributes.status" order={order} onSort={onSort} />
                  <SortHeader label="Started" sortKey="attributes.startedAt" order={order} onSort={onSort} />
                  {experiment ? null : <th scope="col">Experiment</th>}
                  {cols.params.map((k) => (
                    <SortHeader key={'p' + k} label={k} sortKey={`params.${k}`} order={order} onSort={onSort} className="param" />
                  ))}
                  {cols.metrics.map((k) => (
                    <SortHeader key={'m' + k} label={k} sortKey={`metrics.${k}`} order={order} onSort={onSort} className="metric" />
                  ))}
                </tr>
              </thead>
              <tbody>
                {runs.runs.map((r) => (
                  <tr key={r.id} className={selected.has(r.id) ? 'selected' : undefined}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select run ${r.name || r.id}`}
                        checked={selected.has(r.id)}
                        onChange={() => toggle(r.id)}
                      />
                    </td>
                    <td className="run-name">
                      <a href={href('lineage', r.id)}>{r.name || r.id}</a>
                    </td>
                    <td>
                      <span className={`badge status-${String(r.status).toLowerCase()}`}>{r.status}</span>
                    </td>
                    <td>
                      <time dateTime={r.startedAt}>{fmtTime(r.startedAt)}</time>
                    </td>
                    {experiment ? null : (
                      <td>
                        <a href={href('runs', '', { experiment: r.experimentName })}>{r.experimentName}</a>
                      </td>
                    )}
                    {cols.params.map((k) => (
                      <td key={'p' + k} className="param">
                        {r.paramMap?.[k] ?? ''}
                      </td>
                    ))}
                    {cols.metrics.map((k) => (
                      <td key={'m' + k} className="metric num">
                        {r.metricMap?.[k] ? fmtNum(r.metricMap[k].last) : ''}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="table-foot">
            {runs.runs.length} run{runs.runs.length === 1 ? '' : 's'} shown
            {runs.pageInfo?.hasNextPage ? (
              <button type="button" onClick={runs.loadMore} disabled={runs.more}>
                {runs.more ? 'Loading…' : 'Load more'}
              </button>
            ) : null}
          </p>
        </>
      ) : null}
    </section>
  );
}
