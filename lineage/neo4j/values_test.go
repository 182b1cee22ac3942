package neo4j

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/dbtype"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/lineage/internal/metric"
)

// The driver's values, as it returns them, mapped to domain values.

func TestNodeRoundTrip(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	deleted := created.Add(time.Hour)
	n := &lineage.Node{ID: "run:abc", Kind: lineage.KindRun, Parent: "experiment:churn", Name: "Ünïcode Run",
		Props:     json.RawMessage(`{"status":"FINISHED","name":"r1","startedAt":"2026-03-01T12:00:00.5+02:00","big":9007199254740993}`),
		CreatedAt: created, UpdatedAt: created, DeletedAt: &deleted}
	props := nodeProps(n, 42)
	if props["nameFold"] != "ünïcode run" || props["seq"] != int64(42) {
		t.Errorf("nameFold %q seq %v", props["nameFold"], props["seq"])
	}
	if props["runStatus"] != "FINISHED" || props["runName"] != "r1" || props["runExperiment"] != nil {
		t.Errorf("run attributes: %v %v %v", props["runStatus"], props["runName"], props["runExperiment"])
	}
	if got := props["runStartedAt"].(time.Time); !got.Equal(time.Date(2026, 3, 1, 10, 0, 0, 5e8, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("runStartedAt = %v, want the instant in UTC", got)
	}
	// What Neo4j gives back: a DateTime in the zone it was written with,
	// nulls for absent properties left out.
	stored := map[string]any{}
	for k, v := range props {
		if v != nil {
			stored[k] = v
		}
	}
	stored["createdAt"] = created.In(time.FixedZone("", 5*3600))
	got, err := decodeNode(dbtype.Node{Props: stored})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(n, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(got.Props), "9007199254740993") {
		t.Errorf("a large integer in props lost precision: %s", got.Props)
	}
}

func TestNodeWithoutOptionalProperties(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := decodeNode(map[string]any{"id": "dataset:x", "kind": "Dataset", "parent": "", "name": "x",
		"createdAt": at, "updatedAt": at})
	if err != nil {
		t.Fatal(err)
	}
	want := &lineage.Node{ID: "dataset:x", Kind: lineage.KindDataset, Name: "x", CreatedAt: at, UpdatedAt: at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if _, err := decodeNode(map[string]any{"id": "x", "createdAt": "yesterday"}); err == nil {
		t.Error("a string createdAt decoded")
	}
	if _, err := decodeNode([]any{1}); err == nil {
		t.Error("a list decoded as a node")
	}
}

func TestTemporalValues(t *testing.T) {
	instant := time.Date(2026, 11, 22, 8, 30, 0, 999999999, time.UTC)
	for name, tc := range map[string]struct {
		in   any
		want time.Time
	}{
		"DateTime with offset": {instant.In(time.FixedZone("", -7*3600)), instant},
		"DateTime with zone":   {instant.In(time.FixedZone("Europe/Paris", 3600)), instant},
		"LocalDateTime":        {dbtype.LocalDateTime(time.Date(2026, 11, 22, 8, 30, 0, 999999999, time.Local)), instant},
		"unix nanoseconds":     {instant.UnixNano(), instant},
		"null":                 {nil, time.Time{}},
	} {
		got, err := asTime(tc.in)
		if err != nil || !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("%s: asTime = %v, %v; want %v in UTC", name, got, err, tc.want)
		}
	}
	if _, err := asTime(dbtype.Date(instant)); err == nil {
		t.Error("a Date (no time) decoded as an instant")
	}
	if p, err := asTimePtr(nil); p != nil || err != nil {
		t.Errorf("asTimePtr(nil) = %v, %v", p, err)
	}
}

func TestNumbersAndLists(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{int64(math.MaxInt64), math.MaxInt64, true},
		{int64(math.MinInt64), math.MinInt64, true},
		{nil, 0, true},
		{float64(3), 3, true},
		{3.5, 0, false},
		{math.Inf(1), 0, false},
		{"3", 0, false},
	} {
		got, err := asInt(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("asInt(%#v) = %d, %v", tc.in, got, err)
		}
	}
	if f, _ := asFloat(nil); !math.IsNaN(f) {
		t.Errorf("asFloat(null) = %v, want NaN (null stands for NaN)", f)
	}
	if floatOrNil(math.NaN()) != nil || floatOrNil(math.Inf(-1)) != math.Inf(-1) {
		t.Error("floatOrNil: NaN must be null, infinities kept")
	}
	steps, err := asInts([]any{int64(1), int64(1) << 62, int64(-5)})
	if err != nil || !cmp.Equal(steps, []int64{1, 1 << 62, -5}) {
		t.Errorf("asInts = %v, %v", steps, err)
	}
	vals, err := asFloats([]any{1.5, math.Inf(1), math.NaN()})
	if err != nil || len(vals) != 3 || vals[1] != math.Inf(1) || !math.IsNaN(vals[2]) {
		t.Errorf("asFloats = %v, %v", vals, err)
	}
	if _, err := asFloats([]any{1.0, nil}); err == nil {
		t.Error("a null inside a list of metric values decoded")
	}
	if got, err := asInts(nil); err != nil || len(got) != 0 {
		t.Errorf("asInts(null) = %v, %v; want an empty list", got, err)
	}
	if _, err := asInts("1,2"); err == nil {
		t.Error("a string decoded as a list")
	}
}

