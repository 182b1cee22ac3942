// Pure graph code of the lineage explorer: the graph model built from
// lineage results, merge (expand), collapse, path highlighting and the
// cytoscape elements. No DOM, no cytoscape import: unit-tested in vitest.
//
// A graph is { root, nodes: {id: {id, kind, label, depth}}, edges: {key: edge} }.
// Lineage edges point from the dependent to what it depends on; the view
// draws them the other way (data flows left to right: dataset → run → model).

// Shape and colour of every NodeKind; the legend is drawn from this table.
export const KIND_STYLE = {
  DATASET: { shape: 'barrel', color: '#0369a1', label: 'Dataset' },
  DATASET_VERSION: { shape: 'barrel', color: '#38bdf8', label: 'Dataset version' },
  SPLIT: { shape: 'rhomboid', color: '#7dd3fc', label: 'Split' },
  FEATURE_SET: { shape: 'hexagon', color: '#0f766e', label: 'Feature set' },
  FEATURE_SET_VERSION: { shape: 'hexagon', color: '#2dd4bf', label: 'Feature set version' },
  CODE_VERSION: { shape: 'tag', color: '#a855f7', label: 'Code version' },
  ENVIRONMENT: { shape: 'octagon', color: '#f59e0b', label: 'Environment' },
  EXPERIMENT: { shape: 'round-rectangle', color: '#475569', label: 'Experiment' },
  PIPELINE: { shape: 'round-rectangle', color: '#94a3b8', label: 'Pipeline' },
  RUN: { shape: 'ellipse', color: '#f97316', label: 'Run' },
  MODEL: { shape: 'diamond', color: '#15803d', label: 'Model' },
  MODEL_VERSION: { shape: 'diamond', color: '#22c55e', label: 'Model version' },
  ARTIFACT: { shape: 'rectangle', color: '#eab308', label: 'Artifact' },
  DEPLOYMENT: { shape: 'star', color: '#dc2626', label: 'Deployment' },
};
const UNKNOWN = { shape: 'ellipse', color: '#9ca3af', label: 'Other' };

export function kindStyle(kind) {
  return KIND_STYLE[kind] || UNKNOWN;
}

export function kindLabel(kind) {
  return kindStyle(kind).label;
}

export function edgeKey(e) {
  return `${e.from}|${e.to}|${e.type}|${e.role || ''}`;
}

// edgeLabel: the role of a USED edge, otherwise the type in words.
export function edgeLabel(e) {
  if (e.role) return e.role;
  return String(e.type || '').toLowerCase().replace(/_/g, ' ');
}

export function emptyGraph(root) {
  return { root, nodes: {}, edges: {} };
}

// fromLineage builds a graph from a LineageGraph result.
export function fromLineage(root, lineage) {
  return mergeLineage(emptyGraph(root), lineage);
}

function nodeOf(n, depth) {
  return { id: n.id, kind: n.kind, label: n.label ?? n.id, depth };
}

// mergeLineage adds the nodes and edges of a lineage result (e.g. the
// neighbours of an expanded node) that the graph lacks; existing nodes keep
// their depth. Returns a new graph, or the same one when nothing was added.
export function mergeLineage(graph, lineage) {
  const nodes = { ...graph.nodes };
  const edges = { ...graph.edges };
  let changed = false;
  for (const ln of lineage?.nodes || []) {
    const n = ln.node || ln;
    if (!n?.id || nodes[n.id]) continue;
    nodes[n.id] = nodeOf(n, ln.depth ?? null);
    changed = true;
  }
  for (const e of lineage?.edges || []) {
    // Path results carry their end nodes; lineage results list them in nodes.
    for (const end of [e.fromNode, e.toNode]) {
      if (end?.id && !nodes[end.id]) {
        nodes[end.id] = nodeOf(end, null);
        changed = true;
      }
    }
    if (!nodes[e.from] || !nodes[e.to]) continue;
    const key = edgeKey(e);
    if (edges[key]) continue;
    edges[key] = { key, from: e.from, to: e.to, type: e.type, role: e.role || '' };
    changed = true;
  }
  return changed ? { ...graph, nodes, edges } : graph;
}

function adjacency(graph) {
  const adj = new Map();
  for (const id of Object.keys(graph.nodes)) adj.set(id, []);
  for (const e of Object.values(graph.edges)) {
    adj.get(e.from)?.push(e.to);
    adj.get(e.to)?.push(e.from);
  }
  return adj;
}

