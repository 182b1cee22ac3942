package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// `pedigree lineage`, `impact`, `compare` and `diff`: the provenance graph
// and comparisons, readable in a terminal and scriptable as JSON or YAML.

// nodeRef is any node the typed client returns (every Node selection has
// id, kind and label).
type nodeRef interface {
	GetId() string
	GetKind() apiclient.NodeKind
	GetLabel() string
}

// nodeView is a node as the commands print it.
type nodeView struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

func viewOf(n nodeRef) *nodeView {
	if n == nil {
		return nil
	}
	return &nodeView{ID: n.GetId(), Kind: string(n.GetKind()), Label: n.GetLabel()}
}

// String is "KIND label (id)", or just "KIND id" when the label is the ID.
func (n *nodeView) String() string {
	if n == nil {
		return ""
	}
	if n.Label == "" || n.Label == n.ID {
		return n.Kind + " " + n.ID
	}
	return fmt.Sprintf("%s %s (%s)", n.Kind, n.Label, n.ID)
}

// ---------------------------------------------------------------------------
// lineage

var lineageFormats = []string{"tree", "json", "yaml", "dot", "mermaid"}

type lineageOptions struct {
	client clientFlags
	up     bool
	down   bool
	depth  int
	format string
}

// lineageView is `pedigree lineage --format json`.
type lineageView struct {
	Of        string         `json:"of"`
	Direction string         `json:"direction"`
	Truncated bool           `json:"truncated"`
	Nodes     []lineageNode  `json:"nodes"`
	Edges     []lineageEdge  `json:"edges"`
	byID      map[string]int // index into Nodes
}

type lineageNode struct {
	nodeView
	Depth int `json:"depth"`
}

type lineageEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
	Role string `json:"role,omitempty"`
}

// label is the edge's type and role, e.g. "USED train".
func (e lineageEdge) label() string {
	return strings.TrimSpace(e.Type + " " + e.Role)
}

func newLineageCommand() *cobra.Command {
	var o lineageOptions
	cmd := &cobra.Command{
		Use:   "lineage NODE_ID [--up|--down] [--depth N] [--format tree|json|yaml|dot|mermaid]",
		Short: "Show the provenance graph around a node",
		Long: `Show the lineage of NODE_ID (e.g. modelversion:churn/7, datasetversion:customers/3):
with --up (the default) what it was made from, with --down what was made from
it, with both the two together, up to --depth hops (default 5, at most 25).

Formats:
  tree     an indented tree of kinds and labels (default): "TYPE: child" where
           the parent depends on the child (upstream), "← TYPE: child" where
           the child depends on the parent (downstream); a node reached again
           is expanded once and then referred to with "(see above)"
  json     {of, direction, truncated, nodes: [{id, kind, label, depth}], edges: [{from, to, type, role}]}
  yaml     the same as YAML
  dot      a Graphviz digraph (pipe into dot -Tsvg)
  mermaid  a Mermaid flowchart (graph LR)

Edges point from the dependent to what it depends on, as stored: a model
version GENERATED_BY a run, which USED a split, which is SPLIT_OF a dataset version.`,
		Example: `  pedigree lineage modelversion:churn/7
  pedigree lineage datasetversion:customers/3 --down --depth 3
  pedigree lineage modelversion:churn/7 --format dot | dot -Tsvg > lineage.svg`,
		Args: exactArgs(1, "one NODE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runLineage(cmd, &o, args[0]))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	fs.BoolVar(&o.up, "up", false, "upstream: what the node was made from (the default)")
	fs.BoolVar(&o.down, "down", false, "downstream: what was made from the node")
	fs.IntVar(&o.depth, "depth", 5, "hops, 1 to 25")
	fs.StringVar(&o.format, "format", "tree", "tree, json, yaml, dot or mermaid")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(lineageFormats...))
	return usageCommand(cmd)
}

func runLineage(cmd *cobra.Command, o *lineageOptions, of string) error {
	format := strings.ToLower(o.format)
	if !slices.Contains(lineageFormats, format) {
		return usagef("--format: must be one of %s, not %q", strings.Join(lineageFormats, ", "), o.format)
	}
	if o.depth < 1 || o.depth > 25 {
		return usagef("--depth: must be between 1 and 25, not %d", o.depth)
	}
	dir := apiclient.DirectionUpstream
	switch {
	case o.up && o.down:
		dir = apiclient.DirectionBoth
	case o.down:
		dir = apiclient.DirectionDownstream
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.Lineage(ctx, a.gql, of, &dir, &o.depth)
	if err != nil {
		return a.fail(ctx, err)
	}
	g := &lineageView{Of: of, Direction: string(dir), Truncated: resp.Lineage.Truncated, byID: map[string]int{}}
	for _, n := range resp.Lineage.Nodes {
		g.byID[n.Node.GetId()] = len(g.Nodes)
		g.Nodes = append(g.Nodes, lineageNode{nodeView: *viewOf(n.Node), Depth: n.Depth})
	}
	for _, e := range resp.Lineage.Edges {
		g.Edges = append(g.Edges, lineageEdge{From: e.From, To: e.To, Type: string(e.Type), Role: e.Role})
	}
	if len(g.Nodes) > 0 {
		g.Of = g.Nodes[0].ID
	}
	g.sort()
	w := cmd.OutOrStdout()
	switch format {
	case "json", "yaml":
		return render(w, format, g, nil)
	case "dot":
		return g.writeDot(w)
	case "mermaid":
		return g.writeMermaid(w)
	}
	return g.writeTree(w)
}

// sort orders nodes by depth, kind and label, the start node first, and
// edges by their ends, so that every format prints the same graph the same
// way.
func (g *lineageView) sort() {
	slices.SortStableFunc(g.Nodes, func(a, b lineageNode) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Label, b.Label), cmp.Compare(a.ID, b.ID))
	})
	for i, n := range g.Nodes {
		g.byID[n.ID] = i
	}
	slices.SortStableFunc(g.Edges, func(a, b lineageEdge) int {
		return cmp.Or(cmp.Compare(g.byID[a.From], g.byID[b.From]), cmp.Compare(g.byID[a.To], g.byID[b.To]),
			cmp.Compare(a.Type, b.Type), cmp.Compare(a.Role, b.Role))
	})
}

