package resolvers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

func TestErrorPresenter(t *testing.T) {
	const secret = `SELECT token FROM api_tokens WHERE id = 7 /* /var/lib/pedigree/pedigree.db */`
	for _, tc := range []struct {
		name      string
		err       error
		wantCode  string
		wantField string
		wantMsg   string // substring
		wantLog   bool   // an internal error is logged with the original
	}{
		{"invalid", lineage.Invalid("name", "must be at most %d characters", lineage.MaxNameLen),
			lineage.EINVALID, "name", "name: must be at most 128 characters", false},
		{"invalid nested field", &lineage.Error{Code: lineage.EINVALID, Field: "splits[2].digest", Message: "splits[2].digest: is required"},
			lineage.EINVALID, "splits[2].digest", "is required", false},
		{"not found", lineage.Errorf(lineage.ENOTFOUND, "name: %q not found", "x"), lineage.ENOTFOUND, "", `"x" not found`, false},
		{"not found naming the input", &lineage.Error{Code: lineage.ENOTFOUND, Field: "run", Message: "run: run:x not found"},
			lineage.ENOTFOUND, "run", "not found", false},
		{"conflict naming the input", &lineage.Error{Code: lineage.ECONFLICT, Field: "expectedStage", Message: "expectedStage: v1 is in NONE"},
			lineage.ECONFLICT, "expectedStage", "is in NONE", false},
		{"conflict", lineage.Errorf(lineage.ECONFLICT, "version 3 is not in STAGING"), lineage.ECONFLICT, "", "not in STAGING", false},
		{"forbidden", lineage.Errorf(lineage.EFORBIDDEN, "forbidden"), lineage.EFORBIDDEN, "", "forbidden", false},
		{"wrapped lineage error", fmt.Errorf("loading: %w", lineage.Errorf(lineage.ENOTFOUND, "gone")), lineage.ENOTFOUND, "", "gone", false},
		{"internal lineage error", lineage.Errorf(lineage.EINTERNAL, "sqlite: %s: disk I/O error", secret), lineage.EINTERNAL, "", "internal error (request id ", true},
		{"plain error", errors.New("pq: " + secret), lineage.EINTERNAL, "", "internal error (request id ", true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), CodeTimeout, "", "time limit", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &stubService{dataset: func(context.Context, string) (*lineage.Dataset, error) { return nil, tc.err }}
			s := newTestServer(t, svc, Options{})
			r := s.post(t, `{ dataset(name: "x") { id } other: __typename }`, nil)
			if r.Status != http.StatusOK {
				t.Errorf("status = %d, want 200", r.Status)
			}
			if len(r.Errors) != 1 {
				t.Fatalf("want one error, got %s", r.Raw)
			}
			e := r.Errors[0]
			if got := r.code(); got != tc.wantCode {
				t.Errorf("code = %q, want %q", got, tc.wantCode)
			}
			if got, _ := e.Extensions["field"].(string); got != tc.wantField {
				t.Errorf("field = %q, want %q", got, tc.wantField)
			}
			if !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.wantMsg)
			}
			if fmt.Sprint(e.Path) != "[dataset]" {
				t.Errorf("path = %v, want [dataset]", e.Path)
			}
			if r.Data["other"] != "Query" {
				t.Errorf("sibling field lost: data = %v", r.Data)
			}
			if strings.Contains(r.Raw, "SELECT") || strings.Contains(r.Raw, "/var/lib") || strings.Contains(r.Raw, "pedigree error") {
				t.Errorf("response leaks internal detail: %s", r.Raw)
			}
			logs := s.logs.String()
			if got := strings.Count(logs, "graphql internal error"); tc.wantLog && got != 1 {
				t.Errorf("internal error logged %d times, want once:\n%s", got, logs)
			} else if !tc.wantLog && got != 0 {
				t.Errorf("non-internal error logged as internal:\n%s", logs)
			}
			if tc.wantLog {
				id := strings.TrimSuffix(strings.TrimPrefix(e.Message, "internal error (request id "), ")")
				if !strings.Contains(logs, `"request_id":"`+id+`"`) || !strings.Contains(logs, "api_tokens") {
					t.Errorf("log does not hold the request id %q and the original error:\n%s", id, logs)
				}
			}
		})
	}
}

