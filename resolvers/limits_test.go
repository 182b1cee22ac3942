package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Every limit rejects before any resolver runs: the stub counts Service calls.

func TestBodyTooLarge(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	pad := strings.Repeat(" ", DefaultMaxBodyBytes)
	r := s.postRaw(t, "application/json", `{"query":"{ __typename }"`+pad+`}`)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413: %s", r.Status, r.Raw)
	}
	if got, want := r.code(), CodeBadRequest; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	// Just under the limit is fine.
	r = s.postRaw(t, "application/json", `{"query":"{ __typename }"`+pad[:DefaultMaxBodyBytes-64]+`}`)
	if r.Status != http.StatusOK {
		t.Errorf("status under the limit = %d, want 200: %.200s", r.Status, r.Raw)
	}
}

func TestParserTokenLimit(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	q := "{ __typename " + strings.Repeat("__typename ", DefaultParserTokenLimit) + "}"
	r := s.post(t, q, nil)
	if got, want := r.code(), "GRAPHQL_PARSE_FAILED"; got != want {
		t.Fatalf("code = %q, want %q: %.300s", got, want, r.Raw)
	}
	if !strings.Contains(r.Errors[0].Message, "token limit") {
		t.Errorf("message = %q, want it to name the token limit", r.Errors[0].Message)
	}
}

// nest returns a selection nested depth levels deep through Run.parent.
func nest(depth int) string {
	return "{ run(id: \"run:x\") " + strings.Repeat("{ parent ", depth-2) + "{ id }" + strings.Repeat(" }", depth-2) + " }"
}

func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		depth    int
		wantCode string
	}{
		{DefaultMaxDepth, "INTERNAL"}, // allowed: reaches the stub, which has no Run
		{DefaultMaxDepth + 1, CodeDepthLimit},
		{200, CodeDepthLimit},
	} {
		t.Run(fmt.Sprint(tc.depth), func(t *testing.T) {
			s := newTestServer(t, nil, Options{})
			r := s.post(t, nest(tc.depth), nil)
			if got := r.code(); got != tc.wantCode {
				t.Fatalf("code = %q, want %q: %.300s", got, tc.wantCode, r.Raw)
			}
			if tc.wantCode == CodeDepthLimit && r.Status != http.StatusUnprocessableEntity {
				t.Errorf("status = %d, want 422", r.Status)
			}
		})
	}
}

func TestDepthLimitThroughFragments(t *testing.T) {
	s := newTestServer(t, nil, Options{MaxDepth: 4})
	q := `query { run(id: "run:x") { ...A } }
fragment A on Run { parent { ...B } }
fragment B on Run { parent { parent { id } } }`
	if got, want := s.post(t, q, nil).code(), CodeDepthLimit; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if n := s.svc.calls.Load(); n != 0 {
		t.Errorf("Service called %d times, want 0", n)
	}
}

func TestAliasLimit(t *testing.T) {
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: dataset(name: \"d%d\") { id } ", i, i)
		}
		b.WriteString("}")
		return b.String()
	}
	s := newTestServer(t, nil, Options{MaxRootFields: 1000})
	if r := s.post(t, aliases(DefaultMaxAliases), nil); len(r.Errors) != 0 {
		t.Fatalf("%d aliases refused: %.300s", DefaultMaxAliases, r.Raw)
	}
	calls := s.svc.calls.Load()
	r := s.post(t, aliases(DefaultMaxAliases+1), nil)
	if got, want := r.code(), CodeAliasLimit; got != want {
		t.Fatalf("code = %q, want %q: %.300s", got, want, r.Raw)
	}
	if n := s.svc.calls.Load() - calls; n != 0 {
		t.Errorf("Service called %d times, want 0", n)
	}
	// Aliases hidden in a fragment count towards the selection set they are spread in.
	q := "query { ...F } fragment F on Query { " + strings.TrimPrefix(aliases(DefaultMaxAliases+1), "{ ")
	if got, want := s.post(t, q, nil).code(), CodeAliasLimit; got != want {
		t.Errorf("through a fragment: code = %q, want %q", got, want)
	}
}

