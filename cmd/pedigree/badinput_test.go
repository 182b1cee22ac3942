package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// snapshot is everything a rejected mutation must leave unchanged.
func snapshot(t *testing.T, c *client) string {
	data, errs := c.do(t, `{ datasets(first: 20) { edges { node { id versions(first: 20) { edges { node { id } } } } } }
		models(first: 20) { edges { node { id versions(first: 20) { edges { node { id stage aliases } } } } } }
		runs(first: 100) { edges { node { id status params { key value } } } }
		events(first: 1000) { seq } }`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	return string(data)
}

func TestBadInput(t *testing.T) {
	m := MustServe(t, t.TempDir())
	f := &fixture{c: newClient(m.URL())}
	f.build(t)
	c := f.c
	many := make([]map[string]any, 10001)
	for i := range many {
		many[i] = map[string]any{"key": "loss", "value": 1.0}
	}
	tests := []struct {
		name, query string
		vars        map[string]any
		code, field string
	}{
		{"dataset name with a path", registerDataset, map[string]any{"in": map[string]any{"dataset": "../etc", "digest": sha("x")}}, "BAD_USER_INPUT", "dataset"},
		{"dataset name injection", registerDataset, map[string]any{"in": map[string]any{"dataset": "x'; DROP TABLE nodes; --", "digest": sha("x")}}, "BAD_USER_INPUT", "dataset"},
		{"bad digest", registerDataset, map[string]any{"in": map[string]any{"dataset": "d", "digest": "md5:xyz"}}, "BAD_USER_INPUT", "digest"},
		{"digest missing", registerDataset, map[string]any{"in": map[string]any{"dataset": "d", "digest": ""}}, "BAD_USER_INPUT", "digest"},
		{"splits over 100%", registerSplits, map[string]any{"in": map[string]any{"datasetVersion": "datasetversion:customers/1",
			"splits": []map[string]any{{"name": "a", "fraction": 0.7}, {"name": "b", "fraction": 0.7}}}}, "BAD_USER_INPUT", "splits"},
		{"split of a missing version", registerSplits, map[string]any{"in": map[string]any{"datasetVersion": "datasetversion:nope/1",
			"splits": []map[string]any{{"name": "a"}}}}, "NOT_FOUND", "datasetVersion"},
		{"commit not hex", registerCode, map[string]any{"in": map[string]any{"repository": "github.com/a/b", "commit": "HEAD~1"}}, "BAD_USER_INPUT", "commit"},
		{"file artifact", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "RUN", "artifactUri": "file:///etc/passwd"}}, "BAD_USER_INPUT", "artifactUri"},
		{"proc artifact", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "RUN", "artifactUri": "//proc/self/root"}}, "BAD_USER_INPUT", "artifactUri"},
		{"http artifact", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "RUN", "artifactUri": "http://169.254.169.254/latest/meta-data"}}, "BAD_USER_INPUT", "artifactUri"},
		{"traversal in artifact", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "RUN", "artifactUri": "s3://models/a/%2e%2e/b"}}, "BAD_USER_INPUT", "artifactUri"},
		{"missing run", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "run:0190f0f0-0000-7000-8000-000000000000", "artifactUri": "s3://m/a"}}, "NOT_FOUND", "run"},
		{"run is not a run", registerVersion, map[string]any{"in": map[string]any{"model": "churn", "run": "datasetversion:customers/1", "artifactUri": "s3://m/a"}}, "BAD_USER_INPUT", "run"},
		{"param key with newline", startRun, map[string]any{"in": map[string]any{"experiment": "e", "params": []map[string]any{{"key": "a\nb", "value": "1"}}}}, "BAD_USER_INPUT", "params"},
		{"changing a logged param", `mutation($in: LogParamsInput!) { logParams(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"run": "RUN", "params": []map[string]any{{"key": "max_depth", "value": "99"}}}}, "CONFLICT", "params.max_depth"},
		{"too many points", logMetrics, map[string]any{"in": map[string]any{"run": "RUN", "points": many}}, "BAD_USER_INPUT", "points"},
		{"point without a value", logMetrics, map[string]any{"in": map[string]any{"run": "RUN", "points": []map[string]any{{"key": "a", "value": 1}, {"key": "b"}}}}, "BAD_USER_INPUT", "points[1].value"},
		{"point with a bad key", logMetrics, map[string]any{"in": map[string]any{"run": "RUN", "points": []map[string]any{{"key": "a\u0000", "value": 1}}}}, "BAD_USER_INPUT", "points[0].key"},
		{"too many metric points", logMetrics, map[string]any{"in": map[string]any{"run": "RUN", "metrics": many}}, "BAD_USER_INPUT", "metrics"},
		{"unknown model", transition, map[string]any{"in": map[string]any{"model": "nope", "version": 1, "stage": "PRODUCTION"}}, "NOT_FOUND", "model"},
		{"unknown version", transition, map[string]any{"in": map[string]any{"model": "churn", "version": 99, "stage": "PRODUCTION"}}, "NOT_FOUND", "version"},
		{"stale expectedStage", transition, map[string]any{"in": map[string]any{"model": "churn", "version": 1, "stage": "PRODUCTION", "expectedStage": "STAGING"}}, "CONFLICT", "expectedStage"},
		{"bad filter", `{ runs(filter: "metrics.auc >") { edges { node { id } } } }`, nil, "BAD_USER_INPUT", "filter"},
		{"bad orderBy", `{ runs(orderBy: ["metrics.auc SIDEWAYS"]) { edges { node { id } } } }`, nil, "BAD_USER_INPUT", "orderBy"},
		{"lineage of nothing", `{ lineage(of: "dataset:nope") { truncated } }`, nil, "NOT_FOUND", "of"},
		{"malformed id", `{ lineage(of: "no-kind-here") { truncated } }`, nil, "BAD_USER_INPUT", "of"},
		{"hard delete of a model version's run", `mutation($id: ID!) { deleteNode(input: {id: $id, hard: true}) }`, map[string]any{"id": "RUN"}, "CONFLICT", "id"},
		{"hard delete upstream of Production", `mutation { deleteNode(input: {id: "datasetversion:customers/1", hard: true}) }`, nil, "CONFLICT", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "hard delete upstream of Production" {
				if _, errs := f.transition(t, 1, "PRODUCTION", nil); errs != nil {
					t.Fatal(errs)
				}
			}
			vars := replaceRun(tt.vars, f.runs[1])
			before := snapshot(t, c)
			_, errs := c.do(t, tt.query, vars)
			if len(errs) != 1 {
				t.Fatalf("got errors %+v, want one %s", errs, tt.code)
			}
			if got := errs[0].Extensions; got.Code != tt.code || got.Field != tt.field {
				t.Errorf("got code %q field %q (%s), want code %q field %q", got.Code, got.Field, errs[0].Message, tt.code, tt.field)
			}
			if tt.field != "" && !strings.Contains(errs[0].Message, tt.field) {
				t.Errorf("message %q does not name the field %q", errs[0].Message, tt.field)
			}
			if after := snapshot(t, c); after != before {
				t.Errorf("a rejected request changed stored data")
			}
		})
	}
}

// replaceRun puts a real run ID where a test case says "RUN".
func replaceRun(vars map[string]any, run string) map[string]any {
	b, _ := json.Marshal(vars)
	var out map[string]any
	_ = json.Unmarshal([]byte(strings.ReplaceAll(string(b), `"RUN"`, `"`+run+`"`)), &out)
	return out
}

// GraphQL abuse (SECURITY.md) aimed at mutations is refused before anything
// runs: the store is unchanged and the mutation's dataset never appears.
func TestAbuseWritesNothing(t *testing.T) {
	m := MustServe(t, t.TempDir())
	c := newClient(m.URL())
	register := `registerDatasetVersion(input: {dataset: "abuse", digest: "` + sha("abuse") + `"}) { id }`
	var aliases, deep strings.Builder
	for i := range 31 {
		fmt.Fprintf(&aliases, "a%d: %s ", i, register)
	}
	deep.WriteString(`registerDatasetVersion(input: {dataset: "abuse", digest: "` + sha("abuse") + `"}) { dataset ` +
		strings.Repeat("{ versions { nodes { dataset ", 5) + "{ id }" + strings.Repeat(" } } }", 5) + " }")
	post := func(contentType, body string) *http.Response {
		resp, err := c.http.Post(c.url, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	query := func(q string) string { b, _ := json.Marshal(map[string]string{"query": q}); return string(b) }
	if _, errs := c.do(t, "mutation { "+deep.String()+" }", nil); len(errs) == 0 || errs[0].Extensions.Code != "DEPTH_LIMIT_EXCEEDED" {
		t.Fatalf("the deep mutation: %+v, want DEPTH_LIMIT_EXCEEDED", errs)
	}
	tests := []struct {
		name string
		send func() *http.Response
	}{
		{"too many aliases", func() *http.Response { return post("application/json", query("mutation { "+aliases.String()+"}")) }},
		{"too deep", func() *http.Response { return post("application/json", query("mutation { "+deep.String()+" }")) }},
		{"body over 1 MiB", func() *http.Response {
			return post("application/json", query("mutation { " + register + " }")[:10]+strings.Repeat(" ", 1<<20)+query("mutation { " + register + " }")[10:])
		}},
		{"JSON array batch", func() *http.Response {
			return post("application/json", "["+query("mutation { "+register+" }")+"]")
		}},
		{"text/plain (CSRF)", func() *http.Response { return post("text/plain", query("mutation { "+register+" }")) }},
		{"form (CSRF)", func() *http.Response {
			return post("application/x-www-form-urlencoded", "query="+url.QueryEscape("mutation { "+register+" }"))
		}},
		{"GET mutation", func() *http.Response {
			resp, err := c.http.Get(c.url + "?query=" + url.QueryEscape("mutation { "+register+" }"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, c)
			tt.send()
			if after := snapshot(t, c); after != before {
				t.Errorf("refused request changed stored data")
			}
			if _, errs := c.do(t, `{ dataset(name: "abuse") { id } }`, nil); len(errs) == 0 || errs[0].Extensions.Code != "NOT_FOUND" {
				t.Errorf("dataset written by a refused mutation: %+v", errs)
			}
		})
	}
	// Control: the same mutation, sent properly, writes.
	c.must(t, "mutation { "+register+" }", nil, nil)
	c.must(t, `{ dataset(name: "abuse") { id } }`, nil, nil)
}
