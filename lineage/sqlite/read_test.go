package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/pedigree-ml/pedigree/lineage"
)

// runDataFromTables reads RunData from run_params, run_tags and
// run_metrics, as RunData did before run_data: the reference run_data
// must agree with.
func runDataFromTables(tb testing.TB, db *sql.DB, ids []lineage.ID) map[lineage.ID]*lineage.RunData {
	tb.Helper()
	out := map[lineage.ID]*lineage.RunData{}
	for _, id := range ids {
		d := &lineage.RunData{Params: map[string]string{}, Tags: map[string]string{}, Metrics: []lineage.MetricSummary{}}
		out[id] = d
		for table, m := range map[string]map[string]string{"run_params": d.Params, "run_tags": d.Tags} {
			rows, err := db.Query(`SELECT t.key, t.value FROM `+table+` t JOIN nodes n ON n.seq = t.run WHERE n.id = ?`, string(id))
			if err != nil {
				tb.Fatal(err)
			}
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					tb.Fatal(err)
				}
				m[k] = v
			}
			rows.Close()
		}
		rows, err := db.Query(`SELECT m.key, m.last, m.last_step, m.min, m.max, m.count FROM run_metrics m
			JOIN nodes n ON n.seq = m.run WHERE n.id = ? ORDER BY m.key`, string(id))
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var (
				m            lineage.MetricSummary
				last, lo, hi sql.NullFloat64
			)
			if err := rows.Scan(&m.Key, &last, &m.LastStep, &lo, &hi, &m.Count); err != nil {
				tb.Fatal(err)
			}
			m.Last, m.Min, m.Max = nanIfNull(last), nanIfNull(lo), nanIfNull(hi)
			d.Metrics = append(d.Metrics, m)
		}
		rows.Close()
	}
	return out
}

// sameRunData compares RunData with NaN equal to NaN and floats bit for bit.
func sameRunData(a, b map[lineage.ID]*lineage.RunData) bool {
	if len(a) != len(b) {
		return false
	}
	bits := func(f float64) uint64 {
		if math.IsNaN(f) {
			return 1<<64 - 1
		}
		return math.Float64bits(f)
	}
	for id, x := range a {
		y, ok := b[id]
		if !ok || !reflect.DeepEqual(x.Params, y.Params) || !reflect.DeepEqual(x.Tags, y.Tags) || len(x.Metrics) != len(y.Metrics) ||
			x.Params == nil || x.Tags == nil || x.Metrics == nil {
			return false
		}
		for i, m := range x.Metrics {
			n := y.Metrics[i]
			if m.Key != n.Key || m.LastStep != n.LastStep || m.Count != n.Count ||
				bits(m.Last) != bits(n.Last) || bits(m.Min) != bits(n.Min) || bits(m.Max) != bits(n.Max) {
				return false
			}
		}
	}
	return true
}