func TestRootFieldLimit(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	q := "{ " + strings.Repeat("__typename ", DefaultMaxRootFields+1) + "}"
	if got, want := s.post(t, q, nil).code(), CodeRootFieldLimit; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
}

func TestFieldLimitFragmentFanOut(t *testing.T) {
	// Each fragment spreads the next ten times: 10^6 fields once expanded,
	// from a document of a few hundred tokens. The check itself must stay cheap.
	var b strings.Builder
	b.WriteString("query { run(id: \"run:x\") { ...F0 } }\n")
	for i := range 6 {
		fmt.Fprintf(&b, "fragment F%d on Run { id ", i)
		for range 10 {
			if i < 5 {
				fmt.Fprintf(&b, "...F%d ", i+1)
			}
		}
		b.WriteString("}\n")
	}
	s := newTestServer(t, nil, Options{})
	r := s.post(t, b.String(), nil)
	if got, want := r.code(), CodeFieldLimit; got != want {
		t.Errorf("code = %q, want %q: %.300s", got, want, r.Raw)
	}
}

func TestComplexityLimit(t *testing.T) {
	s := newTestServer(t, nil, Options{})
	// 1,000 runs × 1,000 history points.
	q := `{ runs(first: 1000) { nodes { metricHistory(key: "loss", first: 1000) { step value } } } }`
	r := s.post(t, q, nil)
	if got, want := r.code(), CodeComplexityLimit; got != want {
		t.Fatalf("code = %q, want %q: %.300s", got, want, r.Raw)
	}
	if n := s.svc.calls.Load(); n != 0 {
		t.Errorf("Service called %d times, want 0", n)
	}
	// Lists without a size argument count ListEstimate each: nesting them multiplies.
	q = `{ runs(first: 1000) { nodes { inputs { node { ... on Run { inputs { node { id } } } } } } } }`
	if got, want := s.post(t, q, nil).code(), CodeComplexityLimit; got != want {
		t.Errorf("nested lists: code = %q, want %q", got, want)
	}
	// An ordinary page is well within the limit.
	q = `{ runs(first: 100) { nodes { id params { key value } metrics { key last } } } }`
	if r := s.post(t, q, nil); len(r.Errors) != 0 {
		t.Errorf("a page of 100 runs refused: %.300s", r.Raw)
	}
}

func TestFirstClamped(t *testing.T) {
	var got []int
	svc := &stubService{runs: func(_ context.Context, in lineage.RunsInput) (*lineage.RunsPage, error) {
		got = append(got, in.Page.First)
		return &lineage.RunsPage{}, nil
	}}
	s := newTestServer(t, svc, Options{})
	for _, q := range []string{
		`{ runs { nodes { id } } }`,
		`{ runs(first: 10) { nodes { id } } }`,
		`{ runs(first: 1000000) { nodes { id } } }`,
	} {
		if r := s.post(t, q, nil); len(r.Errors) != 0 {
			t.Fatalf("%s: %s", q, r.Raw)
		}
	}
	want := []int{lineage.DefaultPageSize, 10, lineage.MaxPageSize}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Service got first = %v, want %v", got, want)
	}
	r := s.post(t, `{ runs(first: 0) { nodes { id } } }`, nil)
	if r.code() != lineage.EINVALID || r.Errors[0].Extensions["field"] != "first" {
		t.Errorf("first: 0 gave %s, want BAD_USER_INPUT on field first", r.Raw)
	}
}

func TestTimeout(t *testing.T) {
	svc := &stubService{dataset: func(ctx context.Context, _ string) (*lineage.Dataset, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("store: read: %w", ctx.Err())
	}}
	s := newTestServer(t, svc, Options{Timeout: 20e6}) // 20 ms
	r := s.post(t, `{ dataset(name: "slow") { id } }`, nil)
	if got, want := r.code(), CodeTimeout; got != want {
		t.Errorf("code = %q, want %q: %s", got, want, r.Raw)
	}
}
