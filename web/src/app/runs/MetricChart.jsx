// One metric's histories overlaid, one line per run, drawn by echarts on a
// canvas. Series are downsampled to ~2,000 points each before setOption,
// and echarts samples again (LTTB) for what is on screen, so 100,000-point
// histories stay responsive.
import { useEffect, useRef } from 'react';
import { LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { downsample, downsampleWindow } from './downsample.js';
import { fmtNum } from './logic.js';

use([LineChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export const MAX_CHART_POINTS = 2000;

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// chartOption builds the echarts option (pure, so it can be tested):
// labels[i] names run i, series[i] is its [[step, value]…].
export function chartOption(metricKey, labels, series, maxPoints = MAX_CHART_POINTS) {
  return {
    animation: false,
    legend: { type: 'scroll', top: 0 },
    grid: { left: 56, right: 24, top: 36, bottom: 56 },
    // The tooltip is HTML: run names are user text, so they are escaped.
    tooltip: {
      trigger: 'axis',
      formatter: (items) => {
        const list = Array.isArray(items) ? items : [items];
        if (!list.length) return '';
        const step = escapeHtml(list[0].value?.[0]);
        const rows = list.map(
          (it) => `${it.marker} ${escapeHtml(it.seriesName)}: <b>${escapeHtml(fmtNum(it.value?.[1]))}</b>`,
        );
        return `step ${step}<br/>${rows.join('<br/>')}`;
      },
    },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28, scale: true },
    yAxis: { type: 'value', name: metricKey, scale: true },
    dataZoom: [
      { type: 'inside', filterMode: 'none' },
      { type: 'slider', height: 16, bottom: 4, filterMode: 'none' },
    ],
    series: labels.map((name, i) => ({
      name,
      type: 'line',
      showSymbol: false,
      sampling: 'lttb',
      progressive: 5000,
      progressiveThreshold: 10000,
      data: downsample(series[i] || [], maxPoints),
    })),
  };
}

// zoomedSeries re-downsamples every series for the x range [from, to], so
// a zoomed chart shows the full detail of what is on screen.
export function zoomedSeries(series, from, to, maxPoints = MAX_CHART_POINTS) {
  return series.map((s) => ({ data: downsampleWindow(s || [], from, to, maxPoints) }));
}

// xExtent is the smallest and largest step over all series.
export function xExtent(series) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    if (!s || !s.length) continue;
    lo = Math.min(lo, s[0][0]);
    hi = Math.max(hi, s[s.length - 1][0]);
  }
  return lo === Infinity ? [0, 0] : [lo, hi];
}

export function MetricChart({ metricKey, labels, series }) {
  const el = useRef(null);
  const chart = useRef(null);
  const data = useRef(series);
  data.current = series;
  useEffect(() => {
    const c = init(el.current, null, { renderer: 'canvas' });
    chart.current = c;
    let pending = 0;
    c.on('datazoom', () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => {
        const z = c.getOption().dataZoom?.[0] || {};
        const [lo, hi] = xExtent(data.current);
        const from = lo + ((hi - lo) * (z.start ?? 0)) / 100;
        const to = lo + ((hi - lo) * (z.end ?? 100)) / 100;
        c.setOption({ series: zoomedSeries(data.current, from, to) }, { lazyUpdate: true });
      });
    });
    let ro;
    if (typeof ResizeObserver !== 'undefined') {
      ro = new ResizeObserver(() => c.resize());
      ro.observe(el.current);
    }
    return () => {
      cancelAnimationFrame(pending);
      ro?.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(chartOption(metricKey, labels, series), { notMerge: true, lazyUpdate: true });
  }, [metricKey, labels, series]);
  const points = series.reduce((n, s) => n + (s ? s.length : 0), 0);
  return (
    <figure className="metric-chart">
      <figcaption>{metricKey}</figcaption>
      <div
        ref={el}
        className="chart"
        role="img"
        aria-label={`History of ${metricKey} for ${labels.length} runs (${points} points)`}
        data-points={points}
      />
    </figure>
  );
}
