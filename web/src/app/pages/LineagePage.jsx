// Lineage explorer: #/lineage/<id>?depth=N&dir=up|down|both
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { gql, useQuery } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox, GraphiQLLink, Loading } from '../ui.jsx';
import { GraphView } from '../lineage/GraphView.jsx';
import { GraphText, Legend } from '../lineage/GraphText.jsx';
import { NodeDetails } from '../lineage/NodeDetails.jsx';
import { SearchBox } from '../lineage/SearchBox.jsx';
import '../lineage/lineage.css';
import { DIRECTIONS, collapse, edgeLabel, fromLineage, kindLabel, mergeLineage, parseDepth, parseDir, pathHighlight } from '../lineage/graph.js';
import { LINEAGE_QUERY, PATH_QUERY } from '../lineage/queries.js';
import { snapshot, toSVG } from '../lineage/svg.js';

// The most nodes one lineage request asks for (the API allows up to 10,000).
export const LINEAGE_LIMIT = 2000;
const EXPAND_LIMIT = 500;

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

function fileName(id, ext) {
  return `lineage-${id.replace(/[^A-Za-z0-9._-]+/g, '_')}.${ext}`;
}

export function LineagePage({ route }) {
  const id = route.id;
  if (!id) {
    return (
      <section className="lineage-start">
        <h1>Lineage explorer</h1>
        <p>Find a dataset, run, model version or any other node to see what it came from and what depends on it.</p>
        <SearchBox label="Open the lineage of" onChoose={(n) => navigate('lineage', n.id)} autoFocus />
      </section>
    );
  }
  return <Explorer key={id} id={id} route={route} />;
}

