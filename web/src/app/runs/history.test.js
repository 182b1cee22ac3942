import { describe, expect, it } from 'vitest';
import { PAGE, buildHistoryQuery, fetchHistories, nextBatch } from './history.js';

// A fake server: run → key → number of points at steps 0..n-1.
function fakeServer(sizes) {
  const calls = [];
  const request = async (query, variables) => {
    calls.push({ query, variables });
    const data = {};
    for (const m of query.matchAll(/(r\d+): run\(id: \$(r\d+)\) \{ ([^}]*\}[^}]*)\}/g)) {
      const runId = variables[m[2]];
      data[m[1]] = {};
      for (const p of m[3].matchAll(/(p\d+): metricHistory\(key: \$(k\d+), afterStep: \$(a\d+)/g)) {
        const n = sizes[runId][variables[p[2]]];
        const after = variables[p[3]];
        const from = after === null ? 0 : after + 1;
        data[m[1]][p[1]] = Array.from({ length: Math.max(0, Math.min(PAGE, n - from)) }, (_, i) => ({
          step: from + i, value: (from + i) / n,
        }));
      }
    }
    return data;
  };
  return { request, calls };
}

describe('metric histories', () => {
  it('pages every (run, key) pair by afterStep, several pairs per request', async () => {
    const { request, calls } = fakeServer({ 'run:a': { auc: 2500, loss: 10 }, 'run:b': { auc: 0, loss: 1000 } });
    const progress = [];
    const s = await fetchHistories(['run:a', 'run:b'], ['auc', 'loss'], { request, onProgress: () => progress.push(1) });
    expect(s.auc[0]).toHaveLength(2500);
    expect(s.auc[0].at(-1)).toEqual([2499, 2499 / 2500]);
    expect(s.auc[1]).toHaveLength(0);
    expect(s.loss[0]).toHaveLength(10);
    expect(s.loss[1]).toHaveLength(1000);
    // 1st request: all 4 pairs; 2nd: run:a auc + run:b loss (a full page); 3rd: run:a auc.
    expect(calls).toHaveLength(3);
    expect(progress).toHaveLength(3);
    expect(calls[0].query).toMatch(/^query MetricHistories\(/);
  });
  it('stops at maxPoints', async () => {
    const { request, calls } = fakeServer({ 'run:a': { m: 100_000 } });
    const s = await fetchHistories(['run:a'], ['m'], { request, maxPoints: 3000 });
    expect(s.m[0]).toHaveLength(3000);
    expect(calls).toHaveLength(3);
  });
  it('keeps a request within the API limits (20 root fields, 30 aliases, complexity)', () => {
    const pending = [];
    for (let r = 0; r < 30; r++) for (let k = 0; k < 40; k++) pending.push({ runId: `run:${r}`, key: `m${k}` });
    const batch = nextBatch(pending);
    expect(batch.length).toBeLessThanOrEqual(60);
    const { query } = buildHistoryQuery(batch);
    expect((query.match(/: run\(/g) || []).length).toBeLessThanOrEqual(20);
    const perRun = new Map();
    for (const p of batch) perRun.set(p.runId, (perRun.get(p.runId) || 0) + 1);
    expect(Math.max(...perRun.values())).toBeLessThanOrEqual(30);
  });
  it('passes user text only as variables', () => {
    const { query, variables } = buildHistoryQuery([{ runId: 'run:x"){}', key: 'a") { id } #', afterStep: null }]);
    expect(query).not.toContain('run:x');
    expect(query).not.toContain('#');
    expect(variables).toMatchObject({ r0: 'run:x"){}', k0: 'a") { id } #', a0: null });
  });
});