// A failing loader reaches every field waiting on it; the error is logged once.
func TestInternalErrorLoggedOnce(t *testing.T) {
	svc := &stubService{
		runs: func(context.Context, lineage.RunsInput) (*lineage.RunsPage, error) {
			return &lineage.RunsPage{Runs: []*lineage.Run{
				{Meta: lineage.Meta{ID: "run:a"}}, {Meta: lineage.Meta{ID: "run:b"}}, {Meta: lineage.Meta{ID: "run:c"}},
			}}, nil
		},
		runData: func(context.Context, []lineage.ID) (map[lineage.ID]*lineage.RunData, error) {
			return nil, errors.New("sqlite: SELECT params FROM run_params: database disk image is malformed")
		},
	}
	s := newTestServer(t, svc, Options{})
	r := s.post(t, `{ runs { nodes { id params { key } } } }`, nil)
	if r.code() != lineage.EINTERNAL || strings.Contains(r.Raw, "SELECT") {
		t.Fatalf("want a scrubbed INTERNAL error, got %s", r.Raw)
	}
	if got := strings.Count(s.logs.String(), "graphql internal error"); got != 1 {
		t.Errorf("logged %d times, want once", got)
	}
}

func TestPanicRecovered(t *testing.T) {
	svc := &stubService{dataset: func(context.Context, string) (*lineage.Dataset, error) {
		panic("boom: the store handle was nil")
	}}
	s := newTestServer(t, svc, Options{})
	r := s.post(t, `{ dataset(name: "x") { id } }`, nil)
	if got := r.code(); got != lineage.EINTERNAL {
		t.Fatalf("code = %q, want INTERNAL: %s", got, r.Raw)
	}
	if strings.Contains(r.Raw, "boom") || strings.Contains(r.Raw, "goroutine") {
		t.Errorf("response leaks the panic: %s", r.Raw)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "boom: the store handle was nil") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic and stack not logged:\n%s", logs)
	}
	// The server is still serving.
	if r := s.post(t, `{ __typename }`, nil); len(r.Errors) != 0 || r.Data["__typename"] != "Query" {
		t.Errorf("after a panic: %s", r.Raw)
	}
}

// gqlgen's own parse and validation errors keep their codes.
func TestFrameworkErrorCodes(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	for _, tc := range []struct{ query, code string }{
		{`{ dataset(name: "x") { id }`, "GRAPHQL_PARSE_FAILED"},
		{`{ dataset(name: "x") { nope } }`, "GRAPHQL_VALIDATION_FAILED"},
		{`{ dataset(name: 7) { id } }`, "GRAPHQL_VALIDATION_FAILED"},
		{`query Q($n: Int!) { runs(first: $n) { nodes { id } } }`, "GRAPHQL_VALIDATION_FAILED"}, // missing variable
	} {
		r := s.post(t, tc.query, nil)
		if got := r.code(); got != tc.code {
			t.Errorf("%s: code = %q, want %q (%s)", tc.query, got, tc.code, r.Raw)
		}
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status = %d, want 422", tc.query, r.Status)
		}
	}
}

// Custom scalars refuse bad input as BAD_USER_INPUT naming the argument.
func TestScalarInputErrors(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	for _, tc := range []struct {
		query string
		vars  map[string]any
		field string
	}{
		{`{ lineage(of: "model:x", asOf: "yesterday") { truncated } }`, nil, "asOf"},
		{`query($t: Time) { lineage(of: "model:x", asOf: $t) { truncated } }`, map[string]any{"t": 12}, "asOf"},
		{`{ events(afterSeq: "twelve") { id } }`, nil, "afterSeq"},
		{`mutation($m: [MetricPointInput!]!) { logMetrics(input: {run: "run:x", metrics: $m}) }`,
			map[string]any{"m": []any{map[string]any{"key": "loss", "value": 1, "step": 1.5}}}, "step"},
	} {
		r := s.post(t, tc.query, tc.vars)
		if r.code() != lineage.EINVALID {
			t.Errorf("%s: code = %q, want BAD_USER_INPUT (%s)", tc.query, r.code(), r.Raw)
			continue
		}
		if got := r.Errors[0].Extensions["field"]; got != tc.field {
			t.Errorf("%s: field = %v, want %q", tc.query, got, tc.field)
		}
	}
	if n := s.svc.mutations.Load(); n != 0 {
		t.Errorf("a mutation with bad input ran %d times", n)
	}
}

func TestNoFieldSuggestions(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	for _, q := range []string{
		`{ datasetz(name: "x") { id } }`,      // misspelled root field
		`{ dataset(name: "x") { nam } }`,      // misspelled field
		`{ dataset(name: "x") }`,              // object without selection
		`{ dataset(name: "x") { id { a } } }`, // selection on a scalar
	} {
		r := s.post(t, q, nil)
		if len(r.Errors) == 0 {
			t.Fatalf("%s: no error", q)
		}
		for _, e := range r.Errors {
			if strings.Contains(strings.ToLower(e.Message), "did you mean") {
				t.Errorf("%s: suggestion in %q", q, e.Message)
			}
		}
	}
}
