package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type datasetVersionView struct {
	URI    string
	Digest string
	Format string
	Rows   *int64
	Schema []datasetColumn
	Splits []struct {
		Name     string
		Fraction *float64
		Strategy string
		Seed     *int64
	}
	DerivedFrom []struct{ ID string }
}

func mustDatasetVersion(tb testing.TB, m *Main, name string, version int) datasetVersionView {
	tb.Helper()
	var out struct{ DatasetVersion *datasetVersionView }
	newClient(m.URL()).must(tb, `query($d: String!, $v: Int!) { datasetVersion(dataset: $d, version: $v) {
		uri digest format rows schema { name type } splits { name fraction strategy seed } derivedFrom { id } } }`,
		map[string]any{"d": name, "v": version}, &out)
	if out.DatasetVersion == nil {
		tb.Fatalf("dataset %s v%d not found", name, version)
	}
	return *out.DatasetVersion
}

func mustWrite(tb testing.TB, path, content string) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:])
}

func TestDatasetRegister(t *testing.T) {
	m := MustServe(t, t.TempDir())
	dir := t.TempDir()
	srv := "--server=" + m.URL()

	t.Run("csv", func(t *testing.T) {
		csvPath := mustWrite(t, filepath.Join(dir, "customers.csv"),
			"\ufeffid,name,score,active\n1,Ada,0.5,true\n2,\"Grace\nHopper\",1,false\n3,Linus,,true\n")
		out := mustPedigree(t, nil, "dataset", "register", srv, "customers", csvPath)
		if want := "dataset customers v1 (datasetversion:customers/1)\n"; out != want {
			t.Errorf("register printed %q, want %q", out, want)
		}
		dv := mustDatasetVersion(t, m, "customers", 1)
		if dv.Rows == nil || *dv.Rows != 3 {
			t.Errorf("rows = %v, want 3", dv.Rows)
		}
		want := []datasetColumn{{"id", "int64"}, {"name", "string"}, {"score", "double"}, {"active", "bool"}}
		if !reflect.DeepEqual(dv.Schema, want) {
			t.Errorf("schema = %v, want %v", dv.Schema, want)
		}
		if dv.Format != "csv" || dv.Digest != fileDigest(t, csvPath) || dv.URI != "file://"+filepath.ToSlash(csvPath) {
			t.Errorf("format, digest, uri = %q, %q, %q; want csv, %s, file://%s", dv.Format, dv.Digest, dv.URI, fileDigest(t, csvPath), csvPath)
		}
		// The same content again is the same version.
		if out := mustPedigree(t, nil, "dataset", "register", srv, "customers", csvPath); !strings.Contains(out, "v1 ") {
			t.Errorf("registering again printed %q, want v1", out)
		}
	})

	t.Run("jsonl", func(t *testing.T) {
		p := mustWrite(t, filepath.Join(dir, "events.jsonl"),
			`{"user": "a", "n": 3, "ratio": 0.5, "ok": true, "meta": {"x": 1}}`+"\n\n"+`{"user": "b"}`+"\n"+`{"user": "c"}`)
		out := mustPedigree(t, nil, "dataset", "register", srv, "events", p, "--output", "json", "--derived-from", "datasetversion:customers/1")
		var got registeredDataset
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		want := []datasetColumn{{"user", "string"}, {"n", "int64"}, {"ratio", "double"}, {"ok", "bool"}, {"meta", "object"}}
		if got.Rows == nil || *got.Rows != 3 || !reflect.DeepEqual(got.Schema, want) || got.Format != "jsonl" {
			t.Errorf("got rows %v, schema %v, format %q; want 3, %v, jsonl", got.Rows, got.Schema, got.Format, want)
		}
		if !reflect.DeepEqual(got.DerivedFrom, []string{"datasetversion:customers/1"}) {
			t.Errorf("derivedFrom = %v", got.DerivedFrom)
		}
	})

	t.Run("directory", func(t *testing.T) {
		d := filepath.Join(dir, "parts")
		a := "x,y\n1,2\n3,4\n"
		b := "x,y\n5,6\n"
		mustWrite(t, filepath.Join(d, "part-1.csv"), a)
		mustWrite(t, filepath.Join(d, "sub", "part-0.csv"), b)
		mustWrite(t, filepath.Join(d, "_SUCCESS"), "")
		if err := os.Symlink(filepath.Join(d, "part-1.csv"), filepath.Join(d, "link.csv")); err != nil {
			t.Fatal(err)
		}
		// The documented digest: sorted "<sha256>  <path>" lines, symlinks left out.
		lines := sha256Hex(nil) + "  _SUCCESS\n" + sha256Hex([]byte(a)) + "  part-1.csv\n" + sha256Hex([]byte(b)) + "  sub/part-0.csv\n"
		wantDigest := "sha256:" + sha256Hex([]byte(lines))

		out := mustPedigree(t, nil, "dataset", "register", srv, "parts", d)
		if want := "dataset parts v1 (datasetversion:parts/1)\n"; out != want {
			t.Errorf("register printed %q, want %q", out, want)
		}
		dv := mustDatasetVersion(t, m, "parts", 1)
		if dv.Digest != wantDigest || dv.Format != "csv" || dv.Rows == nil || *dv.Rows != 3 || !strings.HasSuffix(dv.URI, "/parts/") {
			t.Errorf("got digest %s, format %q, rows %v, uri %s; want %s, csv, 3, …/parts/", dv.Digest, dv.Format, dv.Rows, dv.URI, wantDigest)
		}
	})

	t.Run("uri", func(t *testing.T) {
		_, _, err := runPedigree(t, nil, "dataset", "register", srv, "lake", "s3://bucket/events/2024/")
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--digest") {
			t.Errorf("a URI without --digest: %v, want exit 2 naming --digest", err)
		}
		digest := "sha256:" + strings.Repeat("ab", 32)
		out := mustPedigree(t, nil, "dataset", "register", srv, "lake", "s3://bucket/events/2024/data.parquet", "--digest", digest, "--output", "yaml")
		if !strings.Contains(out, "format: parquet") || !strings.Contains(out, digest) || !strings.Contains(out, "uri: s3://bucket/events/2024/data.parquet") {
			t.Errorf("register --output yaml printed:\n%s", out)
		}
		_, _, err = runPedigree(t, nil, "dataset", "register", srv, "lake", "s3://bucket/x", "--digest", "nothex")
		if err == nil || exitCode(err) != 2 {
			t.Errorf("a malformed --digest: %v, want exit 2", err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"nope", filepath.Join(dir, "missing.csv")}, 2, "missing.csv"},
			{[]string{"bad name!", filepath.Join(dir, "customers.csv")}, 1, "dataset:"},
			{[]string{"x", filepath.Join(dir, "customers.csv"), "--derived-from", "datasetversion:nope/9"}, 1, "derivedFrom"},
			{[]string{"x", filepath.Join(dir, "customers.csv"), "--output", "xml"}, 2, "--output"},
		} {
			_, _, err := runPedigree(t, nil, append([]string{"dataset", "register", srv}, tc.args...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("register %v: %v, want exit %d, one line containing %q", tc.args, err, tc.code, tc.want)
			}
		}
	})
}

