import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from '../router.js';
import { ModelPage } from '../pages/ModelPage.jsx';
import { RegistryPage } from '../pages/RegistryPage.jsx';

const xss = '<img src=x onerror=alert(1)>';
const version = (n, stage, extra = {}) => ({
  id: `modelversion:churn/${n}`,
  version: n,
  label: `churn@v${n}`,
  stage,
  aliases: [],
  createdAt: '2026-01-01T00:00:00Z',
  framework: 'xgboost',
  runId: `run:${n}`,
  run: { id: `run:${n}`, label: `run-${n}`, status: 'FINISHED' },
  transitions: [],
  deployments: [],
  ...extra,
});

const model = {
  id: 'model:churn',
  name: 'churn',
  description: xss,
  updatedAt: '2026-01-01T00:00:00Z',
  autoRollback: false,
  aliases: [{ alias: 'champion', version: 1 }],
  versions: {
    nodes: [
      version(2, 'STAGING', {
        transitions: [{ from: 'NONE', to: 'STAGING', actor: xss, reason: xss, at: '2026-01-01T00:00:01Z' }],
      }),
      version(1, 'PRODUCTION', {
        aliases: ['champion'],
        deployments: [
          { id: 'deployment:churn/1/prod', environment: 'prod', status: 'SUCCEEDED', decommissionRequested: false, endpoint: 'javascript:alert(1)', message: '', updatedAt: '2026-01-01T00:00:00Z' },
        ],
      }),
    ],
    pageInfo: { hasNextPage: false },
  },
};

const realFetch = globalThis.fetch;
function serve(answer) {
  globalThis.fetch = vi.fn(async (_url, init) => {
    const { query, variables } = JSON.parse(init.body);
    return { ok: true, status: 200, json: async () => answer(query, variables) };
  });
}

afterEach(() => {
  cleanup();
  globalThis.fetch = realFetch;
});

describe('the model page', () => {
  it('shows versions with stage badges, deployments and the audit trail, user text as text', async () => {
    serve((q) => (q.includes('query Model(') ? { data: { model } } : { data: { modelVersion: null } }));
    render(<ModelPage route={parse('#/model/churn')} />);
    const v2 = await screen.findByRole('link', { name: 'v2' });
    const row = v2.closest('tr');
    expect(within(row).getByText('STAGING')).toBeTruthy();
    expect(within(row).getByRole('button', { name: 'Staging v2' }).disabled).toBe(true);
    expect(screen.getAllByText(xss).length).toBeGreaterThanOrEqual(3); // description, actor, reason
    expect(document.querySelector('img')).toBeNull();
    expect(document.querySelector('a[href^="javascript:"]')).toBeNull();
    expect(screen.getByRole('link', { name: 'Open in GraphiQL' }).getAttribute('href')).toMatch(/^\/graphiql\?query=/);
  });

  it('opens the confirmation for a one-click stage change', async () => {
    serve(() => ({ data: { model } }));
    render(<ModelPage route={parse('#/model/churn')} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Production v2' }));
    const dialog = screen.getByRole('dialog', { name: 'Move churn v2 to Production' });
    expect(dialog.textContent).toMatch(/v1: PRODUCTION → ARCHIVED/);
  });

  it('renders the diff of two versions from a deep link', async () => {
    serve((q) =>
      q.includes('DiffModelVersions')
        ? {
            data: {
              diffModelVersions: {
                fromRun: { id: 'run:1', label: 'run-1' },
                toRun: { id: 'run:2', label: 'run-2' },
                data: [{ kind: 'CHANGED', before: { id: 'datasetversion:c/1', label: 'c@v1' }, after: { id: 'datasetversion:c/2', label: 'c@v2' } }],
                features: [],
                code: [],
                environment: [{ name: 'xgboost', kind: 'CHANGED', before: '2.0.3', after: '2.1.0' }],
                params: [{ key: 'max_depth', kind: 'CHANGED', before: '6', after: '8' }],
                metrics: [{ key: 'auc', before: 0.87, after: 0.91, delta: 0.04 }],
              },
            },
          }
        : { data: { model } },
    );
    render(<ModelPage route={parse('#/model/churn?diff=1,2')} />);
    await screen.findByRole('heading', { name: 'What changed from v1 to v2' });
    expect(await screen.findByText('max_depth')).toBeTruthy();
    expect(screen.getByText('+0.04')).toBeTruthy();
  });

  it('says when the model does not exist, and shows errors', async () => {
    serve(() => ({ data: { model: null } }));
    render(<ModelPage route={parse('#/model/nope')} />);
    expect((await screen.findByRole('alert')).textContent).toContain('No model named “nope”');
    cleanup();
    serve(() => ({ errors: [{ message: 'boom', extensions: { code: 'INTERNAL' } }] }));
    render(<ModelPage route={parse('#/model/churn')} />);
    expect((await screen.findByRole('alert')).textContent).toContain('INTERNAL: boom');
  });
});

describe('the registry page', () => {
  it('lists models with latest and Production versions and aliases', async () => {
    serve(() => ({
      data: {
        models: {
          nodes: [
            {
              id: 'model:churn',
              name: 'churn',
              description: '',
              updatedAt: '2026-01-01T00:00:00Z',
              latestVersions: [{ version: 1, stage: 'PRODUCTION' }, { version: 2, stage: 'STAGING' }],
              aliases: [{ alias: 'champion', version: 1 }],
              versions: { nodes: [{ version: 2, stage: 'STAGING', createdAt: '2026-01-01T00:00:00Z' }] },
            },
          ],
          pageInfo: { hasNextPage: false },
        },
      },
    }));
    render(<RegistryPage />);
    expect((await screen.findByRole('link', { name: 'churn' })).getAttribute('href')).toBe('#/model/churn');
    expect(screen.getByRole('link', { name: 'v1' }).getAttribute('href')).toBe('#/model/churn?version=1');
    expect(screen.getByText('champion → v1')).toBeTruthy();
  });
});