func dumpRunData(m map[lineage.ID]*lineage.RunData) string {
	var b strings.Builder
	for _, id := range slices.Sorted(func(yield func(lineage.ID) bool) {
		for id := range m {
			if !yield(id) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "%s: %q %q %+v\n", id, m[id].Params, m[id].Tags, m[id].Metrics)
	}
	return b.String()
}

// oddStrings are values JSON escapes, or that are not valid UTF-8: run_data
// must give each back byte for byte.
var oddStrings = []string{"", "plain", `quo"te`, `back\slash`, "new\nline\ttab", "nul\x00byte", "\x01\x1f\x7f",
	"é 😀 \u2028", "\xff\xfe invalid", "\\u0041", "/slash/"}

// TestRunDataMatchesTables writes run data at random through the Store,
// in committed and rolled-back transactions, deletes runs, and checks
// after each that RunData (from run_data) equals what the tables hold.
func TestRunDataMatchesTables(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	var ids []lineage.ID
	for i := range 8 {
		ids = append(ids, lineage.ID(fmt.Sprintf("run:r%d", i)))
	}
	MustCreate(t, s, []*lineage.Node{node(ids[0], 1), node(ids[1], 1), node(ids[2], 1), node(ids[3], 1), node(ids[4], 1),
		node(ids[5], 1), node(ids[6], 1), node("dataset:not-a-run", 1)}, nil)
	ids = append(ids, "dataset:not-a-run", "run:missing")
	str := func() string { return oddStrings[rng.IntN(len(oddStrings))] + fmt.Sprint(rng.IntN(3)) }
	value := func() float64 {
		switch rng.IntN(6) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1 - 2*rng.IntN(2))
		case 2:
			return math.Float64frombits(rng.Uint64()) // any bits: NaN payloads, subnormals, huge
		}
		return rng.NormFloat64()
	}
	write := func(tx lineage.Tx, run lineage.ID) error {
		if rng.IntN(12) == 0 { // up to and past runDataMax: a part too large is read from its table
			n := runDataMax - 2 + rng.IntN(8)
			kv, pts := map[string]string{}, []lineage.MetricPoint{}
			for i := range n {
				kv[fmt.Sprint("bulk", i)] = str()
				pts = append(pts, lineage.MetricPoint{Key: fmt.Sprint("bulk", i), Value: value(), Timestamp: at(1)})
			}
			switch rng.IntN(3) {
			case 0:
				return tx.SetRunParams(run, kv)
			case 1:
				return tx.SetRunTags(run, kv)
			}
			return tx.LogMetrics(run, pts)
		}
		switch rng.IntN(3) {
		case 0:
			kv := map[string]string{}
			for range rng.IntN(4) {
				kv[str()] = str()
			}
			return tx.SetRunParams(run, kv)
		case 1:
			return tx.SetRunTags(run, map[string]string{str(): str()})
		}
		var pts []lineage.MetricPoint
		for range 1 + rng.IntN(5) {
			pts = append(pts, lineage.MetricPoint{Key: str(), Value: value(), Step: rng.Int64N(5) - 1, Timestamp: at(rng.IntN(10))})
		}
		return tx.LogMetrics(run, pts)
	}
	check := func(step int) {
		t.Helper()
		var got, inTx map[lineage.ID]*lineage.RunData
		MustView(t, s, func(tx lineage.ReadTx) (err error) { got, err = tx.RunData(ids); return err })
		want := runDataFromTables(t, s.rdb, ids)
		if !sameRunData(got, want) {
			t.Fatalf("step %d: RunData from run_data:\n%s\nfrom the tables:\n%s", step, dumpRunData(got), dumpRunData(want))
		}
		MustUpdate(t, s, func(tx lineage.Tx) (err error) { inTx, err = tx.RunData(ids); return err })
		if !sameRunData(inTx, want) {
			t.Fatalf("step %d: RunData in an Update:\n%s\nwant:\n%s", step, dumpRunData(inTx), dumpRunData(want))
		}
	}
	for step := range 150 {
		rollback := rng.IntN(5) == 0
		err := s.Update(ctx, func(tx lineage.Tx) error {
			for range 1 + rng.IntN(4) {
				run := ids[rng.IntN(7)]
				if err := write(tx, run); err != nil && lineage.ErrorCode(err) != lineage.ENOTFOUND {
					return err
				}
				if rng.IntN(4) == 0 { // a read in the transaction sees its writes
					rd, err := tx.RunData([]lineage.ID{run})
					if err != nil {
						return err
					}
					if want := runDataFromTx(t, tx.(*txn), run); !sameRunData(rd, want) {
						return fmt.Errorf("RunData in the writing transaction:\n%s\nwant:\n%s", dumpRunData(rd), dumpRunData(want))
					}
				}
			}
			if step%40 == 39 { // a run goes, with its run_data row
				if err := tx.DeleteNode(ids[step/40]); err != nil {
					return err
				}
			}
			if rollback {
				return errTest
			}
			return nil
		})
		if rollback && !errors.Is(err, errTest) || !rollback && err != nil {
			t.Fatalf("step %d: Update: %v", step, err)
		}
		if step%10 == 9 || rollback {
			check(step)
		}
	}
	check(150)
	var parts [3]int
	s.rdb.QueryRow(`SELECT count(*) - count(params), count(*) - count(tags), count(*) - count(metrics) FROM run_data`).Scan(&parts[0], &parts[1], &parts[2])
	if parts[0] == 0 || parts[1] == 0 || parts[2] == 0 {
		t.Errorf("run_data parts left to the tables (params, tags, metrics): got %v, want some of each", parts)
	}
}