func TestDatasetSplit(t *testing.T) {
	m := MustServe(t, t.TempDir())
	srv := "--server=" + m.URL()
	p := mustWrite(t, filepath.Join(t.TempDir(), "d.csv"), "a\n1\n2\n")
	mustPedigree(t, nil, "dataset", "register", srv, "d", p)

	out := mustPedigree(t, nil, "dataset", "split", srv, "datasetversion:d/1", "--split", "train=0.8", "--split", "test=0.2", "--seed", "42")
	if !strings.Contains(out, "split:d/1/train") || !strings.Contains(out, "split:d/1/test") {
		t.Errorf("split printed:\n%s", out)
	}
	dv := mustDatasetVersion(t, m, "d", 1)
	if len(dv.Splits) != 2 {
		t.Fatalf("splits = %+v, want 2", dv.Splits)
	}
	for _, s := range dv.Splits {
		want := map[string]float64{"train": 0.8, "test": 0.2}[s.Name]
		if s.Fraction == nil || *s.Fraction != want || s.Seed == nil || *s.Seed != 42 || s.Strategy != "random" {
			t.Errorf("split %+v: want fraction %g, seed 42, strategy random", s, want)
		}
	}
	// Again: nothing changes.
	mustPedigree(t, nil, "dataset", "split", srv, "datasetversion:d/1", "--split", "train=0.8", "--split", "test=0.2", "--seed", "42")

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"datasetversion:d/1", "--split", "train=0.8", "--split", "test=0.3"}, 2, "add up"},
		{[]string{"datasetversion:d/1", "--split", "train"}, 2, "NAME=FRACTION"},
		{[]string{"datasetversion:d/1"}, 2, "--split is required"},
		{[]string{"d/1", "--split", "a=0.1"}, 2, "dataset version ID"},
		{[]string{"datasetversion:d/9", "--split", "a=0.1"}, 1, "datasetversion:d/9"},
	} {
		_, _, err := runPedigree(t, nil, append([]string{"dataset", "split", srv}, tc.args...)...)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("split %v: %v, want exit %d containing %q", tc.args, err, tc.code, tc.want)
		}
	}
}

