package neo4j

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// No Neo4j server runs on the development and CI machines, so every
// statement is checked offline by Neo4j's own parser and semantic analyser
// (cypherlint/lint.mjs), against the labels, relationship types and
// property keys the store allows.

const cypherlintDir = "cypherlint"

// lintSchema is the DbSchema subset lint.mjs passes on to lintCypherQuery.
type lintSchema struct {
	Labels            []string `json:"labels"`
	RelationshipTypes []string `json:"relationshipTypes"`
	PropertyKeys      []string `json:"propertyKeys"`
}

type lintDiagnostic struct {
	Severity string `json:"severity"` // "error", "warning", …
	Message  string `json:"message"`
	Line     int    `json:"line"`   // 1-based
	Column   int    `json:"column"` // 1-based
}

type lintResult struct {
	Name        string           `json:"name"`
	Diagnostics []lintDiagnostic `json:"diagnostics"`
}

// schemaFromAllowlists is what the database may contain: nothing else.
func schemaFromAllowlists() lintSchema {
	s := lintSchema{
		Labels:       append([]string{"Node"}, otherLabels...),
		PropertyKeys: propertyKeys,
	}
	for _, k := range lineage.Kinds {
		s.Labels = append(s.Labels, string(k))
	}
	for _, t := range lineage.EdgeTypes {
		s.RelationshipTypes = append(s.RelationshipTypes, string(t))
	}
	slices.Sort(s.Labels)
	s.Labels = slices.Compact(s.Labels)
	return s
}

// lintCypher runs lint.mjs once over all stmts and returns one result per
// statement, in order, with schemaCommandNames' findings added. It skips the test when the linter is not installed,
// unless PEDIGREE_REQUIRE_CYPHERLINT=1 (make test) makes that a failure.
func lintCypher(t *testing.T, stmts []statement) []lintResult {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("PEDIGREE_REQUIRE_CYPHERLINT") == "1" {
			t.Fatalf("cypherlint: %s, and PEDIGREE_REQUIRE_CYPHERLINT=1: run `make cypherlint` (npm ci in lineage/neo4j/cypherlint)", why)
		}
		t.Skip("cypherlint: run `make cypherlint` (npm ci in lineage/neo4j/cypherlint) or make test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found")
	}
	pkg := filepath.Join(cypherlintDir, "node_modules", "@neo4j-cypher", "language-support")
	if _, err := os.Stat(pkg); errors.Is(err, fs.ErrNotExist) {
		missing(pkg + " not installed")
	}

	in, err := json.Marshal(map[string]any{"schema": schemaFromAllowlists(), "statements": stmts})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "lint.mjs")
	cmd.Dir = cypherlintDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cypherlint: %v\n%s", err, stderr.Bytes())
	}
	var results []lintResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("cypherlint: reading its output: %v\n%s", err, out)
	}
	if len(results) != len(stmts) {
		t.Fatalf("cypherlint: got %d results for %d statements", len(results), len(stmts))
	}
	schema := schemaFromAllowlists()
	for i, r := range results {
		if r.Name != stmts[i].Name {
			t.Fatalf("cypherlint: result %d is for %q, want %q", i, r.Name, stmts[i].Name)
		}
		results[i].Diagnostics = append(r.Diagnostics, schemaCommandNames(stmts[i].Text, schema)...)
	}
	return results
}

// The linter checks no names in schema commands, where a misspelt label or
// key would silently give a useless index or a missing constraint:
// CREATE … FOR (n:Label) ON/REQUIRE n.key, or FOR ()-[r:TYPE]-() ….
var (
	ddlNode = regexp.MustCompile(`(?is)^\s*CREATE\s[^()]*\b(?:INDEX|CONSTRAINT)\b.*?\bFOR\s*\(\s*(\w+)\s*:\s*(\w+)\s*\)`)
	ddlRel  = regexp.MustCompile(`(?is)^\s*CREATE\s[^()]*\b(?:INDEX|CONSTRAINT)\b.*?\bFOR\s*\(\s*\)\s*<?-\s*\[\s*(\w+)\s*:\s*(\w+)\s*\]`)
)

func schemaCommandNames(text string, s lintSchema) []lintDiagnostic {
	kind, names := "Label", s.Labels
	m := ddlNode.FindStringSubmatch(text)
	if m == nil {
		kind, names = "Relationship type", s.RelationshipTypes
		if m = ddlRel.FindStringSubmatch(text); m == nil {
			return nil
		}
	}
	var ds []lintDiagnostic
	unknown := func(what string) {
		ds = append(ds, lintDiagnostic{Severity: "error", Message: what + " is not in the allowlists (schema command)", Line: 1, Column: 1})
	}
	if !slices.Contains(names, m[2]) {
		unknown(kind + " " + m[2])
	}
	for _, p := range regexp.MustCompile(`\b`+m[1]+`\.(\w+)`).FindAllStringSubmatch(text, -1) {
		if !slices.Contains(s.PropertyKeys, p[1]) {
			unknown("Property key " + p[1])
		}
	}
	return ds
}

