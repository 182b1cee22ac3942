import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../api.js', async (orig) => ({ ...(await orig()), gql: vi.fn() }));
const { gql, GraphQLError } = await import('../api.js');
const { StageDialog } = await import('./StageDialog.jsx');

const versions = [
  { version: 3, stage: 'STAGING', transitions: [] },
  { version: 2, stage: 'PRODUCTION', transitions: [{ from: 'STAGING', to: 'PRODUCTION', at: '2026-01-01T00:00:01Z', reason: '' }] },
  { version: 1, stage: 'ARCHIVED', transitions: [] },
];

function open(request = { kind: 'transition', version: 3, to: 'PRODUCTION' }, extra = {}) {
  const props = { onCancel: vi.fn(), onDone: vi.fn(), onReload: vi.fn(), ...extra };
  const opener = document.createElement('button');
  opener.textContent = 'opener';
  document.body.appendChild(opener);
  opener.focus();
  const r = render(<StageDialog model="churn" versions={versions} request={request} {...props} />);
  return { ...props, ...r, opener };
}

beforeEach(() => gql.mockReset());
afterEach(() => {
  cleanup();
  document.body.innerHTML = '';
});

describe('the stage change dialog', () => {
  it('is a labelled modal dialog that shows what will be archived and focuses the reason', () => {
    open();
    const dialog = screen.getByRole('dialog', { name: 'Move churn v3 to Production' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(dialog.textContent).toContain('v2');
    expect(dialog.textContent).toMatch(/archived: it is the current Production version/);
    expect(document.activeElement).toBe(screen.getByLabelText(/Reason/));
  });

  it('requires a reason before calling the server', () => {
    open();
    fireEvent.click(screen.getByRole('button', { name: 'Move to Production' }));
    expect(screen.getByText('A reason is required.')).toBeTruthy();
    expect(gql).not.toHaveBeenCalled();
  });

  it('Escape cancels and gives focus back to the opener', () => {
    const { onCancel, unmount, opener } = open();
    fireEvent.keyDown(screen.getByRole('dialog'), { key: 'Escape' });
    expect(onCancel).toHaveBeenCalled();
    unmount();
    expect(document.activeElement).toBe(opener);
  });

  it('traps Tab inside the dialog', () => {
    open();
    const confirm = screen.getByRole('button', { name: 'Move to Production' });
    confirm.focus();
    fireEvent.keyDown(confirm, { key: 'Tab' });
    expect(document.activeElement).toBe(screen.getByLabelText(/Reason/));
    fireEvent.keyDown(document.activeElement, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(confirm);
  });

  it('confirm calls transitionModelVersionStage with expectedStage = the stage the user saw', async () => {
    gql.mockResolvedValueOnce({ transitionModelVersionStage: { id: 'modelversion:churn/3', version: 3, stage: 'PRODUCTION' } });
    const { onDone } = open();
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: '  better AUC  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Move to Production' }));
    await waitFor(() => expect(onDone).toHaveBeenCalledWith({ id: 'modelversion:churn/3', version: 3, stage: 'PRODUCTION' }));
    const [query, vars] = gql.mock.calls[0];
    expect(query).toMatch(/transitionModelVersionStage/);
    expect(vars).toEqual({
      input: { model: 'churn', version: 3, stage: 'PRODUCTION', expectedStage: 'STAGING', reason: 'better AUC' },
    });
  });

  it('explains a CONFLICT with the current stage and offers Reload', async () => {
    gql
      .mockRejectedValueOnce(new GraphQLError('expectedStage: churn v3 is in ARCHIVED, not STAGING; someone else changed it first', 'CONFLICT', 'expectedStage'))
      .mockResolvedValueOnce({ modelVersion: { version: 3, stage: 'ARCHIVED' } });
    const { onReload, onDone } = open();
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: 'go' } });
    fireEvent.click(screen.getByRole('button', { name: 'Move to Production' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain(
      'Someone else changed churn v3 first: it is now in ARCHIVED. Reload to see the current state.',
    );
    expect(onDone).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Reload' }));
    expect(onReload).toHaveBeenCalled();
  });

  it('shows any other error as it is, never swallowing it', async () => {
    gql.mockRejectedValueOnce(new GraphQLError('reason: at most 4096 characters', 'BAD_USER_INPUT', 'reason'));
    open();
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Move to Production' }));
    expect((await screen.findByRole('alert')).textContent).toContain('BAD_USER_INPUT: reason: at most 4096 characters');
  });

  it('renders user text as text', () => {
    open();
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: '<img src=x onerror=alert(1)>' } });
    expect(document.querySelector('img')).toBeNull();
  });
});

describe('the rollback dialog', () => {
  it('checks the Production version is still the one shown, then calls rollbackModel', async () => {
    gql
      .mockResolvedValueOnce({ model: { version: { version: 2 } } })
      .mockResolvedValueOnce({ rollbackModel: { id: 'modelversion:churn/1', version: 1, stage: 'PRODUCTION' } });
    const { onDone } = open({ kind: 'rollback' });
    expect(screen.getByRole('dialog', { name: 'Roll back churn' }).textContent).toMatch(/v2 \(now PRODUCTION\) will be archived/);
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: 'regression' } });
    fireEvent.click(screen.getByRole('button', { name: 'Roll back' }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(gql.mock.calls[1][1]).toEqual({ input: { model: 'churn', reason: 'regression' } });
  });

  it('explains a race instead of rolling back a version the user did not see', async () => {
    gql.mockResolvedValueOnce({ model: { version: { version: 3 } } });
    const { onDone } = open({ kind: 'rollback' });
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: 'regression' } });
    fireEvent.click(screen.getByRole('button', { name: 'Roll back' }));
    expect((await screen.findByRole('alert')).textContent).toContain(
      'Someone else changed churn first: v3 is now in PRODUCTION, not v2.',
    );
    expect(gql).toHaveBeenCalledTimes(1);
    expect(onDone).not.toHaveBeenCalled();
  });
});
