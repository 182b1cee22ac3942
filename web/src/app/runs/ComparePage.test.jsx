import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { fakeFetch, route } from './testing.js';

// The chart itself needs a canvas; its option is tested in downsample.test.js.
vi.mock('./MetricChart.jsx', () => ({
  MetricChart: ({ metricKey, labels, series }) => (
    <div data-testid={`chart-${metricKey}`} data-labels={labels.join('|')} data-points={series.map((s) => s.length).join(',')} />
  ),
}));
const { ComparePage } = await import('../pages/ComparePage.jsx');

const summary = (last) => ({ last, lastStep: 2, min: 0.1, max: last, count: 3 });
const COMPARISON = {
  runs: [
    { id: 'run:1', name: 'xgb-baseline', experimentName: 'churn', status: 'FINISHED', startedAt: '2024-05-01T12:00:00Z' },
    { id: 'run:2', name: '<b>evil</b>', experimentName: 'churn', status: 'FAILED', startedAt: '2024-05-01T12:00:00Z' },
  ],
  params: [
    { key: 'learning_rate', values: ['0.1', '0.05'], differs: true },
    { key: 'max_depth', values: ['6', null], differs: true },
    { key: 'seed', values: ['42', '42'], differs: false },
  ],
  metrics: [
    { key: 'auc', values: [summary(0.87), summary(0.91)], bestIndex: 1, bestRunId: 'run:2', higherIsBetter: true, differs: true },
    { key: 'logloss', values: [summary(0.19), null], bestIndex: 0, bestRunId: 'run:1', higherIsBetter: false, differs: true },
  ],
  inputs: [],
  code: [],
};

function server(body = { data: { compareRuns: COMPARISON } }) {
  return fakeFetch((query, v) => {
    if (query.includes('compareRuns')) return body;
    // metric histories: three points per pair
    const data = {};
    for (const m of query.matchAll(/(r\d+): run\(id: \$r\d+\) \{ (.*?) \}\s*\}/g)) {
      data[m[1]] = {};
      for (const p of m[2].matchAll(/(p\d+): metricHistory/g)) {
        data[m[1]][p[1]] = [0, 1, 2].map((s) => ({ step: s, value: s / 10 }));
      }
    }
    return { data };
  });
}

afterEach(() => {
  cleanup();
  window.location.hash = '';
});

describe('ComparePage', () => {
  it('highlights differing params with a class and an accessible marker', async () => {
    server();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2')} />);
    const lr = (await screen.findByText('learning_rate')).closest('tr');
    expect(lr.classList.contains('differs')).toBe(true);
    expect(lr.querySelector('th').textContent).toContain('(differs)');
    const seed = screen.getByText('seed').closest('tr');
    expect(seed.classList.contains('differs')).toBe(false);
    expect(seed.textContent).not.toContain('differs');
    expect(screen.getAllByLabelText('not set')).toHaveLength(1);
    // User text as text.
    expect(screen.getAllByText('<b>evil</b>').length).toBeGreaterThan(0);
    expect(document.querySelector('th b')).toBeNull();
  });

  it('"Show only differences" hides equal params and lands in the hash', async () => {
    server();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2')} />);
    await screen.findByText('seed');
    const toggle = screen.getByRole('checkbox', { name: 'Show only differences' });
    fireEvent.click(toggle);
    expect(screen.queryByText('seed')).toBeNull();
    expect(screen.getByText('learning_rate')).toBeTruthy();
    expect(window.location.hash).toContain('only=1');
    // A deep link with only=1 starts filtered.
    cleanup();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2&only=1')} />);
    await screen.findByText('learning_rate');
    expect(screen.queryByText('seed')).toBeNull();
    expect(screen.getByRole('checkbox', { name: 'Show only differences' }).checked).toBe(true);
  });

  it('marks the best value per metric', async () => {
    server();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2')} />);
    await screen.findByText('auc');
    const aucBest = screen.getByLabelText('best auc');
    expect(aucBest.textContent).toContain('0.91');
    expect(aucBest.classList.contains('best')).toBe(true);
    expect(screen.getByLabelText('best logloss').textContent).toContain('0.19');
    expect(document.querySelectorAll('td.best')).toHaveLength(2);
  });

  it('loads histories into one chart per metric, one series per run', async () => {
    const calls = server();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2')} />);
    const chart = await screen.findByTestId('chart-auc');
    await waitFor(() => expect(chart.dataset.points).toBe('3,3'));
    expect(chart.dataset.labels).toBe('xgb-baseline|<b>evil</b>');
    expect(screen.getByTestId('chart-logloss')).toBeTruthy();
    expect(calls.filter((c) => c.query.includes('metricHistory'))).toHaveLength(1);
  });

  it('links GraphiQL with the compareRuns query and the ids', async () => {
    server();
    render(<ComparePage route={route('#/compare?ids=run:1,run:2')} />);
    const a = screen.getByRole('link', { name: 'Open in GraphiQL' });
    const u = new URL(a.getAttribute('href'), 'http://x');
    expect(u.pathname).toBe('/graphiql');
    expect(u.searchParams.get('query')).toContain('compareRuns(ids: $ids)');
    expect(JSON.parse(u.searchParams.get('variables'))).toEqual({ ids: ['run:1', 'run:2'] });
  });

  it('shows errors and asks for two runs', async () => {
    server({ errors: [{ message: 'ids[0]: run:nope not found', extensions: { code: 'NOT_FOUND', field: 'ids[0]' } }], data: null });
    render(<ComparePage route={route('#/compare?ids=run:nope,run:2')} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('run:nope not found');
    cleanup();
    render(<ComparePage route={route('#/compare?ids=run:1')} />);
    expect(screen.getByRole('alert').textContent).toContain('at least two runs');
  });
});