function Explorer({ id, route }) {
  const depth = parseDepth(route.query.get('depth'));
  const dir = parseDir(route.query.get('dir'));
  const variables = useMemo(() => ({ of: id, direction: DIRECTIONS[dir], depth, limit: LINEAGE_LIMIT }), [id, dir, depth]);
  const { data, error, loading, reload } = useQuery(LINEAGE_QUERY, variables);

  const [graph, setGraph] = useState(null);
  const [selected, setSelected] = useState(id);
  const [expanded, setExpanded] = useState(() => new Set());
  const [busy, setBusy] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [pathFrom, setPathFrom] = useState(null); // picking the other end when set
  const [path, setPath] = useState(null); // { from, to, edges, nodes:Set, edges:Set }
  const [note, setNote] = useState('');
  const view = useRef(null);
  const graphRef = useRef(null);
  graphRef.current = graph;

  useEffect(() => {
    if (!data) return;
    const g = fromLineage(id, data.lineage);
    setGraph(g);
    setSelected((s) => (s && g.nodes[s] ? s : id));
    setExpanded(new Set());
    setPath(null);
    setPathFrom(null);
  }, [data, id]);

  const setQuery = (q) => navigate('lineage', id, { depth, dir, ...q });

  const expand = useCallback(async (nodeId) => {
    setBusy(`Expanding ${nodeId}`);
    setActionError(null);
    try {
      const res = await gql(LINEAGE_QUERY, { of: nodeId, direction: 'BOTH', depth: 1, limit: EXPAND_LIMIT });
      const g = graphRef.current;
      const next = mergeLineage(g, res.lineage);
      const added = Object.keys(next.nodes).length - Object.keys(g.nodes).length;
      setGraph(next);
      setExpanded((s) => new Set(s).add(nodeId));
      setNote(`Expanded: ${added} node${added === 1 ? '' : 's'} added.`);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  }, []);

  const findPath = useCallback(async (from, to) => {
    setPathFrom(null);
    setBusy('Finding the path');
    setActionError(null);
    try {
      const res = await gql(PATH_QUERY, { from, to });
      const edges = res.lineagePath || [];
      if (!edges.length) {
        setPath({ from, to, list: [], ...pathHighlight([]) });
        setNote('No lineage path between these nodes.');
      } else {
        setGraph((g) => mergeLineage(g, { edges }));
        setPath({ from, to, list: edges, ...pathHighlight(edges) });
        setNote(`Path of ${edges.length} edge${edges.length === 1 ? '' : 's'} highlighted.`);
      }
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  }, []);

  const select = useCallback(
    (nodeId) => {
      if (nodeId && pathFrom && nodeId !== pathFrom) {
        setSelected(nodeId);
        findPath(pathFrom, nodeId);
        return;
      }
      setSelected(nodeId);
    },
    [pathFrom, findPath],
  );

  function doCollapse(nodeId) {
    const next = collapse(graph, nodeId);
    const removed = Object.keys(graph.nodes).length - Object.keys(next.nodes).length;
    setGraph(next);
    setNote(`Collapsed: ${removed} node${removed === 1 ? '' : 's'} removed.`);
    setExpanded((s) => {
      const n = new Set(s);
      n.delete(nodeId);
      return n;
    });
  }

  function exportPNG() {
    const cy = view.current?.cy();
    if (!cy) return;
    const blob = cy.png({ output: 'blob', full: true, bg: '#ffffff', scale: 2, maxWidth: 8000, maxHeight: 8000 });
    download(blob, fileName(id, 'png'));
  }

  function exportSVG() {
    const cy = view.current?.cy();
    if (!cy) return;
    download(new Blob([toSVG(snapshot(cy))], { type: 'image/svg+xml' }), fileName(id, 'svg'));
  }

  const sel = selected && graph?.nodes[selected];
  const root = graph?.nodes[id];
  const nNodes = graph ? Object.keys(graph.nodes).length : 0;
  const nEdges = graph ? Object.keys(graph.edges).length : 0;
  const kinds = useMemo(() => (graph ? [...new Set(Object.values(graph.nodes).map((n) => n.kind))] : []), [graph]);

  return (
    <section className="lineage">
      <header className="lineage-head">
        <h1>
          Lineage of <span className="node-title">{root?.label ?? id}</span>
        </h1>
        <div className="lineage-links">
          <a href={href('impact', id)}>Impact</a>
          <GraphiQLLink query={LINEAGE_QUERY} variables={variables} />
        </div>
      </header>

      <div className="toolbar" role="toolbar" aria-label="Lineage controls">
        <label>
          Depth{' '}
          <select value={depth} onChange={(e) => setQuery({ depth: e.target.value })}>
            {Array.from({ length: 10 }, (_, i) => i + 1).map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          Direction{' '}
          <select value={dir} onChange={(e) => setQuery({ dir: e.target.value })}>
            <option value="up">Upstream (inputs)</option>
            <option value="down">Downstream (dependents)</option>
            <option value="both">Both</option>
          </select>
        </label>
        <button type="button" onClick={() => view.current?.fit()} disabled={!graph}>
          Fit
        </button>
        <button type="button" onClick={exportPNG} disabled={!graph}>
          Export PNG
        </button>
        <button type="button" onClick={exportSVG} disabled={!graph}>
          Export SVG
        </button>
        <span className="toolbar-count">
          {nNodes} nodes, {nEdges} edges
        </span>
        <div className="toolbar-search">
          <SearchBox label="Go to" onChoose={(n) => navigate('lineage', n.id, { depth, dir })} />
        </div>
      </div>

      {error ? <ErrorBox error={error} onRetry={reload} /> : null}
      {loading ? <Loading what="Loading lineage" /> : null}
      {data?.lineage?.truncated ? (
        <p className="warning" role="note">
          The graph was cut at {LINEAGE_LIMIT} nodes; lower the depth or expand nodes one by one.
        </p>
      ) : null}
      {actionError ? <ErrorBox error={actionError} /> : null}
      {pathFrom ? (
        <p className="path-pick" role="status">
          Pick the other end of the path: click a node in the graph or in the list below.{' '}
          <button type="button" onClick={() => setPathFrom(null)}>
            Cancel
          </button>
        </p>
      ) : null}
      <p className="sr-only" role="status" aria-live="polite">
        {busy ? `${busy}…` : note}
      </p>

      {graph ? (
        <div className="lineage-body">
          <div className="graph-pane">
            <GraphView
              ref={view}
              graph={graph}
              selected={selected}
              path={path}
              pathEnd={pathFrom}
              onSelect={select}
              onExpand={expand}
              ariaLabel={`Lineage graph of ${root?.label ?? id}: ${nNodes} nodes and ${nEdges} edges. The same graph is listed as text below.`}
            />
            <Legend kinds={kinds} />
            <p className="hint">Click a node for its details, double-click to expand it. Scroll to zoom, drag to pan.</p>
          </div>
          <aside className="details-pane" aria-label="Node details">
            {sel ? (
              <>
                <div className="details-actions">
                  <button type="button" onClick={() => expand(sel.id)} disabled={!!busy}>
                    {expanded.has(sel.id) ? 'Expand again' : 'Expand'}
                  </button>
                  <button type="button" onClick={() => doCollapse(sel.id)}>
                    Collapse
                  </button>
                  <button type="button" onClick={() => setPathFrom(sel.id)} aria-pressed={pathFrom === sel.id}>
                    Path to…
                  </button>
                  <button type="button" onClick={() => view.current?.center(sel.id)}>
                    Center
                  </button>
                </div>
                <p className="details-links">
                  {sel.id !== id ? <a href={href('lineage', sel.id, { depth, dir })}>Open its lineage</a> : null}{' '}
                  <a href={href('impact', sel.id)}>Impact</a>
                </p>
                <NodeDetails key={sel.id} id={sel.id} fallback={sel} />
              </>
            ) : (
              <p className="muted">Select a node to see its details.</p>
            )}
            {path ? (
              <div className="path-result">
                <h3>
                  Path {graph.nodes[path.from]?.label ?? path.from} → {graph.nodes[path.to]?.label ?? path.to}
                </h3>
                {path.list.length ? (
                  <ol>
                    {path.list.map((e) => (
                      <li key={`${e.from}|${e.to}|${e.type}|${e.role}`}>
                        {e.toNode?.label ?? e.to} <span className="muted">—{edgeLabel(e)}→</span>{' '}
                        {e.fromNode?.label ?? e.from}
                      </li>
                    ))}
                  </ol>
                ) : (
                  <p>No lineage path between them.</p>
                )}
                <button type="button" onClick={() => setPath(null)}>
                  Clear path
                </button>
              </div>
            ) : null}
          </aside>
          <div className="text-pane">
            <GraphText graph={graph} selected={selected} onSelect={select} />
          </div>
        </div>
      ) : null}
      {graph && sel ? (
        <p className="sr-only" aria-live="polite">
          Selected {sel.label}, {kindLabel(sel.kind)}
        </p>
      ) : null}
    </section>
  );
}
