import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { RunsPage } from '../pages/RunsPage.jsx';
import { fakeFetch, route } from './testing.js';

const run = (id, name, auc, params) => ({
  id, name, experimentName: 'churn', status: 'FINISHED', startedAt: '2024-05-01T12:00:00Z',
  paramMap: params, metricMap: { auc: { last: auc, lastStep: 9, min: 0.5, max: auc, count: 10 } },
});
const RUNS = [run('run:1', 'xgb', 0.91, { lr: '0.1' }), run('run:2', '<img src=x onerror=alert(1)>', 0.87, { lr: '0.05', depth: '6' })];

function server({ pages = [RUNS] } = {}) {
  return fakeFetch((query, v) => {
    if (query.includes('experiments')) return { data: { experiments: { nodes: [{ id: 'experiment:churn', name: 'churn' }] } } };
    if (v.filter && v.filter.endsWith('>')) {
      return { errors: [{ message: "filter: at column 14: expected a value after '>' but found end of input", extensions: { code: 'BAD_USER_INPUT', field: 'filter' } }], data: null };
    }
    const i = v.after ? Number(v.after) : 0;
    return { data: { runs: { nodes: pages[i], pageInfo: { hasNextPage: i + 1 < pages.length, endCursor: String(i + 1) } } } };
  });
}

afterEach(() => {
  cleanup();
  window.location.hash = '';
});

describe('RunsPage', () => {
  it('lists runs with param and metric columns, user text as text', async () => {
    server();
    const { container } = render(<RunsPage route={route('#/runs?experiment=churn')} />);
    await screen.findByText('xgb');
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeTruthy();
    expect(container.querySelector('img')).toBeNull();
    for (const col of ['lr', 'depth', 'auc']) expect(screen.getByRole('columnheader', { name: col })).toBeTruthy();
    expect(screen.getByText('0.91')).toBeTruthy();
  });

  it("shows the server's BAD_USER_INPUT message next to the filter input", async () => {
    const calls = server();
    render(<RunsPage route={route('#/runs?filter=metrics.auc%20%3E')} />);
    const alert = await screen.findByRole('alert');
    expect(alert.id).toBe('run-filter-error');
    expect(alert.textContent).toContain("expected a value after '>'");
    expect(alert.textContent).toContain('filter');
    const input = screen.getByLabelText('Filter');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe('run-filter-error');
    expect(input.value).toBe('metrics.auc >');
    expect(calls.find((c) => c.query.includes('runs(')).variables.filter).toBe('metrics.auc >');
  });

  it('submitting the filter and clicking a metric header put them in the hash', async () => {
    server();
    render(<RunsPage route={route('#/runs?experiment=churn')} />);
    await screen.findByText('xgb');
    const input = screen.getByLabelText('Filter');
    fireEvent.change(input, { target: { value: "params.lr = '0.1'" } });
    fireEvent.submit(input.closest('form'));
    expect(decodeURIComponent(window.location.hash)).toContain("filter=params.lr+=+'0.1'");
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'auc' })).getByRole('button'));
    expect(decodeURIComponent(window.location.hash)).toContain('order=metrics.auc+DESC');
  });

  it('passes orderBy to the server and marks the sorted column', async () => {
    const calls = server();
    render(<RunsPage route={route('#/runs?order=metrics.auc%20DESC')} />);
    await screen.findByText('xgb');
    expect(calls.find((c) => c.query.includes('runs(')).variables.orderBy).toEqual(['metrics.auc DESC']);
    expect(screen.getByRole('columnheader', { name: 'auc' }).getAttribute('aria-sort')).toBe('descending');
  });

  it('loads more with endCursor', async () => {
    const calls = server({ pages: [[RUNS[0]], [RUNS[1]]] });
    render(<RunsPage route={route('#/runs')} />);
    await screen.findByText('xgb');
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('<img src=x onerror=alert(1)>');
    expect(calls.filter((c) => c.query.includes('runs(')).at(-1).variables.after).toBe('1');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('selects runs with checkboxes and compares them', async () => {
    server();
    render(<RunsPage route={route('#/runs')} />);
    await screen.findByText('xgb');
    const compare = screen.getByRole('button', { name: /^Compare/ });
    expect(compare.disabled).toBe(true);
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select run xgb' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select run <img src=x onerror=alert(1)>' }));
    expect(compare.disabled).toBe(false);
    fireEvent.click(compare);
    expect(window.location.hash).toBe('#/compare?ids=run%3A1%2Crun%3A2');
  });
});
