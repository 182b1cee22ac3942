package resolvers

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/pedigree-ml/pedigree/graph"
	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/webhook"
)

func servedSchema(t *testing.T) *ast.Schema {
	t.Helper()
	return graph.NewExecutableSchema(graph.Config{Resolvers: &Resolver{}}).Schema()
}

// graph/ must be generated from the schema.graphqls in the tree.
func TestSchemaGenerated(t *testing.T) {
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	onDisk, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	format := func(s *ast.Schema) string {
		var b bytes.Buffer
		formatter.NewFormatter(&b).FormatSchema(s)
		return b.String()
	}
	if format(onDisk) != format(servedSchema(t)) {
		t.Fatal("graph/ is stale: run go generate ./...")
	}
}

// The operation names of DESIGN.md §2 are a contract with pipelines and notebooks.
func TestSchemaOperations(t *testing.T) {
	s := servedSchema(t)
	for typ, names := range map[*ast.Definition][]string{
		s.Query: {"node", "dataset", "datasets", "datasetVersion", "experiment", "experiments", "run", "runs",
			"model", "models", "modelVersion", "search", "lineage", "lineagePath", "impact", "compareRuns",
			"diffModelVersions", "events"},
		s.Mutation: {"registerDatasetVersion", "registerSplits", "registerFeatureSetVersion", "registerCodeVersion",
			"registerEnvironment", "registerArtifact", "startRun", "logParams", "logMetrics", "addRunInputs",
			"addRunOutputs", "finishRun", "registerModelVersion", "transitionModelVersionStage", "rollbackModel",
			"setModelAlias", "deleteModelAlias", "recordDeployment", "setRunTags", "deleteNode"},
		s.Subscription: {"modelEvents"},
	} {
		for _, n := range names {
			if typ.Fields.ForName(n) == nil {
				t.Errorf("%s.%s is missing", typ.Name, n)
			}
		}
	}
	for _, n := range []string{"modelVersion"} {
		f := s.Query.Fields.ForName(n)
		for _, a := range []string{"model", "version", "stage", "alias"} {
			if f.Arguments.ForName(a) == nil {
				t.Errorf("Query.%s(%s) is missing", n, a)
			}
		}
	}
	tr := s.Types["TransitionModelVersionStageInput"]
	if f := tr.Fields.ForName("archiveExisting"); f == nil || f.DefaultValue == nil || f.DefaultValue.Raw != "true" {
		t.Error("transitionModelVersionStage: archiveExisting must default to true")
	}
	if f := s.Query.Fields.ForName("lineage").Arguments.ForName("direction"); f.DefaultValue == nil || f.DefaultValue.Raw != "UPSTREAM" {
		t.Error("lineage: direction must default to UPSTREAM")
	}
	for _, m := range []string{"startRun", "registerModelVersion"} {
		if s.Mutation.Fields.ForName(m).Arguments.ForName("idempotencyKey") == nil {
			t.Errorf("%s has no idempotencyKey", m)
		}
	}
}