// runDataFromTx is runDataFromTables inside a write transaction.
func runDataFromTx(tb testing.TB, t *txn, run lineage.ID) map[lineage.ID]*lineage.RunData {
	tb.Helper()
	// The tables as the transaction sees them, through a copy of the reference queries.
	d := &lineage.RunData{Params: map[string]string{}, Tags: map[string]string{}, Metrics: []lineage.MetricSummary{}}
	for table, m := range map[string]map[string]string{"run_params": d.Params, "run_tags": d.Tags} {
		rows, err := t.query(`SELECT t.key, t.value FROM `+table+` t JOIN nodes n ON n.seq = t.run WHERE n.id = ?`, string(run))
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var k, v string
			rows.Scan(&k, &v)
			m[k] = v
		}
		rows.Close()
	}
	rows, err := t.query(`SELECT m.key, m.last, m.last_step, m.min, m.max, m.count FROM run_metrics m
		JOIN nodes n ON n.seq = m.run WHERE n.id = ? ORDER BY m.key`, string(run))
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var (
			m            lineage.MetricSummary
			last, lo, hi sql.NullFloat64
		)
		rows.Scan(&m.Key, &last, &m.LastStep, &lo, &hi, &m.Count)
		m.Last, m.Min, m.Max = nanIfNull(last), nanIfNull(lo), nanIfNull(hi)
		d.Metrics = append(d.Metrics, m)
	}
	rows.Close()
	return map[lineage.ID]*lineage.RunData{run: d}
}

