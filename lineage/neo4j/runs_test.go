package neo4j

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/sqlite"
)

// The -update flag rewrites golden files under testdata/. Other test files
// of the package may declare it too: it is registered once, after every
// package-level flag.Bool has run, and read by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func runsUpdating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, _ := g.Get().(bool)
	return b
}

// runsCase is a RunQuery written as the API receives it: a filter and
// orderBy terms in the MLflow-style language, or an AST (raw) the parser
// cannot produce.
type runsCase struct {
	name   string
	filter string
	raw    lineage.Filter
	order  []string
	exp    lineage.ID
	first  int
	after  string
}

func (c runsCase) query() (lineage.RunQuery, error) {
	q := lineage.RunQuery{Experiment: c.exp, Filter: c.raw, Page: lineage.Page{First: c.first, After: c.after}}
	if c.raw == nil {
		f, err := lineage.ParseFilter(c.filter)
		if err != nil {
			return q, err
		}
		q.Filter = f
	}
	o, err := lineage.ParseOrderBy("orderBy", c.order)
	q.OrderBy = o
	return q, err
}

func (c runsCase) compile() (string, map[string]any, error) {
	q, err := c.query()
	if err != nil {
		return "", nil, err
	}
	return compileRuns(q, q.Page.First)
}

// A keyset cursor (createdAt, seq) and an offset cursor for the cases.
var (
	runsKeysetCursor = lineage.EncodeCursor('r', time.Date(2026, 3, 1, 9, 1, 0, 123456789, time.UTC).UnixNano(), 42)
	runsOffsetCursor = lineage.EncodeCursor('o', 40)
)

func runsCmp(ns, key, op string, vals ...any) lineage.Compare {
	return lineage.Compare{Field: lineage.FieldRef{Namespace: ns, Key: key}, Op: op, Values: vals}
}

// runsGoldenCases are the compiled statements kept under testdata/runs.
func runsGoldenCases() []runsCase {
	return []runsCase{
		{name: "all"},
		{name: "first-page-size", first: 20},
		{name: "metric-and-param", filter: `metrics.acc > 0.9 AND params.lr = '0.01'`},
		{name: "or-parentheses", filter: `metrics.auc > 0.9 OR (params.lr = '0.1' AND attributes.status = 'FAILED')`},
		{name: "and-of-ors", filter: `(metrics.auc > 0.9 OR params.lr = '0.1') AND (tags.team = 'risk' OR status = 'RUNNING')`},
		{name: "metric-operators", filter: `metrics.a = 1 AND metrics.b != 2 AND metrics.c < 3 AND metrics.d <= -4.5 AND metrics.e >= 1e-3 AND metrics.f <> 0`},
		{name: "in-not-in", filter: `params.lr IN ('0.1', '0.05') AND tags.team NOT IN ('risk', 'growth')`},
		{name: "like-ilike", filter: `tags.team LIKE 'risk%' OR run_name ILIKE 'Night_y\%%'`},
		{name: "like-metacharacters", filter: `params.path LIKE '/data/*.csv?[1]%' AND tags.note ILIKE '%(a|b)\\\\E\Q$%'`},
		{name: "status", filter: `attributes.status != 'FINISHED'`},
		{name: "status-in", filter: `status IN ('RUNNING', 'FAILED')`},
		{name: "started-rfc3339", filter: `attributes.start_time < '2026-03-01T10:00:30.5+01:00'`},
		{name: "started-unix-ms", filter: `attributes.start_time >= 1772355640000 AND end_time <= 1772355700000`},
		{name: "tags", filter: `tags.team = 'risk' AND tags."my key" != 'x'`},
		{name: "experiment-pipeline-id", filter: `experiment_id = 'churn' AND pipeline = 'nightly' AND run_id != 'run:1'`},
		{name: "metric-nan", raw: runsCmp("metrics", "loss", "NOT IN", math.NaN(), 0.5)},
		{name: "order-metric-desc", order: []string{"metrics.auc DESC"}},
		{name: "order-param-asc", filter: `params.lr IN ('0.1', '0.05')`, order: []string{"params.lr"}},
		{name: "order-multi", filter: `metrics.auc > 0.6`, order: []string{"metrics.auc DESC", "attributes.start_time ASC", "params.model", "tags.team DESC"}},
		{name: "order-attributes", order: []string{"status", "run_name DESC", "end_time"}},
		{name: "experiment", exp: "experiment:churn", filter: `params.model = 'xgb' and tags.team = 'risk'`},
		{name: "experiment-only", exp: "experiment:fraud"},
		{name: "keyset-cursor", after: runsKeysetCursor, first: 10},
		{name: "keyset-cursor-filtered", exp: "experiment:churn", filter: `metrics.auc > 0.9`, after: runsKeysetCursor, first: 10},
		{name: "offset-cursor", order: []string{"metrics.auc DESC", "params.lr"}, after: runsOffsetCursor, first: 20},
		{name: "offset-cursor-filtered", filter: `tags.team LIKE 'r%'`, order: []string{"start_time"}, after: runsOffsetCursor, first: 5},
	}
}

