// The cytoscape canvas of the lineage explorer. One cytoscape instance per
// mount; graph changes are applied as a diff in one batch, and the layout
// runs only when the set of nodes changed (selection and path highlighting
// only toggle classes). Large graphs use a linear layered layout instead of
// dagre, hide edges while panning and draw labels only when zoomed in.
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { edgeElement, layeredPositions, nodeElement } from './graph.js';

let registered = false;
function register() {
  if (!registered) {
    cytoscape.use(dagre);
    registered = true;
  }
}

// Above this many nodes dagre is replaced by layeredPositions.
export const DAGRE_LIMIT = 500;
// Above this many nodes the renderer takes its shortcuts while the view moves.
const LARGE = 800;

export const STYLE = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      shape: 'data(shape)',
      'background-color': 'data(color)',
      'border-width': 1,
      'border-color': '#334155',
      width: 30,
      height: 30,
      'font-size': 10,
      color: '#1d2430',
      'text-valign': 'bottom',
      'text-margin-y': 4,
      'text-wrap': 'ellipsis',
      'text-max-width': '160px',
      'min-zoomed-font-size': 7,
    },
  },
  { selector: 'node.root', style: { 'border-width': 3, 'border-color': '#111827', width: 38, height: 38 } },
  { selector: 'node.selected', style: { 'border-width': 4, 'border-color': '#2563eb', 'underlay-color': '#93c5fd', 'underlay-opacity': 0.5, 'underlay-padding': 6 } },
  { selector: 'node.path-end', style: { 'border-width': 4, 'border-color': '#dc2626' } },
  {
    selector: 'edge',
    style: {
      width: 1.5,
      'line-color': '#94a3b8',
      'target-arrow-color': '#94a3b8',
      'target-arrow-shape': 'triangle',
      'curve-style': 'bezier',
      'arrow-scale': 0.8,
      label: 'data(label)',
      'font-size': 8,
      color: '#475569',
      'text-rotation': 'autorotate',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.8,
      'text-background-padding': 1,
      // Edge labels disappear when zoomed out (rendered size under 9px).
      'min-zoomed-font-size': 9,
    },
  },
  { selector: 'edge.path', style: { width: 4, 'line-color': '#dc2626', 'target-arrow-color': '#dc2626', 'z-index': 10 } },
  { selector: 'node.path', style: { 'border-width': 3, 'border-color': '#dc2626' } },
  { selector: '.faded', style: { opacity: 0.25 } },
];

export const GraphView = forwardRef(function GraphView(
  { graph, selected, path, pathEnd, onSelect, onExpand, ariaLabel, onReady },
  ref,
) {
  const container = useRef(null);
  const cyRef = useRef(null);
  const handlers = useRef({});
  handlers.current = { onSelect, onExpand };

  useImperativeHandle(ref, () => ({
    cy: () => cyRef.current,
    fit: () => cyRef.current?.fit(undefined, 30),
    center: (id) => {
      const cy = cyRef.current;
      const n = cy?.getElementById(id);
      if (n && n.nonempty()) cy.animate({ center: { eles: n }, duration: 200 });
    },
  }));

  // Create the instance once, sized for the first graph.
  useEffect(() => {
    register();
    const large = Object.keys(graph.nodes).length > LARGE;
    const cy = cytoscape({
      container: container.current,
      style: STYLE,
      minZoom: 0.05,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      textureOnViewport: large,
      hideEdgesOnViewport: large,
      motionBlur: large,
      pixelRatio: large ? 1 : 'auto',
    });
    cyRef.current = cy;
    cy.on('tap', 'node', (ev) => handlers.current.onSelect?.(ev.target.id()));
    cy.on('dbltap', 'node', (ev) => handlers.current.onExpand?.(ev.target.id()));
    cy.on('tap', (ev) => {
      if (ev.target === cy) handlers.current.onSelect?.(null);
    });
    return () => {
      cy.destroy();
      cyRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Apply graph changes as a diff; lay out only when nodes came or went.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    const want = new Set(Object.keys(graph.nodes));
    const wantEdges = new Set(Object.keys(graph.edges));
    const add = [];
    let nodesChanged = false;
    cy.batch(() => {
      const gone = cy.elements().filter((el) => (el.isNode() ? !want.has(el.id()) : !wantEdges.has(el.id())));
      if (gone.some((el) => el.isNode())) nodesChanged = true;
      cy.remove(gone);
      for (const n of Object.values(graph.nodes)) {
        if (cy.getElementById(n.id).empty()) {
          add.push(nodeElement(graph, n));
          nodesChanged = true;
        }
      }
      for (const e of Object.values(graph.edges)) {
        if (graph.nodes[e.from] && graph.nodes[e.to] && cy.getElementById(e.key).empty()) add.push(edgeElement(e));
      }
      if (add.length) cy.add(add);
      cy.nodes().forEach((n) => n.toggleClass('root', n.id() === graph.root));
    });
    if (nodesChanged) {
      const n = want.size;
      if (n > DAGRE_LIMIT) {
        const pos = layeredPositions(graph);
        cy.layout({ name: 'preset', positions: (node) => pos[node.id()] || { x: 0, y: 0 }, fit: true, padding: 30 }).run();
      } else {
        cy.layout({ name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 90, edgeSep: 8, fit: true, padding: 30, animate: false }).run();
      }
      if (n > 150) cy.zoom(Math.max(cy.zoom(), 0.15));
    }
    onReady?.(cy);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [graph]);

  // Selection and path: classes only.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass('selected path faded path-end');
      if (selected) cy.getElementById(selected).addClass('selected');
      if (pathEnd) cy.getElementById(pathEnd).addClass('path-end');
      if (path && (path.nodes.size || path.edges.size)) {
        cy.elements().addClass('faded');
        for (const id of path.nodes) cy.getElementById(id).removeClass('faded').addClass('path');
        for (const id of path.edges) cy.getElementById(id).removeClass('faded').addClass('path');
      }
    });
  }, [selected, path, pathEnd, graph]);

  return <div ref={container} className="cy" data-testid="cy" role="img" aria-label={ariaLabel} />;
});