// Every kind of node is a Node, and the enums list exactly the domain's values.
func TestSchemaMatchesDomain(t *testing.T) {
	s := servedSchema(t)
	var kinds []string
	for _, k := range lineage.Kinds {
		kinds = append(kinds, string(k))
	}
	var impls []string
	for _, d := range s.GetPossibleTypes(s.Types["Node"]) {
		impls = append(impls, d.Name)
	}
	slices.Sort(kinds)
	slices.Sort(impls)
	if !slices.Equal(kinds, impls) {
		t.Errorf("Node implementations = %v, want the kinds %v", impls, kinds)
	}
	if got := len(s.Types["NodeKind"].EnumValues); got != len(lineage.Kinds) {
		t.Errorf("NodeKind has %d values, want %d", got, len(lineage.Kinds))
	}
	enum := func(name string) []string {
		var out []string
		for _, v := range s.Types[name].EnumValues {
			out = append(out, v.Name)
		}
		return out
	}
	edges := strs(lineage.EdgeTypes)
	for name, want := range map[string][]string{
		"EdgeType":         edges,
		"Stage":            {"NONE", "STAGING", "PRODUCTION", "ARCHIVED"},
		"RunStatus":        {string(lineage.RunRunning), string(lineage.RunFinished), string(lineage.RunFailed), string(lineage.RunKilled)},
		"TriggerKind":      {string(lineage.TriggerManual), string(lineage.TriggerCI), string(lineage.TriggerSchedule), string(lineage.TriggerOrchestrator)},
		"DeploymentStatus": {string(lineage.DeploymentPending), string(lineage.DeploymentSucceeded), string(lineage.DeploymentFailed), string(lineage.DeploymentDecommissioned)},
		"Direction":        {string(lineage.Upstream), string(lineage.Downstream), string(lineage.Both)},
		"ChangeKind":       {string(lineage.Added), string(lineage.Removed), string(lineage.Changed)},
		"EventType":        strs(lineage.EventTypes),
		"DeliveryStatus":   strs([]webhook.Status{webhook.Pending, webhook.Delivered, webhook.Failed}),
	} {
		if got := enum(name); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// Every type, field, argument and input field says what it is (GraphiQL
// shows it); enum values may rely on their type's description.
func TestSchemaDocumented(t *testing.T) {
	s := servedSchema(t)
	for _, d := range s.Types {
		if d.BuiltIn || strings.HasPrefix(d.Name, "__") {
			continue
		}
		if d.Description == "" && d != s.Query && d != s.Mutation && d != s.Subscription {
			t.Errorf("type %s has no description", d.Name)
		}
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			// Mutation inputs are described by their input types.
			if f.Description == "" {
				t.Errorf("%s.%s has no description", d.Name, f.Name)
			}
			for _, a := range f.Arguments {
				if a.Description == "" && !(d == s.Mutation && a.Name == "input") {
					t.Errorf("%s.%s(%s) has no description", d.Name, f.Name, a.Name)
				}
			}
		}
	}
}

// The limits the schema documents are the ones the code applies.
func TestSchemaDocumentsLimits(t *testing.T) {
	s := servedSchema(t)
	arg := func(typ, field, name string) string {
		f := s.Types[typ].Fields.ForName(field)
		if f == nil || f.Arguments.ForName(name) == nil {
			t.Fatalf("%s.%s(%s) is missing", typ, field, name)
		}
		return f.Arguments.ForName(name).Description
	}
	page := []string{fmt.Sprintf("default %d", lineage.DefaultPageSize), fmt.Sprintf("clamped to %d", lineage.MaxPageSize)}
	for _, tc := range []struct {
		typ, field, arg string
		want            []string
	}{
		{"Query", "runs", "first", page},
		{"Query", "datasets", "first", page},
		{"Query", "experiments", "first", page},
		{"Query", "models", "first", page},
		{"Experiment", "runs", "first", page},
		{"Pipeline", "runs", "first", page},
		{"Dataset", "versions", "first", page},
		{"FeatureSet", "versions", "first", page},
		{"Model", "versions", "first", page},
		{"Run", "children", "first", page},
		{"Query", "events", "first", page},
		{"Run", "metricHistory", "first", []string{fmt.Sprintf("clamped to %d", lineage.MaxPageSize)}},
		{"Query", "search", "first", []string{"default 20", fmt.Sprintf("clamped to %d", lineage.MaxSearchResults)}},
		{"Query", "lineage", "depth", []string{fmt.Sprintf("default %d, at most %d", lineage.DefaultDepth, lineage.MaxDepth)}},
		{"Query", "lineage", "limit", []string{fmt.Sprintf("default %d, at most %d", lineage.DefaultLimit, lineage.MaxLimit)}},
		{"ModelVersion", "lineage", "depth", []string{fmt.Sprintf("default %d, at most %d", lineage.DefaultDepth, lineage.MaxDepth)}},
		{"ModelVersion", "lineage", "limit", []string{fmt.Sprintf("default %d, at most %d", lineage.DefaultLimit, lineage.MaxLimit)}},
		{"Query", "compareRuns", "ids", []string{fmt.Sprintf("at most %d", lineage.MaxCompareRuns)}},
		{"Query", "nodes", "ids", []string{fmt.Sprintf("at most %d", lineage.MaxPageSize)}},
	} {
		d := arg(tc.typ, tc.field, tc.arg)
		for _, w := range tc.want {
			if !strings.Contains(d, w) {
				t.Errorf("%s.%s(%s): description %q does not say %q", tc.typ, tc.field, tc.arg, d, w)
			}
		}
	}
	if d := s.Types["LogMetricsInput"].Fields.ForName("metrics").Description; !strings.Contains(d, fmt.Sprint(lineage.MaxMetricBatch)) {
		t.Errorf("LogMetricsInput.metrics does not document the batch size %d: %q", lineage.MaxMetricBatch, d)
	}
	// The request limits quoted at the top of the schema file.
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	header := string(src[:bytes.Index(src, []byte("scalar Time"))])
	for _, w := range []string{
		"body 1 MiB", fmt.Sprintf("%s parser tokens", thousands(DefaultParserTokenLimit)),
		fmt.Sprintf("depth %d", DefaultMaxDepth), fmt.Sprintf("%d aliases", DefaultMaxAliases),
		fmt.Sprintf("%d root fields", DefaultMaxRootFields), fmt.Sprintf("complexity %s", thousands(DefaultMaxComplexity)),
		fmt.Sprintf("%s fields once fragments", thousands(DefaultMaxFields)),
		fmt.Sprintf("by %d when", ListEstimate),
		fmt.Sprintf("%d s of execution", int(DefaultTimeout.Seconds())),
		fmt.Sprintf("%d subscriptions per websocket", DefaultMaxSubscriptions),
	} {
		if !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(header, "#", "")), " "), w) {
			t.Errorf("schema header does not say %q", w)
		}
	}
	if DefaultMaxBodyBytes != 1<<20 {
		t.Error("schema header says 1 MiB")
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// GraphiQL's introspection query (graphql-js getIntrospectionQuery with every
// option on) passes every limit.
func TestIntrospectionWithinLimits(t *testing.T) {
	const typeRef = `fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
	  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }`
	q := `query IntrospectionQuery {
	  __schema {
	    description
	    queryType { name } mutationType { name } subscriptionType { name }
	    types { ...FullType }
	    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
	  }
	}
	fragment FullType on __Type {
	  kind name description specifiedByURL isOneOf
	  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
	  inputFields(includeDeprecated: true) { ...InputValue }
	  interfaces { ...TypeRef }
	  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
	  possibleTypes { ...TypeRef }
	}
	fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
	` + typeRef
	s := newTestServer(t, nil, Options{})
	r := s.post(t, q, nil)
	if len(r.Errors) != 0 {
		t.Fatalf("introspection refused: %.500s", r.Raw)
	}
	types := r.Data["__schema"].(map[string]any)["types"].([]any)
	if len(types) < 50 {
		t.Errorf("introspection returned %d types", len(types))
	}
	if r := newTestServer(t, nil, Options{DisableIntrospection: true}).post(t, q, nil); len(r.Errors) == 0 {
		t.Error("introspection served with DisableIntrospection")
	}
}

func strs[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