// runsLintSamples are the golden cases' statements, for the offline linter.
func runsLintSamples() []statement {
	var out []statement
	for _, c := range runsGoldenCases() {
		text, _, err := c.compile()
		if err != nil {
			panic(fmt.Sprintf("runs: %s: %v", c.name, err))
		}
		out = append(out, statement{Name: "runs: " + c.name, Text: text})
	}
	return out
}

// runsGolden renders a statement for its golden file: the text, then the
// parameters as JSON (sorted keys, times in RFC 3339).
func runsGolden(text string, params map[string]any) ([]byte, error) {
	js, err := json.MarshalIndent(params, "", "  ")
	if err != nil {
		return nil, err
	}
	return []byte(text + "\n\n-- params --\n" + string(js) + "\n"), nil
}

func TestCompileRunsGolden(t *testing.T) {
	if got, want := len(runsLintSamples()), len(runsGoldenCases()); got != want {
		t.Errorf("runsLintSamples: %d statements for %d cases", got, want)
	}
	seen := map[string]bool{}
	for _, c := range runsGoldenCases() {
		t.Run(c.name, func(t *testing.T) {
			if seen[c.name] {
				t.Fatalf("two cases named %q", c.name)
			}
			seen[c.name] = true
			text, params, err := c.compile()
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			checkRunsStatement(t, text, params)
			got, err := runsGolden(text, params)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "runs", c.name+".golden")
			if runsUpdating() {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./lineage/neo4j -run TestCompileRunsGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (go test ./lineage/neo4j -run %s -update to accept):\n%s", c.name, path, t.Name(), got)
			}
		})
	}
}

var runsParamRef = regexp.MustCompile(`\$p[0-9]+`)

// checkRunsStatement checks what holds for every compiled statement: every
// parameter is used and every use has a parameter, and the text holds no
// string literal, comment or second statement that a value could have
// opened.
func checkRunsStatement(tb testing.TB, text string, params map[string]any) {
	tb.Helper()
	used := map[string]bool{}
	for _, ref := range runsParamRef.FindAllString(text, -1) {
		used[ref[1:]] = true
		if _, ok := params[ref[1:]]; !ok {
			tb.Errorf("%s is used but not set", ref)
		}
	}
	for name := range params {
		if !used[name] {
			tb.Errorf("parameter %s is set but not used", name)
		}
	}
	for _, bad := range []string{"'", `"`, "`", "//", "/*", ";", "\x00", "\r", "DELETE", "CREATE", "SET ", "MERGE", "CALL"} {
		if strings.Contains(text, bad) {
			tb.Errorf("statement contains %q:\n%s", bad, text)
		}
	}
}