// compactWriter writes the Thrift compact protocol, for a Parquet footer.
type compactWriter struct {
	bytes.Buffer
	last []int16
}

func (w *compactWriter) field(id int16, t byte) {
	last := w.last[len(w.last)-1]
	if d := id - last; d > 0 && d <= 15 {
		w.WriteByte(byte(d)<<4 | t)
	} else {
		w.WriteByte(t)
		w.varint(int64(id))
	}
	w.last[len(w.last)-1] = id
}
func (w *compactWriter) varint(v int64) {
	w.Write(binary.AppendUvarint(nil, uint64(v<<1^(v>>63))))
}
func (w *compactWriter) begin() { w.last = append(w.last, 0) }
func (w *compactWriter) end()   { w.WriteByte(0); w.last = w.last[:len(w.last)-1] }
func (w *compactWriter) str(id int16, s string) {
	w.field(id, tBinary)
	w.Write(binary.AppendUvarint(nil, uint64(len(s))))
	w.WriteString(s)
}
func (w *compactWriter) i32(id int16, v int64) { w.field(id, tI32); w.varint(v) }

func TestParquetFooter(t *testing.T) {
	type el struct {
		name                          string
		typ, converted, children, log int64
	}
	schema := []el{
		{name: "schema", typ: -1, converted: -1, children: 4},
		{name: "id", typ: 2, converted: -1},
		{name: "name", typ: 6, converted: 0},
		{name: "ts", typ: 2, converted: -1, log: 8},
		{name: "tags", typ: -1, converted: 3, children: 1},
		{name: "list", typ: -1, converted: -1, children: 1},
		{name: "element", typ: 6, converted: 0},
	}
	w := &compactWriter{}
	w.begin()
	w.i32(1, 2) // version
	w.field(2, tList)
	w.WriteByte(byte(len(schema))<<4 | tStruct)
	for _, e := range schema {
		w.begin()
		if e.typ >= 0 {
			w.i32(1, e.typ)
		}
		w.i32(3, 1)
		w.str(4, e.name)
		if e.children > 0 {
			w.i32(5, e.children)
		}
		if e.converted >= 0 {
			w.i32(6, e.converted)
		}
		if e.log > 0 {
			w.field(10, tStruct)
			w.begin()
			w.field(int16(e.log), tStruct)
			w.begin()
			w.field(1, tBoolTrue)
			w.end()
			w.end()
		}
		w.end()
	}
	w.field(3, tI64)
	w.varint(1234)
	w.field(4, tList) // row_groups: empty
	w.WriteByte(tStruct)
	w.str(6, "parquet-cpp-arrow version 15.0.0")
	w.end()
	footer := w.Bytes()

	fi, err := parseParquetFooter(footer)
	if err != nil {
		t.Fatal(err)
	}
	want := []datasetColumn{{"id", "int64"}, {"name", "string"}, {"ts", "timestamp"}, {"tags", "list"}}
	if fi.rows == nil || *fi.rows != 1234 || !reflect.DeepEqual(fi.columns, want) {
		t.Errorf("got rows %v, columns %v; want 1234, %v", fi.rows, fi.columns, want)
	}

	// As a file, through register's reader; a truncated footer is an error, not a panic.
	path := filepath.Join(t.TempDir(), "t.parquet")
	file := append([]byte("PAR1 column chunks "), footer...)
	file = binary.LittleEndian.AppendUint32(file, uint32(len(footer)))
	file = append(file, "PAR1"...)
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, got, err := inspectFile(path, "parquet", &progress{})
	if err != nil || got.rows == nil || *got.rows != 1234 || len(got.columns) != 4 {
		t.Errorf("inspectFile: %+v, %v", got, err)
	}
	for n := range len(footer) {
		if _, err := parseParquetFooter(footer[:n]); err == nil {
			t.Errorf("a footer cut at %d bytes parsed", n)
		}
	}
}
