// The text alternative of the lineage graph, and its legend.
import { useMemo, useState } from 'react';
import { KIND_STYLE, edgeLabel, kindLabel } from './graph.js';
import { shapeSVG } from './svg.js';

export function Swatch({ kind }) {
  const s = KIND_STYLE[kind] || { shape: 'ellipse', color: '#9ca3af' };
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" className="swatch">
      <SwatchShape s={s} />
    </svg>
  );
}

// SwatchShape draws the shape with React elements (no HTML strings).
function SwatchShape({ s }) {
  const common = { fill: s.color, stroke: '#334155', strokeWidth: 1 };
  if (s.shape === 'ellipse') return <ellipse cx="8" cy="8" rx="7" ry="7" {...common} />;
  const m = /points="([^"]+)"/.exec(shapeSVG(s.shape, 8, 8, 14, 14));
  if (m) return <polygon points={m[1]} {...common} />;
  const rx = s.shape === 'rectangle' ? 0 : s.shape === 'barrel' ? 3.5 : 2.5;
  return <rect x="1" y="1" width="14" height="14" rx={rx} {...common} />;
}

export function Legend({ kinds }) {
  const shown = kinds && kinds.length ? Object.keys(KIND_STYLE).filter((k) => kinds.includes(k)) : Object.keys(KIND_STYLE);
  return (
    <ul className="legend" aria-label="Legend">
      {shown.map((k) => (
        <li key={k}>
          <Swatch kind={k} />
          {kindLabel(k)}
        </li>
      ))}
    </ul>
  );
}

// GraphText lists nodes (each a button that selects it) and edges.
export function GraphText({ graph, selected, onSelect, limit = 300 }) {
  const [showAll, setShowAll] = useState(false);
  const nodes = useMemo(
    () =>
      Object.values(graph.nodes).sort(
        (a, b) => (a.depth ?? 99) - (b.depth ?? 99) || a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label),
      ),
    [graph],
  );
  const edges = useMemo(() => Object.values(graph.edges), [graph]);
  const visible = showAll ? nodes : nodes.slice(0, limit);
  const visibleEdges = showAll ? edges : edges.slice(0, limit);
  return (
    <details className="graph-text" open={nodes.length <= 60}>
      <summary>
        Nodes ({nodes.length}) and edges ({edges.length}) as text
      </summary>
      <table className="graph-nodes" aria-label="Nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Kind</th>
            <th scope="col">Hops</th>
          </tr>
        </thead>
        <tbody>
          {visible.map((n) => (
            <tr key={n.id} data-node-id={n.id} className={n.id === selected ? 'selected' : undefined}>
              <td>
                <button type="button" className="linklike" aria-pressed={n.id === selected} onClick={() => onSelect(n.id)}>
                  {n.label}
                </button>
              </td>
              <td>{kindLabel(n.kind)}</td>
              <td>{n.depth ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="graph-edges" aria-label="Edges">
        <thead>
          <tr>
            <th scope="col">From (input)</th>
            <th scope="col">Relation</th>
            <th scope="col">To (dependent)</th>
          </tr>
        </thead>
        <tbody>
          {visibleEdges.map((e) => (
            <tr key={e.key}>
              <td>{graph.nodes[e.to]?.label ?? e.to}</td>
              <td>{edgeLabel(e)}</td>
              <td>{graph.nodes[e.from]?.label ?? e.from}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!showAll && (nodes.length > limit || edges.length > limit) ? (
        <button type="button" onClick={() => setShowAll(true)}>
          Show all {nodes.length} nodes and {edges.length} edges
        </button>
      ) : null}
    </details>
  );
}