// TestCypherLint fails on every diagnostic, warnings included: the
// warnings are what catch an unknown label, relationship type or property
// key, a deprecated function and a cartesian product, and every idiom we
// need has a form that draws none (e.g. two MATCH clauses instead of
// "MATCH (a …), (b …)"), so there is no allowlist.
func TestCypherLint(t *testing.T) {
	t.Parallel() // each test waits seconds on its own node process
	corpus := lintCorpus()
	// An empty or truncated corpus would pass vacuously.
	if len(corpus) < 10 {
		t.Fatalf("lintCorpus has %d statements, want at least 10", len(corpus))
	}
	start := time.Now()
	results := lintCypher(t, corpus)
	t.Logf("linted %d statements in %v", len(corpus), time.Since(start).Round(time.Millisecond))
	for i, r := range results {
		if len(r.Diagnostics) == 0 {
			continue
		}
		var b strings.Builder
		for _, d := range r.Diagnostics {
			fmt.Fprintf(&b, "\n\t%d:%d %s: %s", d.Line, d.Column, d.Severity, d.Message)
		}
		t.Errorf("statement %q:%s\n%s", r.Name, b.String(), numbered(corpus[i].Text))
	}
}

// TestCypherLintCatchesMistakes proves the check can fail: each broken
// statement must draw a diagnostic saying why, and good ones none.
func TestCypherLintCatchesMistakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       string // in a diagnostic's message; "" for a good statement
	}{
		{"syntax error", `MATCH (n:Node RETURN n`, "Invalid input"},
		{"undefined variable", `MATCH (n:Node) RETURN m`, "Variable `m` not defined"},
		{"unknown label", `MATCH (n:Nod) RETURN n`, "Label Nod is not present"},
		{"unknown relationship type", `MATCH (r:Run)-[:USES]->(d) RETURN d`, "Relationship type USES is not present"},
		{"unknown property key", `MATCH (n:Node) RETURN n.nmae`, "nmae is not present"},
		{"unknown function", `MATCH (n:Node) RETURN toLowr(n.name)`, "Function toLowr is not present"},
		{"unknown procedure", `CALL db.index.fulltext.queryNode('node_names', $q) YIELD node RETURN node`, "Procedure db.index.fulltext.queryNode is not present"},
		{"APOC is not installed", `RETURN apoc.text.join(['a'], ',') AS s`, "Function apoc.text.join is not present"},
		{"deprecated function", `MATCH (n:Node) RETURN id(n)`, "deprecated"},
		{"removed syntax", `MATCH (n:Node) WHERE exists(n.id) RETURN n`, "no longer supported"},
		{"type mismatch", `RETURN toUpper(1) AS s`, "Type mismatch"},
		{"cartesian product", `MATCH (a:Node {id: $a}), (b:Node {id: $b}) MERGE (a)-[:USED]->(b)`, "cartesian product"},
		{"two statements", `MATCH (n:Node) RETURN n; MATCH (m:Node) RETURN m`, "2 statements"},
		{"empty", ` `, "0 statements"},
		{"unknown label in schema command", `CREATE INDEX x IF NOT EXISTS FOR (n:Rn) ON (n.createdAt)`, "Label Rn is not"},
		{"unknown property key in schema command", `CREATE CONSTRAINT x IF NOT EXISTS FOR (n:Node) REQUIRE (n.id, n.idd) IS UNIQUE`, "Property key idd is not"},
		{"unknown relationship type in schema command", `CREATE INDEX x IF NOT EXISTS FOR ()-[r:USES]-() ON (r.role)`, "Relationship type USES is not"},
		{"undefined variable in schema command", `CREATE CONSTRAINT x IF NOT EXISTS FOR (n:Node) REQUIRE m.id IS UNIQUE`, "Variable `m` not defined"},

		{"good: match", "MATCH (r:Run)-[u:USED]->(d:DatasetVersion)\nWHERE r.runStatus = $status AND u.role = $role\nRETURN d.id, d.name", ""},
		{"good: edge between existing nodes", `MATCH (a:Node {id: $a}) MATCH (b:Node {id: $b}) MERGE (a)-[:USED]->(b)`, ""},
		{"good: fulltext", `CALL db.index.fulltext.queryNodes('node_names', $q) YIELD node, score RETURN node.id, score`, ""},
		{"good: subqueries", `MATCH (r:Run {id: $id}) RETURN COLLECT { MATCH (r)-[:USED]->(d) RETURN d.id } AS used, COUNT { (r)--() } AS degree`, ""},
		{"good: trailing semicolon", `MATCH (n:Node) RETURN n.id;`, ""},
		{"good: fulltext index", "CREATE FULLTEXT INDEX x IF NOT EXISTS FOR (n:Node) ON EACH [n.nameFold]\n\tOPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword'}}", ""},
		{"good: relationship index", `CREATE INDEX x IF NOT EXISTS FOR ()-[r:USED]-() ON (r.role)`, ""},
	}
	stmts := make([]statement, len(tests))
	for i, tt := range tests {
		stmts[i] = statement{Name: tt.name, Text: tt.text}
	}
	results := lintCypher(t, stmts)
	for i, tt := range tests {
		got := results[i].Diagnostics
		if tt.want == "" {
			if len(got) != 0 {
				t.Errorf("%s: got diagnostics %+v, want none", tt.name, got)
			}
			continue
		}
		found := false
		for _, d := range got {
			found = found || strings.Contains(d.Message, tt.want)
		}
		if !found {
			t.Errorf("%s: got diagnostics %+v, want one containing %q", tt.name, got, tt.want)
		}
	}
}

// numbered prefixes each line with its number, to match diagnostics' line:col.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(text, "\n") {
		fmt.Fprintf(&b, "\t%3d | %s\n", i+1, l)
	}
	return b.String()
}
