// LineagePage and ImpactPage with a mocked API (the canvas is stubbed:
// happy-dom has no 2D canvas; the real one is covered by the e2e run).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';

vi.mock('../api.js', async () => {
  const real = await vi.importActual('../api.js');
  return { ...real, gql: vi.fn() };
});
vi.mock('./GraphView.jsx', () => ({
  GraphView: ({ graph, ariaLabel }) => (
    <div role="img" aria-label={ariaLabel} data-nodes={Object.keys(graph.nodes).length} />
  ),
}));
const api = await import('../api.js');
const { LineagePage } = await import('../pages/LineagePage.jsx');
const { ImpactPage } = await import('../pages/ImpactPage.jsx');
const { parse } = await import('../router.js');

// useQuery calls the real gql, which calls fetch; route fetch through the mock.
globalThis.fetch = vi.fn(async (_url, init) => {
  const { query, variables } = JSON.parse(init.body);
  try {
    const data = await api.gql(query, variables);
    return { json: async () => ({ data }) };
  } catch (e) {
    return { json: async () => ({ errors: [{ message: e.message, extensions: { code: e.code } }] }) };
  }
});

const N = (id, kind, label, depth) => ({ depth, node: { id, kind, label } });
const base = {
  lineage: {
    truncated: false,
    nodes: [N('modelversion:m/1', 'MODEL_VERSION', 'm@v1', 0), N('run:r', 'RUN', 'train-run', 1)],
    edges: [{ from: 'modelversion:m/1', to: 'run:r', type: 'GENERATED_BY', role: '' }],
  },
};
const around = {
  lineage: {
    truncated: false,
    nodes: [N('run:r', 'RUN', 'train-run', 0), N('datasetversion:d/1', 'DATASET_VERSION', 'd@v1', 1)],
    edges: [{ from: 'run:r', to: 'datasetversion:d/1', type: 'USED', role: 'train' }],
  },
};

afterEach(cleanup);

function nodeNames() {
  return within(screen.getByRole('table', { name: 'Nodes' }))
    .getAllByRole('button')
    .map((b) => b.textContent);
}

describe('LineagePage', () => {
  it('renders the graph text, details, expand and collapse', async () => {
    api.gql.mockImplementation(async (q, v) => {
      if (q.includes('query Lineage(')) return v.of === 'run:r' ? around : base;
      if (q.includes('query NodeDetails(')) return { node: { id: v.id, kind: 'RUN', label: 'train-run', description: '<b>x</b>', tags: [], params: [{ key: 'lr', value: '0.1' }], metrics: [], runStatus: 'FINISHED' } };
      throw new Error('unexpected ' + q);
    });
    render(<LineagePage route={parse('#/lineage/modelversion:m/1?depth=2&dir=up')} />);
    await screen.findByRole('heading', { name: /Lineage of m@v1/ });
    expect(nodeNames()).toEqual(['m@v1', 'train-run']);
    expect(screen.getByRole('img').getAttribute('aria-label')).toMatch(/2 nodes and 1 edges/);
    expect(api.gql.mock.calls[0][1]).toMatchObject({ of: 'modelversion:m/1', direction: 'UPSTREAM', depth: 2 });

    fireEvent.click(screen.getByRole('button', { name: 'train-run' }));
    const details = screen.getByRole('complementary', { name: 'Node details' });
    await within(details).findByText('lr');
    expect(within(details).getByText('<b>x</b>')).toBeTruthy();

    fireEvent.click(within(details).getByRole('button', { name: 'Expand' }));
    await waitFor(() => expect(nodeNames()).toContain('d@v1'));
    expect(screen.getByText('train')).toBeTruthy(); // edge role in the edge table

    fireEvent.click(within(details).getByRole('button', { name: 'Collapse' }));
    await waitFor(() => expect(nodeNames()).toEqual(['m@v1', 'train-run']));
  });

  it('shows errors with their code', async () => {
    api.gql.mockImplementation(async () => {
      throw Object.assign(new Error('of: no such node'), { code: 'NOT_FOUND' });
    });
    render(<LineagePage route={parse('#/lineage/dataset:nope')} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/NOT_FOUND/);
  });
});

describe('ImpactPage', () => {
  it('groups model versions by stage and lists deployments', async () => {
    api.gql.mockImplementation(async () => ({
      impact: {
        of: { id: 'datasetversion:d/1', kind: 'DATASET_VERSION', label: 'd@v1' },
        total: 5,
        truncated: false,
        runs: [{ id: 'run:r', label: 'train-run' }],
        data: [],
        modelVersions: [
          { stage: 'PRODUCTION', versions: [{ id: 'modelversion:m/1', label: 'm@v1', modelName: 'm', version: 1, stage: 'PRODUCTION', aliases: ['champion'] }] },
          { stage: 'STAGING', versions: [] },
          { stage: 'ARCHIVED', versions: [{ id: 'modelversion:m/2', label: 'm@v2', modelName: 'm', version: 2, stage: 'ARCHIVED', aliases: [] }] },
        ],
        deployments: [{ id: 'deployment:m/1/prod', label: 'm@v1 in prod', environment: 'prod', status: 'SUCCEEDED', endpoint: '', modelVersion: { id: 'modelversion:m/1', label: 'm@v1', stage: 'PRODUCTION' } }],
      },
    }));
    render(<ImpactPage route={parse('#/impact/datasetversion:d/1')} />);
    await screen.findByRole('heading', { name: /Impact of d@v1/ });
    const groups = screen.getAllByRole('region');
    expect(groups.map((g) => g.getAttribute('aria-labelledby'))).toEqual(['stage-PRODUCTION', 'stage-ARCHIVED']);
    expect(within(groups[0]).getByRole('link', { name: 'Lineage of m@v1' }).getAttribute('href')).toBe('#/lineage/modelversion:m/1');
    expect(screen.getByRole('list', { name: 'Counts' }).textContent).toMatch(/2 model versions/);
    expect(screen.getByRole('link', { name: 'm@v1 in prod' })).toBeTruthy();
  });
});
