package lineage

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMetricValueJSON(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"Infinity"`}, {math.Inf(-1), `"-Infinity"`},
		{0, `0`}, {math.Copysign(0, -1), `-0`}, {0.1, `0.1`}, {1e21, `1e+21`}, {1e20, `100000000000000000000`},
		{1e-7, `1e-7`}, {5e-324, `5e-324`}, {-math.MaxFloat64, `-1.7976931348623157e+308`}, {42, `42`},
	} {
		got, err := json.Marshal(MetricValue(c.v))
		if err != nil || string(got) != c.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.v, got, err, c.want)
			continue
		}
		var back MetricValue
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("Unmarshal(%s): %v", got, err)
		} else if math.Float64bits(float64(back)) != math.Float64bits(c.v) && !(math.IsNaN(c.v) && math.IsNaN(float64(back))) {
			t.Errorf("Unmarshal(%s) = %v, want %v", got, back, c.v)
		}
	}
	// Finite values are written as encoding/json writes a float64.
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		got, _ := json.Marshal(MetricValue(f))
		want, _ := json.Marshal(f)
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal(%v) = %s, encoding/json writes %s", f, got, want)
		}
	}
	for _, bad := range []string{`"nan"`, `"Inf"`, `null`, `true`, `{}`, `1e400`} {
		var v MetricValue
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, v)
		}
	}
}

// The format is a contract with other versions and backends: these lines
// are what it is.
func TestRecordFormat(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	deleted := time.Date(2026, 3, 2, 10, 0, 0, 500, paris)
	for _, c := range []struct {
		r    *Record
		want string
	}{
		{&Record{Node: &Node{ID: "dataset:a", Kind: KindDataset, Name: "a", Props: json.RawMessage(`{"name":"a","description":"<b>&</b>"}`),
			CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, paris), DeletedAt: &deleted}},
			`{"node":{"id":"dataset:a","kind":"Dataset","name":"a","props":{"name":"a","description":"<b>&</b>"},"createdAt":"2026-03-01T09:00:00Z","updatedAt":"2026-03-01T09:00:00Z","deletedAt":"2026-03-02T09:00:00.0000005Z"}}`},
		{&Record{Edge: &Edge{From: "run:r", To: "split:a/1/train", Type: EdgeUsed, Role: "train", CreatedAt: time.Unix(1, 0).UTC()}},
			`{"edge":{"from":"run:r","to":"split:a/1/train","type":"USED","role":"train","createdAt":"1970-01-01T00:00:01Z"}}`},
		{&Record{RunData: &RunKV{Run: "run:r", Params: map[string]string{"lr": "0.1", "a": "x"}}},
			`{"runData":{"run":"run:r","params":{"a":"x","lr":"0.1"}}}`},
		{&Record{Metrics: &MetricSeries{Run: "run:r", Key: "loss", Points: []DumpPoint{
			{Step: 1, Timestamp: time.Date(2026, 3, 1, 10, 0, 0, 0, paris), Value: MetricValue(math.NaN())}, {Step: 2, Value: 0.5}}}},
			`{"metrics":{"run":"run:r","key":"loss","points":[{"step":1,"timestamp":"2026-03-01T09:00:00Z","value":"NaN"},{"step":2,"timestamp":"0001-01-01T00:00:00Z","value":0.5}]}}`},
		{&Record{Transition: &Transition{ModelVersion: "modelversion:m/1", From: StageNone, To: StageProduction, Actor: "ann", At: time.Unix(0, 0).UTC(), Rollback: true}},
			`{"transition":{"modelVersion":"modelversion:m/1","from":"NONE","to":"PRODUCTION","actor":"ann","at":"1970-01-01T00:00:00Z","rollback":true}}`},
		{&Record{Idempotency: &IdempotencyRecord{Key: "natural:x", Operation: "natural", Result: "dataset:a", CreatedAt: time.Unix(0, 0).UTC()}},
			`{"idempotency":{"key":"natural:x","operation":"natural","result":"dataset:a","createdAt":"1970-01-01T00:00:00Z"}}`},
		{&Record{Counter: &Counter{Name: "model:m", Value: 3}}, `{"counter":{"name":"model:m","value":3}}`},
		{&Record{Event: &Event{Seq: 1, ID: "e", Model: "m", ModelSeq: 1, Type: EventAliasSet, Payload: json.RawMessage(`{"alias":"x"}`), CreatedAt: time.Unix(0, 0).UTC()}},
			`{"event":{"seq":1,"id":"e","model":"m","modelSeq":1,"type":"ALIAS_SET","payload":{"alias":"x"},"createdAt":"1970-01-01T00:00:00Z"}}`},
	} {
		got, err := c.r.MarshalJSON() // json.Marshal would escape <, > and & again
		if err != nil {
			t.Errorf("Marshal(%s): %v", c.r.describe(), err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("Marshal(%s):\n got %s\nwant %s", c.r.describe(), got, c.want)
		}
		var back Record
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("Unmarshal(%s): %v", got, err)
			continue
		}
		if again, _ := back.MarshalJSON(); !bytes.Equal(again, got) {
			t.Errorf("round trip of %s gives %s", got, again)
		}
	}
}

func TestDumpWriterReader(t *testing.T) {
	var buf bytes.Buffer
	w := NewDumpWriter(&buf)
	recs := []*Record{
		{Counter: &Counter{Name: "model:a", Value: 1}},
		{Counter: &Counter{Name: "model:b", Value: 2}},
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(&Record{}); ErrorCode(err) != EINVALID {
		t.Errorf("Write(empty record) = %v, want EINVALID", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "{\"pedigreeDump\":1}\n{\"counter\":{\"name\":\"model:a\",\"value\":1}}\n{\"counter\":{\"name\":\"model:b\",\"value\":2}}\n{\"pedigreeDumpEnd\":{\"records\":2}}\n"
	if buf.String() != want {
		t.Errorf("dump =\n%s\nwant\n%s", buf.String(), want)
	}
	r := NewDumpReader(bytes.NewReader(buf.Bytes()))
	for i := range 2 {
		rec, err := r.Next()
		if err != nil || rec.Counter == nil || rec.Counter.Value != int64(i+1) {
			t.Fatalf("Next() = %+v, %v", rec, err)
		}
	}
	for range 2 {
		if rec, err := r.Next(); err != io.EOF {
			t.Errorf("Next() at the end = %+v, %v; want io.EOF", rec, err)
		}
	}

	var empty bytes.Buffer
	w = NewDumpWriter(&empty)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rec, err := NewDumpReader(&empty).Next(); err != io.EOF {
		t.Errorf("Next() on an empty dump = %+v, %v; want io.EOF", rec, err)
	}
}

func TestDumpReaderErrors(t *testing.T) {
	const (
		head = "{\"pedigreeDump\":1}\n"
		c1   = "{\"counter\":{\"name\":\"model:a\",\"value\":1}}\n"
	)
	end := func(n int) string { return "{\"pedigreeDumpEnd\":{\"records\":" + string(rune('0'+n)) + "}}\n" }
	for _, c := range []struct {
		name, in, want string
	}{
		{"empty", "", "dump line 1: empty input"},
		{"not a dump", "{\"node\":{}}\n", "dump line 1: not a Pedigree dump"},
		{"not JSON", "PK\x03\x04\n", "dump line 1: not a Pedigree dump"},
		{"newer version", "{\"pedigreeDump\":2}\n" + c1 + end(1), "dump line 1: dump format version 2 is not supported"},
		{"no field", head + c1 + "{}\n" + end(2), "dump line 3: record has no field set"},
		{"two fields", head + "{\"counter\":{\"name\":\"a\",\"value\":1},\"edge\":{\"from\":\"a\",\"to\":\"b\",\"type\":\"USED\",\"createdAt\":\"2026-03-01T00:00:00Z\"}}\n" + end(1),
			"dump line 2: record has 2 fields set (edge, counter)"},
		{"unknown record", head + "{\"nodes\":{}}\n" + end(1), "dump line 2: json: unknown field \"nodes\""},
		{"unknown field", head + "{\"counter\":{\"name\":\"a\",\"value\":1,\"x\":2}}\n" + end(1), "dump line 2: json: unknown field \"x\""},
		{"bad metric value", head + "{\"metrics\":{\"run\":\"run:r\",\"key\":\"k\",\"points\":[{\"step\":1,\"timestamp\":\"2026-03-01T00:00:00Z\",\"value\":\"nan\"}]}}\n" + end(1),
			"dump line 2: metric value \"nan\""},
		{"bad time", head + "{\"edge\":{\"from\":\"a\",\"to\":\"b\",\"type\":\"USED\",\"createdAt\":\"yesterday\"}}\n" + end(1), "dump line 2: parsing time"},
		{"node of unknown kind", head + "{\"node\":{\"id\":\"x:y\",\"kind\":\"Thing\",\"createdAt\":\"2026-03-01T00:00:00Z\",\"updatedAt\":\"2026-03-01T00:00:00Z\"}}\n" + end(1),
			"dump line 2: node record: needs an id and a known kind"},
		{"two values on a line", head + strings.TrimSuffix(c1, "\n") + c1 + end(1), "dump line 2: unexpected data after the JSON object"},
		{"truncated at a line end", head + c1 + c1, "dump line 4: the dump ends without its end line, after 2 records"},
		{"truncated in a line", head + c1 + c1[:20], "dump line 3: the last line is cut short"},
		{"wrong count", head + c1 + end(2), "dump line 3: the end line counts 2 records, the dump has 1"},
		{"data after the end", head + c1 + end(1) + c1, "dump line 4: data after the end line"},
	} {
		r := NewDumpReader(strings.NewReader(c.in))
		var err error
		for range 10 {
			if _, err = r.Next(); err != nil {
				break
			}
		}
		if err == io.EOF || err == nil || !strings.Contains(ErrorMessage(err), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		} else if ErrorCode(err) != EINVALID {
			t.Errorf("%s: code %s, want %s", c.name, ErrorCode(err), EINVALID)
		}
	}
}

func TestMetricChunker(t *testing.T) {
	var got []*MetricSeries
	c := NewMetricChunker(func(r *Record) error { got = append(got, r.Metrics); return nil })
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	add := func(run ID, key string, step int64, v float64) {
		t.Helper()
		if err := c.Add(run, key, DumpPoint{Step: step, Timestamp: t0, Value: MetricValue(v)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2500 {
		add("run:a", "loss", int64(i), 1)
	}
	add("run:a", "loss", 2499, 1) // a repeat starts a record
	add("run:a", "loss", 2500, 1)
	add("run:a", "zeta", 0, 1) // a new key starts one
	add("run:b", "zeta", 0, 1) // a new run too
	add("run:b", "zeta", 0, math.NaN())
	add("run:b", "zeta", 0, math.NaN())
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, m := range got {
		sizes = append(sizes, len(m.Points))
	}
	if want := []int{1000, 1000, 500, 2, 1, 2, 1}; !slices.Equal(sizes, want) {
		t.Errorf("record sizes %v, want %v", sizes, want)
	}
	if err := c.Add("run:b", "zeta", DumpPoint{Step: 5, Timestamp: t0}); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("run:b", "zeta", DumpPoint{Step: 4, Timestamp: t0}); err == nil {
		t.Errorf("Add of a point out of order: no error")
	}
}