func TestChunkAndSummaryMapping(t *testing.T) {
	pts, err := decodeChunk([]any{int64(1), int64(2)}, []any{int64(10), int64(20)}, []any{0.5, math.NaN()})
	if err != nil || len(pts) != 2 || pts[1].Step != 2 || pts[1].TS != 20 || !math.IsNaN(pts[1].Value) {
		t.Errorf("decodeChunk = %v, %v", pts, err)
	}
	if _, err := decodeChunk([]any{int64(1)}, []any{}, []any{1.0}); err == nil {
		t.Error("lists of different lengths decoded")
	}
	s := summary{"loss", metric.NewSummary()}
	for _, p := range []point{{Step: 1, TS: 5, Value: 0.9}, {Step: 3, TS: 1, Value: math.NaN()}, {Step: 2, TS: 9, Value: 0.4}, {Step: 3, TS: 1, Value: 0.7}} {
		s.Add(p)
	}
	// Stored with null for NaN, read back from the map Neo4j returns.
	stored := map[string]any{}
	for k, v := range s.props("run:r") {
		if v != nil {
			stored[k] = v
		}
	}
	back, err := decodeSummary(stored)
	if err != nil {
		t.Fatal(err)
	}
	want := lineage.MetricSummary{Key: "loss", Last: 0.7, LastStep: 3, Min: 0.4, Max: 0.9, Count: 4}
	if diff := cmp.Diff(want, back.public()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	nan := summary{"k", metric.NewSummary()}
	nan.Add(point{Step: 1, TS: 1, Value: math.NaN()})
	if p := nan.props("run:r"); p["last"] != nil || p["min"] != nil || p["max"] != nil {
		t.Errorf("NaN summary stored as %v, want nulls", p)
	}
}

func TestEscapeLucene(t *testing.T) {
	for in, want := range map[string]string{
		"churn":        "churn",
		"a b":          `a\ b`,
		`x*?:"(1)"`:    `x\*\?\:\"\(1\)\"`,
		`c:\path/AND`:  `c\:\\path\/AND`,
		"tab\there":    "tab\\\there",
		"ü-ß&&||!^~{}": `ü\-ß\&\&\|\|\!\^\~\{\}`,
	} {
		if got := escapeLucene(in); got != want {
			t.Errorf("escapeLucene(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProductionOf(t *testing.T) {
	mv := func(stage string) *lineage.Node {
		return &lineage.Node{ID: "modelversion:churn/2", Kind: lineage.KindModelVersion, Parent: "model:churn",
			Props: json.RawMessage(`{"model":"churn","version":2,"stage":"` + stage + `"}`)}
	}
	if got := nodeProps(mv("PRODUCTION"), 1)["productionOf"]; got != "model:churn" {
		t.Errorf("a Production version stores productionOf %v, want its model's ID", got)
	}
	for _, stage := range []string{"STAGING", "ARCHIVED", "NONE", "production"} {
		if got, ok := nodeProps(mv(stage), 1)["productionOf"]; ok {
			t.Errorf("a %s version stores productionOf %v", stage, got)
		}
	}
	if inProduction(json.RawMessage(`{"stage":`)) || inProduction(nil) {
		t.Error("unreadable props count as Production")
	}
}