func (g *lineageView) node(id string) *nodeView {
	if i, ok := g.byID[id]; ok {
		return &g.Nodes[i].nodeView
	}
	return &nodeView{ID: id, Kind: "?", Label: id}
}

// writeTree prints the graph as a tree from the start node. Each node's
// children are its neighbours in the direction of the walk; a node seen
// before (shared inputs, cycles) is printed once more as a reference,
// without its subtree.
func (g *lineageView) writeTree(w io.Writer) error {
	type child struct {
		edge lineageEdge
		id   string
		down bool // an edge from the child to its parent: shown with "← "
	}
	children := map[string][]child{}
	for _, e := range g.Edges {
		if g.Direction != string(apiclient.DirectionDownstream) {
			children[e.From] = append(children[e.From], child{e, e.To, false})
		}
		if g.Direction != string(apiclient.DirectionUpstream) {
			children[e.To] = append(children[e.To], child{e, e.From, true})
		}
	}
	var b strings.Builder
	seen := map[string]bool{}
	// walk prints id's subtree. Below the start node a branch keeps its
	// direction: with --up --down, the inputs of an output are not shown.
	var walk func(id, prefix string, root, down bool)
	walk = func(id, prefix string, root, down bool) {
		seen[id] = true
		var kids []child
		for _, c := range children[id] {
			if root || c.down == down {
				kids = append(kids, c)
			}
		}
		for i, c := range kids {
			branch, indent := "├── ", "│   "
			if i == len(kids)-1 {
				branch, indent = "└── ", "    "
			}
			arrow := ""
			if c.down {
				arrow = "← "
			}
			line := fmt.Sprintf("%s%s%s%s: %s", prefix, branch, arrow, c.edge.label(), g.node(c.id))
			if seen[c.id] {
				b.WriteString(line + " (see above)\n")
				continue
			}
			b.WriteString(line + "\n")
			walk(c.id, prefix+indent, false, c.down)
		}
	}
	root := g.node(g.Of)
	b.WriteString(root.String() + "\n")
	walk(g.Of, "", true, false)
	if g.Truncated {
		b.WriteString("(truncated: the graph has more nodes than the server returns at once)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dotQuote is a Graphviz double-quoted string.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func (g *lineageView) writeDot(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, n := range g.Nodes {
		attrs := ""
		if n.ID == g.Of {
			attrs = ", penwidth=2"
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", dotQuote(n.ID), dotQuote(n.Label+"\n"+n.Kind), attrs)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(e.label()))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText escapes a label for a Mermaid "quoted" string.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

func (g *lineageView) writeMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("graph LR\n")
	// Mermaid IDs are identifiers: the nodes are n0, n1, … in print order.
	for i, n := range g.Nodes {
		fmt.Fprintf(&b, "  n%d[\"%s<br/><small>%s</small>\"]\n", i, mermaidText(n.Label), mermaidText(n.Kind))
	}
	for _, e := range g.Edges {
		from, okf := g.byID[e.From]
		to, okt := g.byID[e.To]
		if !okf || !okt {
			continue
		}
		fmt.Fprintf(&b, "  n%d -->|\"%s\"| n%d\n", from, mermaidText(e.label()), to)
	}
	if i, ok := g.byID[g.Of]; ok {
		fmt.Fprintf(&b, "  style n%d stroke-width:3px\n", i)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ---------------------------------------------------------------------------
// impact

type impactOptions struct {
	client clientFlags
	output string
}

// impactView is `pedigree impact --output json`.
type impactView struct {
	Of            *nodeView          `json:"of"`
	Total         int                `json:"total"`
	Truncated     bool               `json:"truncated"`
	ModelVersions []impactStageGroup `json:"modelVersions"`
	Deployments   []impactDeployment `json:"deployments"`
	Runs          []impactRun        `json:"runs"`
	Data          []*nodeView        `json:"data"`
}

type impactStageGroup struct {
	Stage    string          `json:"stage"`
	Count    int             `json:"count"`
	Versions []impactVersion `json:"versions"`
}

type impactVersion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Version int    `json:"version"`
}

type impactDeployment struct {
	ID          string `json:"id"`
	Model       string `json:"model"`
	Version     int    `json:"version"`
	Environment string `json:"environment"`
	Status      string `json:"status"`
}

type impactRun struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	Status string `json:"status"`
}

func newImpactCommand() *cobra.Command {
	var o impactOptions
	cmd := &cobra.Command{
		Use:   "impact NODE_ID",
		Short: "Show what depends on a node: model versions by stage, deployments, runs, data",
		Long: `Show everything downstream of NODE_ID that matters operationally, typically
for a dataset version or split found to have bad rows: the affected model
versions grouped by stage (PRODUCTION first), the deployments serving them,
the runs and the derived data, with counts.`,
		Example: `  pedigree impact datasetversion:customers/3
  pedigree impact split:customers/3/train --output json`,
		Args: exactArgs(1, "one NODE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runImpact(cmd, &o, args[0]))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runImpact(cmd *cobra.Command, o *impactOptions, of string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.Impact(ctx, a.gql, of)
	if err != nil {
		return a.fail(ctx, err)
	}
	im := resp.Impact
	v := impactView{Of: viewOf(im.Of), Total: im.Total, Truncated: im.Truncated,
		ModelVersions: []impactStageGroup{}, Deployments: []impactDeployment{}, Runs: []impactRun{}, Data: []*nodeView{}}
	for _, g := range im.ModelVersions {
		sg := impactStageGroup{Stage: string(g.Stage), Count: len(g.Versions), Versions: []impactVersion{}}
		for _, mv := range g.Versions {
			sg.Versions = append(sg.Versions, impactVersion{ID: mv.Id, Model: mv.ModelName, Version: mv.Version})
		}
		v.ModelVersions = append(v.ModelVersions, sg)
	}
	for _, d := range im.Deployments {
		v.Deployments = append(v.Deployments, impactDeployment{ID: d.Id, Model: d.ModelName, Version: d.Version, Environment: d.Environment, Status: string(d.Status)})
	}
	for _, r := range im.Runs {
		v.Runs = append(v.Runs, impactRun{ID: r.Id, Label: r.Label, Status: string(r.Status)})
	}
	for _, d := range im.Data {
		v.Data = append(v.Data, viewOf(d))
	}
	return render(cmd.OutOrStdout(), o.output, v, func(w io.Writer) error { return v.writeTable(w) })
}

func (v *impactView) writeTable(w io.Writer) error {
	versions := 0
	var counts []string
	for _, g := range v.ModelVersions {
		versions += g.Count
		counts = append(counts, fmt.Sprintf("%d %s", g.Count, g.Stage))
	}
	summary := fmt.Sprintf("Impact of %s: %d downstream nodes; model versions: %d", v.Of, v.Total, versions)
	if len(counts) > 0 {
		summary += " (" + strings.Join(counts, ", ") + ")"
	}
	summary += fmt.Sprintf(", deployments: %d, runs: %d, data: %d", len(v.Deployments), len(v.Runs), len(v.Data))
	if v.Truncated {
		summary += " (truncated at 100,000 nodes)"
	}
	fmt.Fprintln(w, summary)

	section(w, "MODEL VERSIONS", versions)
	if versions > 0 {
		t := newTable(w, "stage", "model", "version", "id")
		for _, g := range v.ModelVersions {
			for _, mv := range g.Versions {
				t.row(g.Stage, mv.Model, fmt.Sprintf("v%d", mv.Version), mv.ID)
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "DEPLOYMENTS", len(v.Deployments))
	if len(v.Deployments) > 0 {
		t := newTable(w, "environment", "model", "version", "status", "id")
		for _, d := range v.Deployments {
			t.row(d.Environment, d.Model, fmt.Sprintf("v%d", d.Version), d.Status, d.ID)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "RUNS", len(v.Runs))
	if len(v.Runs) > 0 {
		t := newTable(w, "run", "status", "id")
		for _, r := range v.Runs {
			t.row(r.Label, r.Status, r.ID)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "DATA", len(v.Data))
	if len(v.Data) > 0 {
		t := newTable(w, "kind", "label", "id")
		for _, d := range v.Data {
			t.row(d.Kind, d.Label, d.ID)
		}
		return t.flush()
	}
	return nil
}

// section prints a table's title with its row count, and "none" if empty.
func section(w io.Writer, title string, n int) {
	if n == 0 {
		fmt.Fprintf(w, "\n%s: none\n", title)
		return
	}
	fmt.Fprintf(w, "\n%s (%d)\n", title, n)
}

// ---------------------------------------------------------------------------
// compare

type compareOptions struct {
	client clientFlags
	output string
}

// comparison is `pedigree compare --output json`.
type comparison struct {
	Runs    []impactRun     `json:"runs"`
	Params  []compareParam  `json:"params"`
	Metrics []compareMetric `json:"metrics"`
}

type compareParam struct {
	Key     string    `json:"key"`
	Values  []*string `json:"values"`
	Differs bool      `json:"differs"`
}

type compareMetric struct {
	Key            string     `json:"key"`
	Values         []*float64 `json:"values"`
	BestIndex      *int       `json:"bestIndex"`
	BestRun        *string    `json:"bestRun"`
	HigherIsBetter bool       `json:"higherIsBetter"`
	Differs        bool       `json:"differs"`
}

func newCompareCommand() *cobra.Command {
	var o compareOptions
	cmd := &cobra.Command{
		Use:   "compare RUN_ID RUN_ID...",
		Short: "Compare runs side by side: params (differences marked) and metrics (best marked)",
		Long: `Compare 2 to 100 runs side by side: their params, with the ones that differ
marked "*", and the last value of each metric, with the best run's marked "*"
(higher is better, except for loss- and error-like names: ↓ in the table).`,
		Example: `  pedigree compare run:0190a… run:0190b…
  pedigree compare run:0190a… run:0190b… --output json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 100 {
				return usagef("%s: expected 2 to 100 RUN_IDs, got %d (see %s --help)", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runCompare(cmd, &o, args))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runCompare(cmd *cobra.Command, o *compareOptions, ids []string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.CompareRuns(ctx, a.gql, ids)
	if err != nil {
		return a.fail(ctx, err)
	}
	rc := resp.CompareRuns
	c := comparison{Runs: []impactRun{}, Params: []compareParam{}, Metrics: []compareMetric{}}
	for _, r := range rc.Runs {
		c.Runs = append(c.Runs, impactRun{ID: r.Id, Label: r.Label, Status: string(r.Status)})
	}
	for _, p := range rc.Params {
		c.Params = append(c.Params, compareParam{Key: p.Key, Values: p.Values, Differs: p.Differs})
	}
	for _, m := range rc.Metrics {
		cm := compareMetric{Key: m.Key, Values: m.LastValues, BestIndex: m.BestIndex, HigherIsBetter: m.HigherIsBetter, Differs: m.Differs}
		if m.BestIndex != nil && *m.BestIndex >= 0 && *m.BestIndex < len(c.Runs) {
			cm.BestRun = &c.Runs[*m.BestIndex].ID
		}
		c.Metrics = append(c.Metrics, cm)
	}
	return render(cmd.OutOrStdout(), o.output, c, func(w io.Writer) error { return c.writeTable(w) })
}

func (c *comparison) writeTable(w io.Writer) error {
	// Run labels are names: the header row is not upper-cased.
	t := newTable(w)
	headers := []any{"RUN"}
	for _, r := range c.Runs {
		headers = append(headers, r.Label)
	}
	t.row(headers...)
	ids, status := []any{"  id"}, []any{"  status"}
	for _, r := range c.Runs {
		ids, status = append(ids, r.ID), append(status, r.Status)
	}
	t.row(ids...)
	t.row(status...)

	t.row(append([]any{"PARAMS"}, blanks(len(c.Runs))...)...)
	for _, p := range c.Params {
		mark := "  "
		if p.Differs {
			mark = "* "
		}
		row := []any{mark + p.Key}
		for _, v := range p.Values {
			row = append(row, v)
		}
		t.row(row...)
	}
	t.row(append([]any{"METRICS"}, blanks(len(c.Runs))...)...)
	for _, m := range c.Metrics {
		arrow := " ↑"
		if !m.HigherIsBetter {
			arrow = " ↓"
		}
		row := []any{"  " + m.Key + arrow}
		for i, v := range m.Values {
			s := cell(v)
			if m.BestIndex != nil && *m.BestIndex == i && len(m.Values) > 1 {
				s += " *"
			}
			row = append(row, s)
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\n* params: the runs differ; metrics: the best run (↑ higher is better, ↓ lower)")
	return err
}

// blanks are n empty table cells printed as nothing (not "-").
func blanks(n int) []any {
	b := make([]any, n)
	for i := range b {
		b[i] = " "
	}
	return b
}

// ---------------------------------------------------------------------------
// diff

type diffOptions struct {
	client clientFlags
	output string
}

// versionDiff is `pedigree diff --output json`.
type versionDiff struct {
	From     *nodeView       `json:"from"`
	To       *nodeView       `json:"to"`
	FromRun  *nodeView       `json:"fromRun"`
	ToRun    *nodeView       `json:"toRun"`
	Data     []nodeChange    `json:"data"`
	Features []nodeChange    `json:"features"`
	Code     []nodeChange    `json:"code"`
	Packages []packageChange `json:"packages"`
	Params   []paramChange   `json:"params"`
	Metrics  []metricDelta   `json:"metrics"`
}

type nodeChange struct {
	Kind   string    `json:"kind"`
	Before *nodeView `json:"before"`
	After  *nodeView `json:"after"`
}

type packageChange struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Before string `json:"before"`
	After  string `json:"after"`
}

type paramChange struct {
	Key    string  `json:"key"`
	Kind   string  `json:"kind"`
	Before *string `json:"before"`
	After  *string `json:"after"`
}

type metricDelta struct {
	Key    string   `json:"key"`
	Before *float64 `json:"before"`
	After  *float64 `json:"after"`
	Delta  *float64 `json:"delta"`
}

func newDiffCommand() *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff MODEL V1 V2",
		Short: "Show what changed between two versions of a model",
		Long: `Show what changed between versions V1 and V2 of MODEL, in the lineage of the
runs that produced them: data (dataset versions and splits), features, code,
environment packages, params and metrics (last values with the change).`,
		Example: `  pedigree diff churn 6 7
  pedigree diff churn v6 v7 --output json`,
		Args:              exactArgs(3, "a MODEL and two versions V1 V2"),
		ValidArgsFunction: completeModels(&o.client),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runDiff(cmd, &o, args[0], args[1], args[2]))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runDiff(cmd *cobra.Command, o *diffOptions, model, v1, v2 string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	from, err := parseVersion("V1", v1)
	if err != nil {
		return err
	}
	to, err := parseVersion("V2", v2)
	if err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.DiffModelVersions(ctx, a.gql, model, from, to)
	if err != nil {
		return a.fail(ctx, err)
	}
	d := resp.DiffModelVersions
	v := versionDiff{
		From: &nodeView{ID: d.From.Id, Kind: string(apiclient.NodeKindModelVersion), Label: d.From.Label},
		To:   &nodeView{ID: d.To.Id, Kind: string(apiclient.NodeKindModelVersion), Label: d.To.Label},
		Data: changes(d.Data, func(c apiclient.DiffModelVersionsDiffModelVersionsModelVersionDiffDataChange) apiclient.ChangeFields {
			return c.ChangeFields
		}),
		Features: changes(d.Features, func(c apiclient.DiffModelVersionsDiffModelVersionsModelVersionDiffFeaturesChange) apiclient.ChangeFields {
			return c.ChangeFields
		}),
		Code: changes(d.Code, func(c apiclient.DiffModelVersionsDiffModelVersionsModelVersionDiffCodeChange) apiclient.ChangeFields {
			return c.ChangeFields
		}),
		Packages: []packageChange{}, Params: []paramChange{}, Metrics: []metricDelta{},
	}
	if d.FromRun != nil {
		v.FromRun = &nodeView{ID: d.FromRun.Id, Kind: string(apiclient.NodeKindRun), Label: d.FromRun.Label}
	}
	if d.ToRun != nil {
		v.ToRun = &nodeView{ID: d.ToRun.Id, Kind: string(apiclient.NodeKindRun), Label: d.ToRun.Label}
	}
	for _, p := range d.Environment {
		v.Packages = append(v.Packages, packageChange{Name: p.Name, Kind: string(p.Kind), Before: p.Before, After: p.After})
	}
	for _, p := range d.Params {
		v.Params = append(v.Params, paramChange{Key: p.Key, Kind: string(p.Kind), Before: p.Before, After: p.After})
	}
	for _, m := range d.Metrics {
		v.Metrics = append(v.Metrics, metricDelta{Key: m.Key, Before: m.Before, After: m.After, Delta: m.Delta})
	}
	return render(cmd.OutOrStdout(), o.output, v, func(w io.Writer) error { return v.writeTable(w) })
}

func changes[T any](list []T, fields func(T) apiclient.ChangeFields) []nodeChange {
	out := []nodeChange{}
	for _, c := range list {
		f := fields(c)
		nc := nodeChange{Kind: string(f.Kind)}
		if f.Before != nil {
			nc.Before = viewOf(*f.Before)
		}
		if f.After != nil {
			nc.After = viewOf(*f.After)
		}
		out = append(out, nc)
	}
	return out
}

func (v *versionDiff) writeTable(w io.Writer) error {
	head := fmt.Sprintf("%s → %s", v.From.Label, v.To.Label)
	if v.FromRun != nil && v.ToRun != nil {
		head += fmt.Sprintf(" (runs %s → %s)", v.FromRun.Label, v.ToRun.Label)
	}
	fmt.Fprintln(w, head)
	for _, s := range []struct {
		title string
		list  []nodeChange
	}{{"DATA", v.Data}, {"FEATURES", v.Features}, {"CODE", v.Code}} {
		section(w, s.title, len(s.list))
		if len(s.list) == 0 {
			continue
		}
		t := newTable(w, "change", "before", "after")
		for _, c := range s.list {
			before, after := nodeLabel(c.Before), nodeLabel(c.After)
			if c.Before != nil && c.After != nil && before == after {
				// Labels abbreviate (a commit to 12 digits): show what differs.
				before, after = c.Before.ID, c.After.ID
			}
			t.row(c.Kind, before, after)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "PACKAGES", len(v.Packages))
	if len(v.Packages) > 0 {
		t := newTable(w, "package", "change", "before", "after")
		for _, p := range v.Packages {
			t.row(p.Name, p.Kind, p.Before, p.After)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "PARAMS", len(v.Params))
	if len(v.Params) > 0 {
		t := newTable(w, "param", "change", "before", "after")
		for _, p := range v.Params {
			t.row(p.Key, p.Kind, p.Before, p.After)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	section(w, "METRICS", len(v.Metrics))
	if len(v.Metrics) > 0 {
		t := newTable(w, "metric", "before", "after", "delta")
		for _, m := range v.Metrics {
			var delta any
			if m.Delta != nil {
				delta = signed(*m.Delta)
			}
			t.row(m.Key, m.Before, m.After, delta)
		}
		return t.flush()
	}
	return nil
}

// nodeLabel is a node's label, or its ID when it has none.
func nodeLabel(n *nodeView) any {
	if n == nil {
		return nil
	}
	if n.Label == "" {
		return n.ID
	}
	return n.Label
}

// signed prints a delta with its sign.
func signed(f float64) string {
	s := formatFloat(f)
	if f > 0 {
		return "+" + s
	}
	return s
}