// TestRunsInjection compiles hostile keys and values in every place a
// query takes one: the text must be the one a plain key and value give,
// and the parameters must carry them verbatim.
func TestRunsInjection(t *testing.T) {
	hostile := []string{
		`'`, `"`, "`", `\`,
		`'}) DETACH DELETE n //`,
		`"}) DETACH DELETE n //`,
		"`}) DETACH DELETE n //",
		`x' OR 1=1 --`,
		`} RETURN 1 UNION MATCH (m) DETACH DELETE m //`,
		`*/ MATCH (m) DETACH DELETE m /*`,
		`$p0`, `$p1 OR true`, `{run: n.id}`,
		"line1\nline2", "\r\n", "nul\x00byte", "\x1b[31mred",
		"ünïcödé ☃ 😀 \u202e\u200b", "\uFEFF",
		`\E`, `\Q.*\E`, `a\Eb\Q`, `.*+?()[]{}|^$\`, `%_\%\_`, `(?i)`,
		strings.Repeat(`x'"`+"`", 30000),
	}
	// build makes a query with key and value in every place.
	build := func(key, val string) lineage.RunQuery {
		f := lineage.Filter(runsCmp("params", key, "=", val))
		for _, c := range []lineage.Compare{
			runsCmp("tags", key, "!=", val),
			runsCmp("metrics", key, ">", 1.0),
			runsCmp("metrics", key, "IN", 1.0, 2.0),
			runsCmp("attributes", "name", "IN", val, "x"),
			runsCmp("params", key, "NOT IN", val),
			runsCmp("tags", key, "LIKE", runsLikeLiteral(val)),
			runsCmp("attributes", "status", "ILIKE", runsLikeLiteral(val)),
			runsCmp("attributes", "pipeline", "=", val),
		} {
			f = lineage.Or{Left: f, Right: c}
		}
		return lineage.RunQuery{
			Experiment: lineage.ID(val),
			Filter:     f,
			OrderBy: []lineage.OrderBy{
				{Field: lineage.FieldRef{Namespace: "params", Key: key}, Desc: true},
				{Field: lineage.FieldRef{Namespace: "metrics", Key: key}},
				{Field: lineage.FieldRef{Namespace: "tags", Key: key}},
			},
		}
	}
	plain, _, err := compileRuns(build("k", "v"), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostile {
		label := fmt.Sprintf("%.40q", h)
		for _, kv := range [][2]string{{h, "v"}, {"k", h}, {h, h}} {
			text, params, err := compileRuns(build(kv[0], kv[1]), 10)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if text != plain {
				t.Errorf("%s: the text depends on the key or value:\n%s", label, text)
			}
			if !strings.Contains(plain, h) && strings.Contains(text, h) {
				t.Errorf("%s: in the text", label)
			}
			checkRunsStatement(t, text, params)
			got := map[string]int{}
			var regexes []string
			for _, v := range params {
				vs, ok := v.([]any)
				if !ok {
					vs = []any{v}
				}
				for _, x := range vs {
					if s, ok := x.(string); ok {
						got[s]++
						if strings.HasPrefix(s, "(?s") {
							regexes = append(regexes, s)
						}
					}
				}
			}
			// Key: params, tags, metrics ×2 (filter) and 3 orderings; value:
			// params, tags, name IN, NOT IN, pipeline, experiment.
			want := map[string]int{kv[0]: 7}
			want[kv[1]] += 6
			for s, n := range want {
				if got[s] < n {
					t.Errorf("%s: parameters hold it %d times, want at least %d", label, got[s], n)
				}
			}
			if len(regexes) != 2 {
				t.Fatalf("%s: %d LIKE regexes among the parameters, want 2", label, len(regexes))
			}
			if len(kv[1]) < 1000 {
				for _, re := range regexes {
					if !runsRegexMatch(t, re, kv[1]) {
						t.Errorf("%s: LIKE regex %q does not match the literal value", label, re)
					}
				}
			}
		}
	}
}

// runsLikeLiteral escapes s as a LIKE pattern that matches only s.
func runsLikeLiteral(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// runsRegexMatch reports whether the regex for =~ matches the whole of s,
// read by Go's regexp: the escapes likeRegex uses mean the same in Go and
// Java, and (?i) is only ever tested on ASCII here (Go folds Unicode too,
// Java without UNICODE_CASE does not).
func runsRegexMatch(tb testing.TB, re, s string) bool {
	tb.Helper()
	rx, err := regexp.Compile(`\A(?:` + re + `)\z`)
	if err != nil {
		tb.Fatalf("regex %q: %v", re, err)
	}
	return rx.MatchString(s)
}

func TestLikeRegex(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ilike   bool
		re      string // "" to leave unchecked
		match   []string
		nomatch []string
	}{
		{pattern: "risk%", re: `(?s)risk.*`, match: []string{"risk", "risk-EU", "risk\nx"}, nomatch: []string{"Risk", "xrisk", "ris"}},
		{pattern: "RISK%", ilike: true, re: `(?si)RISK.*`, match: []string{"risk", "Risk-EU", "RISK"}, nomatch: []string{"ris", "xrisk"}},
		{pattern: "%s_", match: []string{"risk", "ss", "s\n"}, nomatch: []string{"s", "risky", "S_"}},
		{pattern: "nightly_1", re: `(?s)nightly.1`, match: []string{"nightly_1", "nightlyX1", "nightly\n1", "nightly😀1"}, nomatch: []string{"nightly1", "nightly__1"}},
		{pattern: `nightly\%2`, re: `(?s)nightly\%2`, match: []string{"nightly%2"}, nomatch: []string{"nightlyX2", "nightly%%2", "nightly2"}},
		{pattern: `a\_b`, match: []string{"a_b"}, nomatch: []string{"axb", "ab"}},
		{pattern: "a.b", re: `(?s)a\.b`, match: []string{"a.b"}, nomatch: []string{"axb", "a\nb"}},
		{pattern: "a*b", re: `(?s)a\*b`, match: []string{"a*b"}, nomatch: []string{"aab", "b", "ab"}},
		{pattern: `back\\slash`, re: `(?s)back\\slash`, match: []string{`back\slash`}, nomatch: []string{"backslash", `back\\slash`}},
		{pattern: `\E`, re: `(?s)E`, match: []string{"E"}, nomatch: []string{`\E`}},
		{pattern: `x\\E%`, re: `(?s)x\\E.*`, match: []string{`x\E`, `x\Eyy`, "x\\E\n"}, nomatch: []string{"xE", `x\e`}},
		{pattern: `\Q%\E`, re: `(?s)Q.*E`, match: []string{"QE", "Q\\E"}, nomatch: []string{`\Q\E`}},
		{pattern: `\\Q.*\\E`, re: `(?s)\\Q\.\*\\E`, match: []string{`\Q.*\E`}, nomatch: []string{`\Qxx\E`, `.*`}},
		{pattern: "%", re: `(?s).*`, match: []string{"", "anything", "multi\nline\r\n"}},
		{pattern: "%%%a%%", re: `(?s).*a.*`, match: []string{"a", "xxaxx", "\na\n"}, nomatch: []string{"", "b"}},
		{pattern: "_", re: `(?s).`, match: []string{"a", "ü", "😀", "\n"}, nomatch: []string{"", "ab"}},
		{pattern: "", re: `(?s)`, match: []string{""}, nomatch: []string{" "}},
		{pattern: "(?i)abc", re: `(?s)\(\?i\)abc`, match: []string{"(?i)abc"}, nomatch: []string{"ABC", "abc"}},
		{pattern: "[a-z]+{2}", re: `(?s)\[a\-z\]\+\{2\}`, match: []string{"[a-z]+{2}"}, nomatch: []string{"ab"}},
		{pattern: "^$|#&~<>=!:,'\"`@/", match: []string{"^$|#&~<>=!:,'\"`@/"}, nomatch: []string{"", "^"}},
		{pattern: "tab\there nul\x00 nl\n", match: []string{"tab\there nul\x00 nl\n"}, nomatch: []string{"tab here nul\x00 nl\n"}},
		{pattern: "ünï%", re: `(?s)ünï.*`, match: []string{"ünï", "ünïcode"}, nomatch: []string{"uni"}},
		{pattern: "Night_y\\%%", ilike: true, match: []string{"nightly%", "NIGHTLY%2", "night-Y%x"}, nomatch: []string{"nightly", "nightlyX"}},
	} {
		re, err := likeRegex(tc.pattern, !tc.ilike)
		if err != nil {
			t.Errorf("likeRegex(%q): %v", tc.pattern, err)
			continue
		}
		if tc.re != "" && re != tc.re {
			t.Errorf("likeRegex(%q, ilike %v) = %q, want %q", tc.pattern, tc.ilike, re, tc.re)
		}
		for _, s := range tc.match {
			if !runsRegexMatch(t, re, s) {
				t.Errorf("LIKE %q (regex %q) does not match %q", tc.pattern, re, s)
			}
		}
		for _, s := range tc.nomatch {
			if runsRegexMatch(t, re, s) {
				t.Errorf("LIKE %q (regex %q) matches %q", tc.pattern, re, s)
			}
		}
	}
	for _, p := range []string{`\`, `abc\`, `%\`} {
		if re, err := likeRegex(p, true); err == nil {
			t.Errorf("likeRegex(%q) = %q, want an error (ends with an escape)", p, re)
		}
	}
}

// TestLikeMatchesEmbeddedStore runs LIKE and ILIKE filters on the embedded
// store and requires the regexes to pick the same values.
func TestLikeMatchesEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "like.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// No NUL (SQLite's LIKE stops at one) and, for ILIKE, no letters that
	// fold outside ASCII (Go's (?i) folds them, Java's and SQLite's do not).
	values := []string{
		"", "a", "A", "ab", "aB", "abc", "a_c", "a%c", "a.c", "a*c", "a?c", "a[c]", `a\c`, `a\\c`, `\E`, `\Q\E`,
		"risk", "Risk-EU", "RISK", "nightly_1", "nightlyX1", "nightly%2", "nightly\n1", "multi\nline", "x\r\ny",
		"😀", "a😀c", "ü", "(?i)abc", "^a$", "a|b", "%", "_", "%%", "__", "-", "a-c",
	}
	ids := map[lineage.ID]string{}
	err = st.Update(ctx, func(tx lineage.Tx) error {
		for i, v := range values {
			id := lineage.NewID(lineage.KindRun, fmt.Sprint("r", i))
			ids[id] = v
			n := &lineage.Node{ID: id, Kind: lineage.KindRun, Parent: "experiment:e", Name: id.Key(),
				Props: json.RawMessage(`{}`), CreatedAt: time.Unix(int64(i), 0).UTC()}
			if err := tx.CreateNode(n); err != nil {
				return err
			}
			if err := tx.SetRunTags(id, map[string]string{"v": v}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	patterns := []string{
		"", "%", "_", "__", "a%", "A%", "%c", "a_c", `a\_c`, `a\%c`, "a.c", "a*c", "a?c", "a[c]", `a\\c`, `a\c`,
		`\\E`, `\\Q\\E`, `\E`, "risk%", "%risk%", "nightly_1", "nightly%", `nightly\%2`, "%\n%", "multi_line", "x__y",
		"_😀_", "%😀%", "(?i)%", "^a$", "a|b", `\%`, `\_`, "%%", "%-%", "a-c", "%_%_%",
	}
	for _, op := range []string{"LIKE", "ILIKE"} {
		for _, p := range patterns {
			q := lineage.RunQuery{Filter: runsCmp("tags", "v", op, p), Page: lineage.Page{First: 1000}}
			page, err := st.SearchRuns(ctx, q)
			if err != nil {
				t.Fatalf("embedded store: %s %q: %v", op, p, err)
			}
			var want []string
			for _, id := range page.IDs {
				want = append(want, ids[id])
			}
			re, err := likeRegex(p, op == "LIKE")
			if err != nil {
				t.Fatalf("likeRegex(%q): %v", p, err)
			}
			var got []string
			for _, v := range values {
				if runsRegexMatch(t, re, v) {
					got = append(got, v)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %q: regex %q matches %q, the embedded store %q", op, p, re, got, want)
			}
		}
	}
}

// TestRunsErrorsMatchEmbeddedStore gives both stores the same bad queries:
// codes, fields and messages must agree, and good queries pass both.
func TestRunsErrorsMatchEmbeddedStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "errors.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ref := func(ns, key string) lineage.OrderBy {
		return lineage.OrderBy{Field: lineage.FieldRef{Namespace: ns, Key: key}}
	}
	deep := lineage.Filter(runsCmp("metrics", "a", ">", 1.0))
	for range 200 {
		deep = lineage.And{Left: deep, Right: runsCmp("metrics", "a", ">", 1.0)}
	}
	// 101 comparisons nested only 7 deep: the count, not the depth, fails.
	var wide func(n int) lineage.Filter
	wide = func(n int) lineage.Filter {
		if n == 1 {
			return runsCmp("params", "x", "=", "a")
		}
		return lineage.Or{Left: wide(n / 2), Right: wide(n - n/2)}
	}
	many := make([]any, 1001)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	var nilCompare *lineage.Compare
	good := runsCmp("params", "x", "=", "a")
	for _, tc := range []struct {
		name string
		q    lineage.RunQuery
	}{
		{"unknown namespace", lineage.RunQuery{Filter: runsCmp("nodes", "x", "=", "1")}},
		{"unknown operator", lineage.RunQuery{Filter: runsCmp("params", "x", "~", "1")}},
		{"operator ==", lineage.RunQuery{Filter: runsCmp("params", "x", "==", "1")}},
		{"operator not  in", lineage.RunQuery{Filter: runsCmp("params", "x", "not  in", "1")}},
		{"unknown attribute", lineage.RunQuery{Filter: runsCmp("attributes", "password", "=", "1")}},
		{"LIKE on a metric", lineage.RunQuery{Filter: runsCmp("metrics", "auc", "LIKE", "1%")}},
		{"LIKE on a time", lineage.RunQuery{Filter: runsCmp("attributes", "startedAt", "LIKE", "2025%")}},
		{"LIKE ending in an escape", lineage.RunQuery{Filter: runsCmp("params", "x", "LIKE", `ab\`)}},
		{"a metric compared with text", lineage.RunQuery{Filter: runsCmp("metrics", "auc", ">", "high")}},
		{"a metric compared with a numeric string", lineage.RunQuery{Filter: runsCmp("metrics", "auc", ">", " 0.5 ")}},
		{"a metric compared with NaN", lineage.RunQuery{Filter: runsCmp("metrics", "auc", "!=", math.NaN())}},
		{"a time that is not one", lineage.RunQuery{Filter: runsCmp("attributes", "startedAt", ">", "yesterday")}},
		{"a time in ms as a string", lineage.RunQuery{Filter: runsCmp("attributes", "startedAt", ">", "1772355640000")}},
		{"a time out of range", lineage.RunQuery{Filter: runsCmp("attributes", "endedAt", ">", 1e300)}},
		{"a time NaN", lineage.RunQuery{Filter: runsCmp("attributes", "endedAt", ">", math.NaN())}},
		{"a time as int64 ms", lineage.RunQuery{Filter: runsCmp("attributes", "endedAt", "<=", int64(1772355640000))}},
		{"a param compared with a number", lineage.RunQuery{Filter: runsCmp("params", "lr", "=", 0.1)}},
		{"IN without values", lineage.RunQuery{Filter: runsCmp("params", "x", "IN")}},
		{"IN with 1001 values", lineage.RunQuery{Filter: runsCmp("params", "x", "IN", many...)}},
		{"= with two values", lineage.RunQuery{Filter: runsCmp("params", "x", "=", "a", "b")}},
		{"!= without a value", lineage.RunQuery{Filter: runsCmp("params", "x", "!=")}},
		{"a value of another type", lineage.RunQuery{Filter: runsCmp("params", "x", "=", true)}},
		{"a nil value", lineage.RunQuery{Filter: runsCmp("tags", "x", "IN", "a", nil)}},
		{"an empty And", lineage.RunQuery{Filter: lineage.And{Left: good}}},
		{"an empty Or", lineage.RunQuery{Filter: lineage.Or{Right: good}}},
		{"a nil *Compare", lineage.RunQuery{Filter: lineage.And{Left: good, Right: nilCompare}}},
		{"pointers", lineage.RunQuery{Filter: &lineage.Or{Left: &lineage.And{Left: &good, Right: good}, Right: good}}},
		{"nested too deeply", lineage.RunQuery{Filter: deep}},
		{"100 comparisons", lineage.RunQuery{Filter: wide(100)}},
		{"101 comparisons", lineage.RunQuery{Filter: wide(101)}},
		{"orderBy unknown namespace", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("nodes", "x")}}},
		{"orderBy unknown attribute", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("attributes", "props")}}},
		{"orderBy: the later term is reported first", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("attributes", "a"), ref("attributes", "b")}}},
		{"orderBy before filter", lineage.RunQuery{Filter: runsCmp("nodes", "x", "=", "1"), OrderBy: []lineage.OrderBy{ref("nodes", "x")}}},
		{"filter before cursor", lineage.RunQuery{Filter: runsCmp("nodes", "x", "=", "1"), Page: lineage.Page{After: "!"}}},
		{"garbage cursor", lineage.RunQuery{Page: lineage.Page{After: "bm9wZQ"}}},
		{"not base64", lineage.RunQuery{Page: lineage.Page{After: "!!!"}}},
		{"padded base64", lineage.RunQuery{Page: lineage.Page{After: runsKeysetCursor + "=="}}},
		{"keyset cursor with orderBy", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("metrics", "auc")}, Page: lineage.Page{After: runsKeysetCursor}}},
		{"offset cursor without orderBy", lineage.RunQuery{Page: lineage.Page{After: runsOffsetCursor}}},
		{"negative offset", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("metrics", "auc")}, Page: lineage.Page{After: lineage.EncodeCursor('o', -1)}}},
		{"keyset cursor with one number", lineage.RunQuery{Page: lineage.Page{After: lineage.EncodeCursor('r', 5)}}},
		{"keyset cursor with three numbers", lineage.RunQuery{Page: lineage.Page{After: lineage.EncodeCursor('r', 5, 6, 7)}}},
		{"keyset cursor, not a number", lineage.RunQuery{Page: lineage.Page{After: "cjEueA"}}}, // "r1.x"
		{"offset cursor, two numbers", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("params", "p")}, Page: lineage.Page{After: lineage.EncodeCursor('o', 1, 2)}}},
		{"good keyset cursor", lineage.RunQuery{Page: lineage.Page{After: runsKeysetCursor}}},
		{"good offset cursor", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("params", "p")}, Page: lineage.Page{After: runsOffsetCursor}}},
		{"First 0", lineage.RunQuery{Page: lineage.Page{First: 0}}},
		{"First -5", lineage.RunQuery{Page: lineage.Page{First: -5}}},
		{"every attribute", lineage.RunQuery{OrderBy: []lineage.OrderBy{ref("attributes", "id"), ref("attributes", "run_id"), ref("attributes", "experiment"), ref("attributes", "start_time"), ref("attributes", "endedAt")}}},
		{"an empty key", lineage.RunQuery{Filter: runsCmp("metrics", "", ">", 1.0), OrderBy: []lineage.OrderBy{ref("params", "")}}},
	} {
		_, sqlErr := st.SearchRuns(ctx, tc.q)
		_, _, err := compileRuns(tc.q, tc.q.Page.First)
		if lineage.ErrorCode(err) != lineage.ErrorCode(sqlErr) || lineage.ErrorField(err) != lineage.ErrorField(sqlErr) ||
			lineage.ErrorMessage(err) != lineage.ErrorMessage(sqlErr) {
			t.Errorf("%s: got %v, the embedded store %v", tc.name, err, sqlErr)
		}
	}
}

// TestSearchRunsRefusesBeforeConnecting: a bad query is refused without a
// round trip (the Store here has no driver).
func TestSearchRunsRefusesBeforeConnecting(t *testing.T) {
	s := &Store{}
	for _, q := range []lineage.RunQuery{
		{Filter: runsCmp("nodes", "x", "=", "1")},
		{OrderBy: []lineage.OrderBy{{Field: lineage.FieldRef{Namespace: "attributes", Key: "props"}}}},
		{Page: lineage.Page{After: "bm9wZQ"}},
	} {
		_, err := s.SearchRuns(context.Background(), q)
		if lineage.ErrorCode(err) != lineage.EINVALID {
			t.Errorf("SearchRuns(%+v) = %v, want %s", q, err, lineage.EINVALID)
		}
	}
}

// runsRecords fakes the rows the statement returns.
func runsRecords(n int, created func(i int) any) []*neo4j.Record {
	var out []*neo4j.Record
	for i := range n {
		out = append(out, &neo4j.Record{
			Keys:   []string{"id", "createdAt", "seq"},
			Values: []any{fmt.Sprintf("run:%d", i), created(i), int64(100 - i)},
		})
	}
	return out
}

func TestRunsCursor(t *testing.T) {
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	// The driver gives DateTimes in their stored zone; any zone must give
	// the same cursor.
	paris := time.FixedZone("Offset", 3600)
	created := func(i int) any { return base.Add(-time.Duration(i) * 1500 * time.Microsecond).In(paris) }

	t.Run("keyset", func(t *testing.T) {
		st, err := planRuns(lineage.RunQuery{Page: lineage.Page{First: 2}}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.params["p0"]; got != int64(3) {
			t.Errorf("LIMIT = %v, want 3 (first+1)", got)
		}
		p, err := st.page(runsRecords(3, created))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.IDs, []lineage.ID{"run:0", "run:1"}) || !p.HasNext {
			t.Fatalf("page = %v, HasNext %v; want [run:0 run:1], true", p.IDs, p.HasNext)
		}
		if want := lineage.EncodeCursor('r', base.Add(-1500*time.Microsecond).UnixNano(), 99); p.EndCursor != want {
			t.Errorf("EndCursor = %q, want %q", p.EndCursor, want)
		}
		next, err := planRuns(lineage.RunQuery{Page: lineage.Page{First: 2, After: p.EndCursor}}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if at, ok := next.params["p0"].(time.Time); !ok || !at.Equal(base.Add(-1500*time.Microsecond)) || at.Location() != time.UTC {
			t.Errorf("cursor time = %#v, want %v in UTC", next.params["p0"], base.Add(-1500*time.Microsecond))
		}
		if got := next.params["p1"]; got != int64(99) {
			t.Errorf("cursor seq = %v, want 99", got)
		}
		if !strings.Contains(next.text, "(n.createdAt < $p0 OR (n.createdAt = $p0 AND n.seq < $p1))") {
			t.Errorf("no keyset condition in\n%s", next.text)
		}
		last, err := next.page(runsRecords(2, created))
		if err != nil || last.HasNext || len(last.IDs) != 2 {
			t.Errorf("exact last page: %v, HasNext %v, %v; want 2 runs, false", last.IDs, last.HasNext, err)
		}
	})

	t.Run("offset", func(t *testing.T) {
		q := lineage.RunQuery{OrderBy: []lineage.OrderBy{{Field: lineage.FieldRef{Namespace: "metrics", Key: "auc"}, Desc: true}}, Page: lineage.Page{First: 2}}
		st, err := planRuns(q, q.Page.First)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.page(runsRecords(3, created))
		if err != nil {
			t.Fatal(err)
		}
		if want := lineage.EncodeCursor('o', 2); p.EndCursor != want || !p.HasNext {
			t.Errorf("EndCursor = %q, HasNext %v; want %q, true", p.EndCursor, p.HasNext, want)
		}
		q.Page.After = p.EndCursor
		st, err = planRuns(q, q.Page.First)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.params["p1"]; got != int64(2) {
			t.Errorf("SKIP = %v, want 2", got)
		}
		p, err = st.page(runsRecords(1, created))
		if err != nil {
			t.Fatal(err)
		}
		if want := lineage.EncodeCursor('o', 3); p.EndCursor != want || p.HasNext {
			t.Errorf("EndCursor = %q, HasNext %v; want %q, false", p.EndCursor, p.HasNext, want)
		}
		p, err = st.page(nil)
		if err != nil || p.EndCursor != "" || p.HasNext || len(p.IDs) != 0 {
			t.Errorf("empty page = %+v, %v; want no runs, no cursor", p, err)
		}
	})

	t.Run("first", func(t *testing.T) {
		for first, want := range map[int]int64{0: 101, -1: 101, 1: 2, 100: 101, math.MaxInt: math.MaxInt64} {
			st, err := planRuns(lineage.RunQuery{}, first)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.params["p0"]; got != want {
				t.Errorf("First %d: LIMIT %v, want %d", first, got, want)
			}
		}
	})

	t.Run("bad rows", func(t *testing.T) {
		st, _ := planRuns(lineage.RunQuery{}, 10)
		for _, rec := range []*neo4j.Record{
			{Keys: []string{"id", "createdAt", "seq"}, Values: []any{nil, base, int64(1)}},
			{Keys: []string{"id", "createdAt", "seq"}, Values: []any{"run:1", "yesterday", int64(1)}},
			{Keys: []string{"id", "createdAt", "seq"}, Values: []any{"run:1", base, "one"}},
		} {
			if p, err := st.page([]*neo4j.Record{rec}); err == nil {
				t.Errorf("page(%v) = %+v, want an error", rec.Values, p)
			}
		}
	})
}

// TestCompileRunsValues checks the parameter values the filter language's
// literals become.
func TestCompileRunsValues(t *testing.T) {
	for _, tc := range []struct {
		filter lineage.Filter
		want   any
	}{
		{runsCmp("attributes", "startedAt", ">", "2026-03-01T10:00:30.5+01:00"), time.Date(2026, 3, 1, 9, 0, 30, 500000000, time.UTC)},
		{runsCmp("attributes", "startedAt", ">", " 2026-03-01T09:00:00Z "), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		{runsCmp("attributes", "endedAt", "=", 1772355600000.0), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		{runsCmp("attributes", "endedAt", "=", -1.0), time.Date(1969, 12, 31, 23, 59, 59, 999000000, time.UTC)},
		{runsCmp("metrics", "m", "=", 1), 1.0},
		{runsCmp("metrics", "m", "=", "2.5"), 2.5},
		{runsCmp("metrics", "m", "=", json.Number("3")), 3.0},
		{runsCmp("metrics", "m", "=", math.Inf(-1)), math.Inf(-1)},
		{runsCmp("metrics", "m", "=", math.NaN()), nil},
		{runsCmp("params", "p", "=", 0.1), "0.1"},
		{runsCmp("params", "p", "=", 1e21), "1000000000000000000000"},
		{runsCmp("tags", "t", "=", int64(7)), "7"},
		{runsCmp("attributes", "status", "=", "RUNNING"), "RUNNING"},
	} {
		text, params, err := compileRuns(lineage.RunQuery{Filter: tc.filter}, 1)
		if err != nil {
			t.Errorf("%s: %v", lineage.FormatFilter(tc.filter), err)
			continue
		}
		// The value is the parameter after the key for run data, the first
		// for attributes.
		name := "p0"
		if c := tc.filter.(lineage.Compare); c.Field.Namespace != "attributes" {
			name = "p1"
		}
		got := params[name]
		if gt, ok := got.(time.Time); ok {
			if wt, _ := tc.want.(time.Time); !gt.Equal(wt) || gt.Location() != time.UTC {
				t.Errorf("%s: $%s = %v, want %v in UTC", lineage.FormatFilter(tc.filter), name, got, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s: $%s = %#v, want %#v\n%s", lineage.FormatFilter(tc.filter), name, got, tc.want, text)
		}
	}
}
