import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';

vi.mock('../api.js', () => ({ gql: vi.fn() }));
const { gql } = await import('../api.js');
const { SearchBox } = await import('./SearchBox.jsx');

const results = [
  { id: 'model:churn', kind: 'MODEL', label: 'churn' },
  { id: 'modelversion:churn/2', kind: 'MODEL_VERSION', label: 'churn@v2' },
  { id: 'run:x', kind: 'RUN', label: '<img src=x onerror=alert(1)>' },
];

beforeEach(() => {
  vi.useFakeTimers();
  gql.mockReset();
  gql.mockResolvedValue({ search: results });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

async function typeAndSettle(input, texts) {
  for (const t of texts) {
    fireEvent.change(input, { target: { value: t } });
    await act(async () => vi.advanceTimersByTime(50));
  }
  await act(async () => vi.advanceTimersByTime(300));
}

describe('SearchBox', () => {
  it('debounces: one query for fast typing, with the last text', async () => {
    render(<SearchBox label="Search" onChoose={() => {}} />);
    const input = screen.getByRole('combobox', { name: 'Search' });
    await typeAndSettle(input, ['c', 'ch', 'chu', 'churn']);
    expect(gql).toHaveBeenCalledTimes(1);
    expect(gql.mock.calls[0][1]).toMatchObject({ query: 'churn' });
    expect(screen.getAllByRole('option')).toHaveLength(3);
    expect(input.getAttribute('aria-expanded')).toBe('true');
  });

  it('passes kinds and does not query for blank text', async () => {
    render(<SearchBox label="Search" kinds={['DATASET_VERSION']} onChoose={() => {}} />);
    const input = screen.getByRole('combobox', { name: 'Search' });
    await typeAndSettle(input, ['   ']);
    expect(gql).not.toHaveBeenCalled();
    await typeAndSettle(input, ['cust']);
    expect(gql.mock.calls[0][1]).toMatchObject({ query: 'cust', kinds: ['DATASET_VERSION'] });
  });

  it('arrows move the active option, Enter chooses it', async () => {
    const onChoose = vi.fn();
    render(<SearchBox label="Search" onChoose={onChoose} />);
    const input = screen.getByRole('combobox', { name: 'Search' });
    await typeAndSettle(input, ['churn']);
    const opts = screen.getAllByRole('option');
    expect(input.getAttribute('aria-activedescendant')).toBeNull();
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    expect(input.getAttribute('aria-activedescendant')).toBe(opts[0].id);
    expect(opts[0].getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    fireEvent.keyDown(input, { key: 'ArrowDown' }); // wraps to the first
    fireEvent.keyDown(input, { key: 'ArrowUp' }); // back to the last
    expect(input.getAttribute('aria-activedescendant')).toBe(screen.getAllByRole('option')[2].id);
    fireEvent.keyDown(input, { key: 'ArrowUp' });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onChoose).toHaveBeenCalledWith(results[1]);
    expect(input.getAttribute('aria-expanded')).toBe('false');
  });

  it('Escape closes the list; a mouse choice works too', async () => {
    const onChoose = vi.fn();
    render(<SearchBox label="Search" onChoose={onChoose} />);
    const input = screen.getByRole('combobox', { name: 'Search' });
    await typeAndSettle(input, ['churn']);
    fireEvent.keyDown(input, { key: 'Escape' });
    expect(input.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryAllByRole('option')).toHaveLength(0);
    fireEvent.keyDown(input, { key: 'ArrowDown' }); // reopens
    const opt = screen.getAllByRole('option')[0];
    fireEvent.mouseDown(opt);
    expect(onChoose).toHaveBeenCalledWith(results[0]);
  });

  it('renders labels as text, never as markup', async () => {
    const { container } = render(<SearchBox label="Search" onChoose={() => {}} />);
    await typeAndSettle(screen.getByRole('combobox', { name: 'Search' }), ['img']);
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeTruthy();
    expect(container.querySelector('img')).toBeNull();
  });

  it('shows a server error in the list', async () => {
    gql.mockRejectedValue(Object.assign(new Error('query: too long'), { code: 'BAD_USER_INPUT' }));
    render(<SearchBox label="Search" onChoose={() => {}} />);
    await typeAndSettle(screen.getByRole('combobox', { name: 'Search' }), ['x']);
    expect(screen.getByText(/BAD_USER_INPUT: query: too long/)).toBeTruthy();
  });
});
