// Downsampling of metric histories before they reach the chart: a series
// of 100,000 points becomes at most `max` points that keep the first and
// last point and every bucket's minimum and maximum (so spikes and the
// global extremes survive), in step order.

// downsample takes points as [x, y] pairs sorted by x and returns a new
// array of at most max (≥ 4) points; shorter inputs come back unchanged.
export function downsample(points, max = 2000) {
  const n = points.length;
  if (max < 4) max = 4;
  if (n <= max) return points;
  const out = [points[0]];
  const inner = n - 2; // points between the first and the last
  const buckets = Math.floor((max - 2) / 2);
  const size = inner / buckets;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor(b * size);
    const end = 1 + Math.min(inner, Math.floor((b + 1) * size)); // exclusive
    if (start >= end) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      const y = points[i][1];
      if (y < points[lo][1]) lo = i;
      if (y > points[hi][1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else if (lo < hi) out.push(points[lo], points[hi]);
    else out.push(points[hi], points[lo]);
  }
  out.push(points[n - 1]);
  return out;
}

// lowerBound is the first index whose x is ≥ x (points sorted by x).
function lowerBound(points, x) {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// downsampleWindow downsamples only the points with x in [from, to] (plus
// one neighbour each side, so lines run to the edges) to at most max points,
// and keeps the series' first and last point so the axis extent stays put:
// zooming into a chart shows the full detail of the zoomed range.
export function downsampleWindow(points, from, to, max = 2000) {
  const n = points.length;
  if (n <= max) return points;
  const i0 = Math.max(0, lowerBound(points, from) - 1);
  const i1 = Math.min(n, lowerBound(points, to) + 1 + 1);
  const inner = downsample(points.slice(i0, i1), Math.max(4, max - 2));
  const out = [];
  if (i0 > 0) out.push(points[0]);
  out.push(...inner);
  if (i1 < n) out.push(points[n - 1]);
  return out;
}