// TestMigrateRunData opens a database written by the first release
// (migration 00001 only) with this code: migration 00002 fills run_data
// from the tables, and edges come from the index.
func TestMigrateRunData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	ctx := context.Background()
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// What the first release's Store wrote.
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, id := range []string{"run:a", "run:b", "run:empty", "split:s", "codeversion:c", "experiment:e"} {
		exec(`INSERT INTO nodes (id, kind, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, id, lineage.ID(id).Kind(), id, i, i)
	}
	for i, v := range oddStrings {
		exec(`INSERT INTO run_params (run, key, value) VALUES (1, ?, ?)`, fmt.Sprint("k", i, v), v)
	}
	exec(`INSERT INTO run_params (run, key, value) VALUES (2, 'lr', '0.1')`)
	exec(`INSERT INTO run_tags (run, key, value) VALUES (2, 'team', 'risk')`)
	for i, m := range []struct {
		last, lo, hi any
	}{{0.1 + 0.2, 0.1, 0.3}, {nil, nil, nil}, {math.Inf(1), math.Inf(-1), math.Inf(1)}, {1e-310, -1.7976931348623157e308, 5e-324}, {3.0, 3, 3}} {
		exec(`INSERT INTO run_metrics (run, key, last, last_step, last_ts, min, max, count) VALUES (1, ?, ?, ?, 0, ?, ?, ?)`,
			fmt.Sprint("m", 4-i), m.last, int64(i)<<40, m.lo, m.hi, i+1)
	}
	for i := range runDataMax - 1 { // as many params as run_data holds
		exec(`INSERT INTO run_params (run, key, value) VALUES (2, ?, 'x')`, fmt.Sprintf("p%04d", i))
	}
	for i := range runDataMax + 1 { // one metric too many for run_data
		exec(`INSERT INTO run_metrics (run, key, last, last_step, last_ts, min, max, count) VALUES (2, ?, ?, 0, 0, ?, ?, 1)`,
			fmt.Sprintf("m%04d", i), float64(i)/3, float64(i)/3, float64(i)/3)
	}
	exec(`INSERT INTO edges (src, dst, type, role, created_at) VALUES (1, 4, 'USED', 'train', 5), (1, 5, 'RAN_CODE', '', 4), (1, 6, 'PART_OF', '', 3)`)
	db.Close()

	s := MustOpenPath(t, path)
	latest, _ := fs.Glob(migrations, "migrations/*.sql") // 00001_…, 00002_…, …: the latest version is their count
	var version int64
	if err := s.rdb.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil || version != int64(len(latest)) {
		t.Fatalf("schema version after Open: got %d, %v; want %d (every migration applied)", version, err, len(latest))
	}
	ids := []lineage.ID{"run:a", "run:b", "run:empty", "split:s"}
	var got map[lineage.ID]*lineage.RunData
	MustView(t, s, func(tx lineage.ReadTx) (err error) { got, err = tx.RunData(ids); return err })
	want := runDataFromTables(t, s.rdb, ids)
	if !sameRunData(got, want) {
		t.Fatalf("RunData after the upgrade:\n%s\nwant:\n%s", dumpRunData(got), dumpRunData(want))
	}
	if len(got["run:a"].Params) != len(oddStrings) || len(got["run:a"].Metrics) != 5 || !math.IsInf(got["run:a"].Metrics[2].Last, 1) {
		t.Errorf("RunData(run:a) after the upgrade: got %+v", got["run:a"])
	}
	if n := len(got["run:b"].Metrics); n != runDataMax+1 {
		t.Errorf("RunData(run:b) after the upgrade: got %d metrics, want %d", n, runDataMax+1)
	}
	var inTable int
	s.rdb.QueryRow(`SELECT count(*) FROM run_data WHERE metrics IS NULL AND params IS NOT NULL`).Scan(&inTable)
	if inTable != 1 { // the migration's bound is runDataMax
		t.Errorf("run_data rows with metrics, but not params, left to the table: got %d, want 1 (run:b)", inTable)
	}
	// The backfilled row is kept up to date by later writes.
	MustUpdate(t, s, func(tx lineage.Tx) error {
		if err := tx.SetRunParams("run:b", map[string]string{"lr": "0.2", "depth": "3"}); err != nil {
			return err
		}
		return tx.LogMetrics("run:a", []lineage.MetricPoint{{Key: "m0", Value: 4, Step: 1 << 41, Timestamp: at(1)}})
	})
	MustView(t, s, func(tx lineage.ReadTx) (err error) { got, err = tx.RunData(ids); return err })
	if want := runDataFromTables(t, s.rdb, ids); !sameRunData(got, want) {
		t.Fatalf("RunData after writes:\n%s\nwant:\n%s", dumpRunData(got), dumpRunData(want))
	}
	MustView(t, s, func(tx lineage.ReadTx) error {
		es, err := tx.Edges("run:a", lineage.Upstream, lineage.EdgeUsed, lineage.EdgeRanCode)
		if len(es) != 2 || es[0].Type != lineage.EdgeRanCode || es[1].To != "split:s" {
			t.Errorf("Edges after the upgrade: got %v, want RAN_CODE then USED", es)
		}
		if _, ok := s.idx.currentEdges(1, lineage.Upstream, []lineage.EdgeType{lineage.EdgeUsed}, tx.(*reader).gver); !ok {
			t.Error("the index does not answer at the upgraded database's graph version")
		}
		return err
	})
}

func TestDecodeRunData(t *testing.T) {
	for _, tc := range []struct {
		params, metrics string
		want            lineage.RunData
	}{
		{`[]`, `[]`, lineage.RunData{Params: map[string]string{}, Metrics: []lineage.MetricSummary{}}},
		{` [ [ "a" , "b" ] , ["c","d\u0000\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"] ] `, ` [ [ "k" , 1.5 , -2 , null , 9.0e+999 , 3 ] ] `, lineage.RunData{
			Params:  map[string]string{"a": "b", "c": "d\x00\"\\/\b\f\n\r\té😀"},
			Metrics: []lineage.MetricSummary{{Key: "k", Last: 1.5, LastStep: -2, Min: math.NaN(), Max: math.Inf(1), Count: 3}},
		}},
		{`[["lone","\ud800x"],["raw","` + "\xff" + `"],["nul\u0000key",""]]`, `[["a",-9.0e+999,0,0,0,0],["b",1e-320,9223372036854775807,1,2,3]]`, lineage.RunData{
			Params: map[string]string{"lone": "\ufffdx", "raw": "\xff", "nul\x00key": ""},
			Metrics: []lineage.MetricSummary{
				{Key: "a", Last: math.Inf(-1)},
				{Key: "b", Last: 1e-320, LastStep: math.MaxInt64, Min: 1, Max: 2, Count: 3},
			},
		}},
	} {
		var d lineage.RunData
		if err := decodeRunData(&d, []byte(tc.params), []byte(`[]`), []byte(tc.metrics)); err != nil {
			t.Errorf("decode %s %s: %v", tc.params, tc.metrics, err)
			continue
		}
		tc.want.Tags = map[string]string{}
		if !sameRunData(map[lineage.ID]*lineage.RunData{"x": &d}, map[lineage.ID]*lineage.RunData{"x": &tc.want}) {
			t.Errorf("decode %s %s:\n got %+v\nwant %+v", tc.params, tc.metrics, d, tc.want)
		}
	}
	for _, bad := range [][2]string{
		{``, `[]`}, {`[`, `[]`}, {`{}`, `[]`}, {`[["a"]]`, `[]`}, {`[["a",1]]`, `[]`}, {`[["a","b","c"]]`, `[]`},
		{`[["a","b"],]`, `[]`}, {`[["a","b"]] x`, `[]`}, {`[["a","b"]`, `[]`}, {`["a","b"]`, `[]`},
		{`[["a","\x"]]`, `[]`}, {`[["a","\u12"]]`, `[]`}, {"[[\"a\",\"\n\"]]", `[]`}, {`[["a","b]]`, `[]`},
		{`[]`, `[`}, {`[]`, `[["k",1,2,3,4]]`}, {`[]`, `[["k",1,2,3,4,5,6]]`}, {`[]`, `[["k",1,2.5,3,4,5]]`},
		{`[]`, `[["k",x,2,3,4,5]]`}, {`[]`, `[["k",1,2,3,4,5]`}, {`[]`, `[["k",1,2,3,4,5]],`}, {`[]`, `{}`},
	} {
		var d lineage.RunData
		if err := decodeRunData(&d, []byte(bad[0]), []byte(`[]`), []byte(bad[1])); err == nil {
			t.Errorf("decode %q %q: got nil error, want one", bad[0], bad[1])
		}
	}
}

// TestOddIDs reads nodes and run data by IDs that JSON would not carry
// byte for byte, which take the IN-list path.
func TestOddIDs(t *testing.T) {
	s := MustOpen(t)
	odd := []lineage.ID{"run:nul\x00", "run:\xff", "run:tab\t", `run:"q\`}
	var nodes []*lineage.Node
	for _, id := range odd {
		nodes = append(nodes, node(id, 1))
	}
	MustCreate(t, s, nodes, nil)
	MustUpdate(t, s, func(tx lineage.Tx) error {
		for _, id := range odd {
			if err := tx.SetRunParams(id, map[string]string{"id": string(id)}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, ids := range [][]lineage.ID{odd, {`run:"q\`, "run:plain"}} {
		MustView(t, s, func(tx lineage.ReadTx) error {
			ns, err := tx.Nodes(ids)
			if err != nil {
				return err
			}
			var got []lineage.ID
			for _, n := range ns {
				got = append(got, n.ID)
			}
			if want := slices.DeleteFunc(slices.Clone(ids), func(id lineage.ID) bool { return id == "run:plain" }); !slices.Equal(got, want) {
				t.Errorf("Nodes(%q): got %q, want %q", ids, got, want)
			}
			rd, err := tx.RunData(ids)
			for _, id := range ids {
				if want := string(id); id != "run:plain" && rd[id].Params["id"] != want {
					t.Errorf("RunData(%q): got %q, want params id=%q", id, rd[id].Params, want)
				}
			}
			return err
		})
	}
}

// TestEdgesFromIndex changes a graph at random and checks after each
// commit that the index answers Edges exactly as SQL does.
func TestEdgesFromIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s := MustOpenPath(t, path)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []lineage.ID
	var nodes []*lineage.Node
	for i := range 12 {
		ids = append(ids, lineage.ID(fmt.Sprintf("artifact:n%d", i)))
		nodes = append(nodes, node(ids[i], i))
	}
	MustCreate(t, s, nodes, nil)
	ids = append(ids, "artifact:missing")
	typeSets := [][]lineage.EdgeType{
		{lineage.EdgeUsed}, {lineage.EdgeUsed, lineage.EdgeRanCode}, {lineage.EdgeDerivedFrom, lineage.EdgeGeneratedBy, lineage.EdgeUsed},
		{lineage.EdgeChildOf}, {lineage.EdgeUsed, lineage.EdgeUsed}, {lineage.EdgeType("NOT_A_TYPE")},
	}
	types := []lineage.EdgeType{lineage.EdgeUsed, lineage.EdgeDerivedFrom, lineage.EdgeGeneratedBy, lineage.EdgeRanCode, lineage.EdgePartOf}
	sqlEdges := func(id lineage.ID, dir lineage.Direction, ts []lineage.EdgeType) []lineage.Edge {
		t.Helper()
		tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		es, err := (&reader{ctx: ctx, tx: tx, stmts: &s.rstmts, s: s}).Edges(id, dir, ts...)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	check := func(step int) {
		t.Helper()
		MustView(t, s, func(tx lineage.ReadTx) error {
			r := tx.(*reader)
			for _, id := range ids {
				for _, dir := range []lineage.Direction{lineage.Upstream, lineage.Downstream, lineage.Both} {
					for _, ts := range typeSets {
						got, err := tx.Edges(id, dir, ts...)
						if err != nil {
							return err
						}
						if want := sqlEdges(id, dir, ts); !reflect.DeepEqual(got, want) {
							t.Fatalf("step %d: Edges(%s, %s, %v):\n got %v\nwant %v", step, id, dir, ts, got, want)
						}
					}
				}
			}
			if _, ok := s.idx.currentEdges(1, lineage.Upstream, typeSets[0], r.gver); !ok {
				t.Fatalf("step %d: the index is not at the snapshot's graph version", step)
			}
			return nil
		})
	}
	for step := range 300 {
		rollback := rng.IntN(6) == 0
		err := s.Update(ctx, func(tx lineage.Tx) error {
			for range 1 + rng.IntN(3) {
				from, to := ids[rng.IntN(12)], ids[rng.IntN(12)] // loops too
				typ := types[rng.IntN(len(types))]
				switch rng.IntN(8) {
				case 0:
					if err := tx.RemoveEdge(from, to, typ, at(100+step)); err != nil {
						return err
					}
				case 1: // history import: a removed edge
					removed := at(50 + rng.IntN(10))
					err := tx.AddEdge(lineage.Edge{From: from, To: to, Type: typ, CreatedAt: at(rng.IntN(10)), RemovedAt: &removed})
					if err != nil && lineage.ErrorCode(err) != lineage.ENOTFOUND {
						return err
					}
				case 2:
					if rng.IntN(10) == 0 { // a node goes, with its edges; another takes its place in ids
						if err := tx.DeleteNode(from); err != nil && lineage.ErrorCode(err) != lineage.ENOTFOUND {
							return err
						}
						if err := tx.CreateNode(node(lineage.ID(fmt.Sprintf("artifact:n%d-%d", step, rng.IntN(9))), step)); err != nil &&
							lineage.ErrorCode(err) != lineage.ECONFLICT {
							return err
						}
					}
				default: // creation times out of order and tied
					err := tx.AddEdge(lineage.Edge{From: from, To: to, Type: typ, Role: []string{"", "train", "test"}[rng.IntN(3)], CreatedAt: at(rng.IntN(10))})
					if err != nil && lineage.ErrorCode(err) != lineage.ENOTFOUND {
						return err
					}
				}
			}
			if rollback {
				return errTest
			}
			return nil
		})
		if rollback && !errors.Is(err, errTest) || !rollback && err != nil {
			t.Fatalf("step %d: Update: %v", step, err)
		}
		if step%20 == 19 {
			check(step)
		}
	}
	// A reopened Store's index is at the stored version.
	s.Close()
	s = MustOpenPath(t, path)
	check(300)
}

// TestEdgesSnapshot: a View sees the edges of its snapshot, not those
// committed while it runs, whether the index or SQL answers.
func TestEdgesSnapshot(t *testing.T) {
	s := MustOpen(t)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1), node("split:a", 1), node("split:b", 1)},
		[]lineage.Edge{edge("run:r", "split:a", lineage.EdgeUsed, 2)})
	keys := func(es []lineage.Edge) []string {
		var out []string
		for _, e := range es {
			out = append(out, string(e.From)+"->"+string(e.To))
		}
		return out
	}
	MustView(t, s, func(tx lineage.ReadTx) error {
		before, err := tx.Edges("run:r", lineage.Upstream, lineage.EdgeUsed)
		if err != nil {
			return err
		}
		// Committed while the View runs: an edge added, one removed.
		MustUpdate(t, s, func(w lineage.Tx) error {
			if err := w.AddEdge(edge("run:r", "split:b", lineage.EdgeUsed, 3)); err != nil {
				return err
			}
			return w.RemoveEdge("run:r", "split:a", lineage.EdgeUsed, at(4))
		})
		for _, dir := range []lineage.Direction{lineage.Upstream, lineage.Both} {
			after, err := tx.Edges("run:r", dir, lineage.EdgeUsed)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(keys(after), keys(before)) || len(before) != 1 {
				t.Errorf("Edges(%s) in a View after a commit: got %v, want %v (the snapshot's)", dir, keys(after), keys(before))
			}
		}
		if got, _ := tx.Edges("split:b", lineage.Downstream, lineage.EdgeUsed); got != nil {
			t.Errorf("Edges(split:b) in a View after a commit: got %v, want none", keys(got))
		}
		return nil
	})
	MustView(t, s, func(tx lineage.ReadTx) error {
		got, err := tx.Edges("run:r", lineage.Upstream, lineage.EdgeUsed)
		if want := []string{"run:r->split:b"}; !reflect.DeepEqual(keys(got), want) {
			t.Errorf("Edges in a later View: got %v, want %v", keys(got), want)
		}
		return err
	})
}

// TestImportRemovedEdge: importing a removed edge (AddEdge with RemovedAt)
// leaves an unremoved edge with the same ends and type alone, in the index
// as in SQL. (The index used to apply it as an add and a RemoveEdge, which
// removed both.)
func TestImportRemovedEdge(t *testing.T) {
	s := MustOpen(t)
	removed := at(5)
	MustCreate(t, s, []*lineage.Node{node("run:r", 1), node("split:s", 1)}, []lineage.Edge{
		edge("run:r", "split:s", lineage.EdgeUsed, 2),
		{From: "run:r", To: "split:s", Type: lineage.EdgeUsed, CreatedAt: at(1), RemovedAt: &removed},
	})
	g, err := s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:r", Direction: lineage.Upstream, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 2 || len(g.Edges) != 1 || g.Edges[0].RemovedAt != nil {
		t.Errorf("Traverse after importing a removed edge: got %+v, want the unremoved edge", g)
	}
	asOf := at(3)
	g, err = s.Traverse(context.Background(), lineage.TraversalQuery{Of: "run:r", Direction: lineage.Upstream, Depth: 1, AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Edges) != 2 {
		t.Errorf("Traverse as of a time both edges existed: got %d edges, want 2", len(g.Edges))
	}
}
