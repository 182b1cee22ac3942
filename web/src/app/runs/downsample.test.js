import { describe, expect, it } from 'vitest';
import { downsample } from './downsample.js';
import { chartOption } from './MetricChart.jsx';

const series = (n, f) => Array.from({ length: n }, (_, i) => [i, f(i)]);

describe('downsample', () => {
  it('turns 100,000 points into at most N, keeping first, last and the extremes, in order', () => {
    const pts = series(100_000, (i) => Math.sin(i / 500) + (i === 31_337 ? 50 : 0) - (i === 77_777 ? 40 : 0));
    for (const n of [2000, 500, 37]) {
      const out = downsample(pts, n);
      expect(out.length).toBeLessThanOrEqual(n);
      expect(out.length).toBeGreaterThan(n / 2);
      expect(out[0]).toBe(pts[0]);
      expect(out[out.length - 1]).toBe(pts[pts.length - 1]);
      expect(out).toContain(pts[31_337]); // the spike
      expect(out).toContain(pts[77_777]); // the dip
      for (let i = 1; i < out.length; i++) expect(out[i][0]).toBeGreaterThan(out[i - 1][0]);
    }
  });
  it('keeps the extremes of a monotone series and of constant stretches', () => {
    const up = series(10_001, (i) => i);
    const out = downsample(up, 100);
    expect(out.at(0)[1]).toBe(0);
    expect(out.at(-1)[1]).toBe(10_000);
    const flat = downsample(series(5000, () => 1), 50);
    expect(flat.length).toBeLessThanOrEqual(50);
  });
  it('returns short series unchanged', () => {
    const pts = series(10, (i) => i);
    expect(downsample(pts, 2000)).toBe(pts);
    expect(downsample([], 10)).toEqual([]);
  });
  it('is fast enough for a chart: 10 series of 100,000 points well under a second', () => {
    const pts = series(100_000, (i) => Math.random() * i);
    const t = performance.now();
    for (let k = 0; k < 10; k++) downsample(pts, 2000);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('chart option', () => {
  it('downsamples every series to ≤ 2,000 points with LTTB sampling on top', () => {
    const opt = chartOption('loss', ['a', 'b'], [series(100_000, (i) => i % 7), series(50, (i) => i)]);
    expect(opt.series).toHaveLength(2);
    expect(opt.series[0].data.length).toBeLessThanOrEqual(2000);
    expect(opt.series[0].sampling).toBe('lttb');
    expect(opt.series[1].data).toHaveLength(50);
    expect(opt.series.map((s) => s.name)).toEqual(['a', 'b']);
  });
  it('escapes run names in the HTML tooltip', () => {
    const opt = chartOption('auc', ['<img src=x onerror=alert(1)>'], [[[1, 0.5]]]);
    const html = opt.tooltip.formatter([{ marker: '', seriesName: '<img src=x onerror=alert(1)>', value: [1, 0.5] }]);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('zoomed windows', async () => {
  const { downsampleWindow } = await import('./downsample.js');
  it('keeps every point of a small zoomed range and the series ends', () => {
    const pts = series(100_000, (i) => i % 13);
    const out = downsampleWindow(pts, 40_000, 40_500, 2000);
    expect(out[0]).toBe(pts[0]);
    expect(out.at(-1)).toBe(pts.at(-1));
    for (let s = 40_000; s <= 40_500; s++) expect(out).toContain(pts[s]);
    expect(out.length).toBeLessThanOrEqual(2000 + 2);
  });
  it('downsamples a wide range to at most max points', () => {
    const pts = series(100_000, (i) => Math.sin(i));
    const out = downsampleWindow(pts, 0, 99_999, 2000);
    expect(out.length).toBeLessThanOrEqual(2000);
    expect(out[0]).toBe(pts[0]);
    expect(out.at(-1)).toBe(pts.at(-1));
  });
});
