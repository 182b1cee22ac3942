import { describe, expect, it } from 'vitest';
import {
  ariaSort, bestIndex, columnKeys, fmtNum, nextOrder, paramRows, parseIds, parseOrder, runLabels, valuesDiffer, visibleRows,
} from './logic.js';

describe('param diffs', () => {
  it('finds disagreeing values, a missing value differing from any present one', () => {
    expect(valuesDiffer(['0.1', '0.1'])).toBe(false);
    expect(valuesDiffer(['0.1', '0.05'])).toBe(true);
    expect(valuesDiffer([null, '8'])).toBe(true);
    expect(valuesDiffer([null, null])).toBe(false);
    expect(valuesDiffer(['x'])).toBe(false);
  });
  it("uses the server's differs flag and falls back to its own check", () => {
    const rows = paramRows([
      { key: 'lr', values: ['0.1', '0.05'], differs: true },
      { key: 'seed', values: ['42', '42'], differs: false },
      { key: 'depth', values: ['6', null] }, // no flag: computed
      { key: 'model', values: ['xgb', 'xgb'] },
    ]);
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ['lr', true], ['seed', false], ['depth', true], ['model', false],
    ]);
  });
  it('"show only differences" keeps only the differing rows, in order', () => {
    const rows = paramRows([
      { key: 'a', values: ['1', '2'] },
      { key: 'b', values: ['1', '1'] },
      { key: 'c', values: ['1', null] },
    ]);
    expect(visibleRows(rows, false).map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(visibleRows(rows, true).map((r) => r.key)).toEqual(['a', 'c']);
  });
});

describe('best values', () => {
  it("takes the server's bestIndex", () => {
    expect(bestIndex({ key: 'auc', lastValues: [0.9, 0.8], bestIndex: 1 })).toBe(1);
  });
  it('picks the highest, or the lowest for loss-like metrics, skipping missing runs', () => {
    expect(bestIndex({ key: 'auc', lastValues: [0.87, null, 0.91], higherIsBetter: true })).toBe(2);
    expect(bestIndex({ key: 'logloss', lastValues: [0.19, 0.13, null], higherIsBetter: false })).toBe(1);
    expect(bestIndex({ key: 'val_loss', lastValues: [0.3, 0.2] })).toBe(1); // direction from the name
    expect(bestIndex({ key: 'accuracy', values: [{ last: 0.7 }, { last: 0.8 }] })).toBe(1);
    expect(bestIndex({ key: 'auc', lastValues: [null, null] })).toBe(null);
  });
});

describe('sorting', () => {
  it('cycles a metric column DESC → ASC → none and a param column ASC → DESC → none', () => {
    expect(nextOrder('', 'metrics.auc')).toBe('metrics.auc DESC');
    expect(nextOrder('metrics.auc DESC', 'metrics.auc')).toBe('metrics.auc');
    expect(nextOrder('metrics.auc', 'metrics.auc')).toBe('');
    expect(nextOrder('', 'params.lr')).toBe('params.lr');
    expect(nextOrder('params.lr', 'params.lr')).toBe('params.lr DESC');
    expect(nextOrder('params.lr DESC', 'params.lr')).toBe('');
    expect(nextOrder('metrics.auc DESC', 'params.lr')).toBe('params.lr');
  });
  it('reports aria-sort', () => {
    expect(parseOrder('metrics.auc desc')).toEqual({ key: 'metrics.auc', dir: 'DESC' });
    expect(ariaSort('metrics.auc DESC', 'metrics.auc')).toBe('descending');
    expect(ariaSort('params.lr', 'params.lr')).toBe('ascending');
    expect(ariaSort('params.lr', 'metrics.auc')).toBe('none');
  });
});

describe('table helpers', () => {
  it('collects the columns from paramMap and metricMap', () => {
    const cols = columnKeys([
      { paramMap: { lr: '0.1', depth: '6' }, metricMap: { auc: { last: 1 } } },
      { paramMap: { leaves: '64' }, metricMap: { logloss: { last: 1 } } },
    ]);
    expect(cols).toEqual({ params: ['depth', 'leaves', 'lr'], metrics: ['auc', 'logloss'] });
  });
  it('labels runs uniquely', () => {
    expect(runLabels([{ id: 'run:aaaaaa111111', name: 'x' }, { id: 'run:bbbbbb222222', name: 'x' }, { id: 'run:c', name: '' }]))
      .toEqual(['x (111111)', 'x (222222)', 'run:c']);
  });
  it('reads compare ids without blanks or repeats', () => {
    expect(parseIds('run:a, run:b,,run:a')).toEqual(['run:a', 'run:b']);
  });
  it('formats numbers', () => {
    expect(fmtNum(0.90721234567)).toBe('0.907212');
    expect(fmtNum(50)).toBe('50');
    expect(fmtNum(null)).toBe('—');
    expect(fmtNum(0.00001234)).toBe('1.234e-5');
  });
});
