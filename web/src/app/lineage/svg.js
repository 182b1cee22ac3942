// SVG of the lineage graph as laid out, built as text (every label escaped),
// and the node shapes shared with the legend.

export function escapeXML(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

// Unit polygons (in -1…1) of the non-rectangular, non-elliptic shapes.
const POLYGONS = {
  diamond: [[0, -1], [1, 0], [0, 1], [-1, 0]],
  hexagon: [[-1, 0], [-0.5, -1], [0.5, -1], [1, 0], [0.5, 1], [-0.5, 1]],
  octagon: [[-0.41, -1], [0.41, -1], [1, -0.41], [1, 0.41], [0.41, 1], [-0.41, 1], [-1, 0.41], [-1, -0.41]],
  'cut-rectangle': [[-0.7, -1], [0.7, -1], [1, -0.7], [1, 0.7], [0.7, 1], [-0.7, 1], [-1, 0.7], [-1, -0.7]],
  rhomboid: [[-0.6, -1], [1, -1], [0.6, 1], [-1, 1]],
  tag: [[-1, -1], [0.4, -1], [1, 0], [0.4, 1], [-1, 1]],
  star: (() => {
    const pts = [];
    for (let i = 0; i < 10; i++) {
      const r = i % 2 === 0 ? 1 : 0.45;
      const a = -Math.PI / 2 + (i * Math.PI) / 5;
      pts.push([+(r * Math.cos(a)).toFixed(3), +(r * Math.sin(a)).toFixed(3)]);
    }
    return pts;
  })(),
};

// shapeSVG draws one node shape centred on (x, y), w × h.
export function shapeSVG(shape, x, y, w, h, attrs) {
  const a = attrs || '';
  if (shape === 'ellipse') return `<ellipse cx="${x}" cy="${y}" rx="${w / 2}" ry="${h / 2}"${a}/>`;
  const poly = POLYGONS[shape];
  if (poly) {
    const pts = poly.map(([px, py]) => `${+(x + (px * w) / 2).toFixed(2)},${+(y + (py * h) / 2).toFixed(2)}`).join(' ');
    return `<polygon points="${pts}"${a}/>`;
  }
  const rx = shape === 'rectangle' ? 0 : shape === 'barrel' ? w / 4 : 5;
  return `<rect x="${x - w / 2}" y="${y - h / 2}" width="${w}" height="${h}" rx="${rx}"${a}/>`;
}

// toSVG renders { nodes: [{x, y, w, h, shape, color, label, root}],
// edges: [{x1, y1, x2, y2, label, highlighted}] } in model coordinates.
export function toSVG({ nodes, edges }, { padding = 40 } = {}) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const n of nodes) {
    minX = Math.min(minX, n.x - n.w / 2 - 80);
    maxX = Math.max(maxX, n.x + n.w / 2 + 80);
    minY = Math.min(minY, n.y - n.h / 2);
    maxY = Math.max(maxY, n.y + n.h / 2 + 18);
  }
  if (!nodes.length) minX = minY = maxX = maxY = 0;
  const vx = minX - padding;
  const vy = minY - padding;
  const vw = maxX - minX + 2 * padding;
  const vh = maxY - minY + 2 * padding;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${vx} ${vy} ${vw} ${vh}" width="${vw}" height="${vh}" font-family="sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>',
    `<rect x="${vx}" y="${vy}" width="${vw}" height="${vh}" fill="#ffffff"/>`,
  );
  for (const e of edges) {
    const color = e.highlighted ? '#dc2626' : '#94a3b8';
    out.push(
      `<line x1="${e.x1}" y1="${e.y1}" x2="${e.x2}" y2="${e.y2}" stroke="${color}" stroke-width="${e.highlighted ? 3 : 1.5}" marker-end="url(#arrow)"/>`,
    );
    if (e.label) {
      out.push(
        `<text x="${(e.x1 + e.x2) / 2}" y="${(e.y1 + e.y2) / 2 - 3}" font-size="8" fill="#475569" text-anchor="middle">${escapeXML(e.label)}</text>`,
      );
    }
  }
  for (const n of nodes) {
    const stroke = n.root ? ' stroke="#111827" stroke-width="3"' : ' stroke="#334155" stroke-width="1"';
    out.push(shapeSVG(n.shape, n.x, n.y, n.w, n.h, ` fill="${escapeXML(n.color)}"${stroke}`));
    out.push(
      `<text x="${n.x}" y="${n.y + n.h / 2 + 12}" font-size="10" fill="#1d2430" text-anchor="middle">${escapeXML(n.label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

// snapshot reads positions from a cytoscape instance for toSVG.
export function snapshot(cy) {
  const nodes = cy.nodes().map((n) => {
    const p = n.position();
    return {
      x: +p.x.toFixed(2),
      y: +p.y.toFixed(2),
      w: n.width(),
      h: n.height(),
      shape: n.data('shape'),
      color: n.data('color'),
      label: n.data('label'),
      root: n.hasClass('root'),
    };
  });
  const edges = cy.edges().map((e) => {
    const s = e.source().position();
    const t = e.target().position();
    return { x1: +s.x.toFixed(2), y1: +s.y.toFixed(2), x2: +t.x.toFixed(2), y2: +t.y.toFixed(2), label: e.data('label'), highlighted: e.hasClass('path') };
  });
  return { nodes, edges };
}