// collapse removes the nodes that are only reachable from the root through
// `id` (ignoring edge direction), and their edges; `id` itself stays.
// Collapsing the root leaves the root alone.
export function collapse(graph, id) {
  if (!graph.nodes[id]) return graph;
  const keep = new Set([id]);
  if (id !== graph.root && graph.nodes[graph.root]) {
    const adj = adjacency(graph);
    const stack = [graph.root];
    keep.add(graph.root);
    while (stack.length) {
      const cur = stack.pop();
      if (cur === id) continue; // do not walk through the collapsed node
      for (const next of adj.get(cur) || []) {
        if (!keep.has(next)) {
          keep.add(next);
          stack.push(next);
        }
      }
    }
  } else {
    keep.add(graph.root);
  }
  const nodes = {};
  for (const [k, n] of Object.entries(graph.nodes)) if (keep.has(k)) nodes[k] = n;
  if (Object.keys(nodes).length === Object.keys(graph.nodes).length) return graph;
  const edges = {};
  for (const [k, e] of Object.entries(graph.edges)) if (nodes[e.from] && nodes[e.to]) edges[k] = e;
  return { ...graph, nodes, edges };
}

// neighbours lists the nodes one edge away from id, with the edge.
export function neighbours(graph, id) {
  const out = [];
  for (const e of Object.values(graph.edges)) {
    if (e.from === id && graph.nodes[e.to]) out.push({ node: graph.nodes[e.to], edge: e, dir: 'upstream' });
    else if (e.to === id && graph.nodes[e.from]) out.push({ node: graph.nodes[e.from], edge: e, dir: 'downstream' });
  }
  return out;
}

// pathHighlight turns lineagePath edges into the node IDs and edge keys to mark.
export function pathHighlight(pathEdges) {
  const nodes = new Set();
  const edges = new Set();
  for (const e of pathEdges || []) {
    nodes.add(e.from);
    nodes.add(e.to);
    edges.add(edgeKey(e));
  }
  return { nodes, edges };
}

// toElements builds cytoscape element definitions (nodes first).
export function toElements(graph) {
  const els = [];
  for (const n of Object.values(graph.nodes)) els.push(nodeElement(graph, n));
  for (const e of Object.values(graph.edges)) {
    if (graph.nodes[e.from] && graph.nodes[e.to]) els.push(edgeElement(e));
  }
  return els;
}

export function nodeElement(graph, n) {
  const s = kindStyle(n.kind);
  return {
    group: 'nodes',
    data: { id: n.id, label: n.label, kind: n.kind, shape: s.shape, color: s.color },
    classes: n.id === graph.root ? 'root' : '',
  };
}

export function edgeElement(e) {
  // Drawn in the direction data flows: from what is depended on to the dependent.
  return {
    group: 'edges',
    data: { id: e.key, source: e.to, target: e.from, label: edgeLabel(e), type: e.type },
  };
}

// layeredPositions is the layout for large graphs (dagre is too slow there):
// longest-path layering along the drawn direction (inputs left), nodes of a
// layer stacked top to bottom. Cycle-safe: nodes on cycles keep their layer.
export function layeredPositions(graph, { rankSep = 220, nodeSep = 46 } = {}) {
  const ids = Object.keys(graph.nodes);
  const indeg = new Map(ids.map((id) => [id, 0]));
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of Object.values(graph.edges)) {
    if (!indeg.has(e.from) || !indeg.has(e.to) || e.from === e.to) continue;
    out.get(e.to).push(e.from); // drawn source → target
    indeg.set(e.from, indeg.get(e.from) + 1);
  }
  const rank = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const cur = queue[i];
    for (const next of out.get(cur)) {
      rank.set(next, Math.max(rank.get(next), rank.get(cur) + 1));
      indeg.set(next, indeg.get(next) - 1);
      if (indeg.get(next) === 0) queue.push(next);
    }
  }
  const layers = new Map();
  for (const id of ids) {
    const r = rank.get(id);
    if (!layers.has(r)) layers.set(r, []);
    layers.get(r).push(id);
  }
  const pos = {};
  for (const [r, members] of layers) {
    members.forEach((id, i) => {
      pos[id] = { x: r * rankSep, y: (i - (members.length - 1) / 2) * nodeSep };
    });
  }
  return pos;
}

// Direction values of the hash (dir=up|down|both) and the API.
export const DIRECTIONS = { up: 'UPSTREAM', down: 'DOWNSTREAM', both: 'BOTH' };

export function parseDepth(v, fallback = 3) {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(10, Math.max(1, n));
}

export function parseDir(v) {
  return DIRECTIONS[v] ? v : 'both';
}
