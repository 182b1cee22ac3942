package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
	"github.com/pedigree-ml/pedigree/lineage"
)

// `pedigree dataset register` and `split` record dataset versions and
// their splits (operations in client/datasets.graphql).
//
// Digests. A file's digest is the sha256 of its bytes. A directory's is
// the sha256 of the lines "<sha256 hex of the file>  <path>\n", one per
// regular file below it, with path relative to the directory, slash
// separated and sorted bytewise; symbolic links and other non-regular
// files are left out. It is what
//
//	cd DIR && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum
//
// prints (for names without newlines).

func newDatasetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Register dataset versions and their splits",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDatasetRegisterCommand(), newDatasetSplitCommand())
	return usageCommand(cmd)
}

type datasetRegisterOptions struct {
	client      clientFlags
	out         outputFlag
	derivedFrom []string
	format      string
	description string
	digest      string
	tags        []string
}

func newDatasetRegisterCommand() *cobra.Command {
	var o datasetRegisterOptions
	cmd := &cobra.Command{
		Use:   "register NAME PATH|URI",
		Short: "Register a file, a directory or a remote URI as the next version of a dataset",
		Long: `Register PATH (a local file or directory) or URI (s3://…, gs://…, https://…)
as a version of dataset NAME. Registering content the dataset already has
returns the existing version.

A local file or directory is hashed (sha256; a directory's digest is the
sha256 of its sorted "<file sha256>  <relative path>" lines) with a progress
bar on a terminal, and recorded with its file:// URI. Its format comes from
the extension (--format overrides it), and where it can, the row count and
columns are recorded too:
  csv, tsv  the header row names the columns; rows are counted, and a
            column's type is int64, double or bool if every value reads as
            one, else string
  jsonl     one JSON object per line: rows are counted, columns are the
            first object's keys with the types of their values
  parquet   rows and top-level columns (name, type) from the file's footer
A directory whose data files all have one format gets that format, the sum
of their rows and the columns of the first.

A URI is recorded as a reference and never fetched: give its --digest.`,
		Example: `  pedigree dataset register customers data/customers.csv
  pedigree dataset register customers-clean data/clean/ --derived-from datasetversion:customers/3
  pedigree dataset register events s3://lake/events/2024-05/ --digest sha256:9f86… --format parquet`,
		Args: exactArgs(2, "NAME and PATH or URI"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runDatasetRegister(cmd, &o, args[0], args[1]))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	o.out.bind(cmd)
	fs.StringArrayVar(&o.derivedFrom, "derived-from", nil, "ID of a node the data was derived from, without a run (repeatable)")
	fs.StringVar(&o.format, "format", "", "file format (default: from the extension)")
	fs.StringVar(&o.description, "description", "", "description of the version")
	fs.StringVar(&o.digest, "digest", "", "content digest, algorithm:hex: required for a URI; checked against a local path")
	fs.StringArrayVar(&o.tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	return usageCommand(cmd)
}

// registeredDataset is what dataset register prints as JSON or YAML.
type registeredDataset struct {
	ID          string          `json:"id"`
	Dataset     string          `json:"dataset"`
	Version     int             `json:"version"`
	URI         string          `json:"uri"`
	Digest      string          `json:"digest"`
	Format      string          `json:"format"`
	Rows        *int64          `json:"rows"`
	Schema      []datasetColumn `json:"schema"`
	DerivedFrom []string        `json:"derivedFrom"`
	Warnings    []string        `json:"warnings,omitempty"`
}

type datasetColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func runDatasetRegister(cmd *cobra.Command, o *datasetRegisterOptions, name, target string) error {
	if err := o.out.check(); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return usagef("NAME: the dataset name is empty")
	}
	tags, err := parseKV("tag", o.tags)
	if err != nil {
		return err
	}
	for _, id := range o.derivedFrom {
		if !strings.Contains(id, ":") {
			return usagef("--derived-from: %q is not a node ID (kind:key, e.g. datasetversion:customers/3)", id)
		}
	}
	in := apiclient.RegisterDatasetVersionInput{Dataset: name, Description: optional(o.description), Tags: tags, DerivedFrom: o.derivedFrom}
	var warnings []string
	if isURI(target) {
		if o.digest == "" {
			return usagef("--digest is required for a URI (%s): the data is recorded as a reference, never fetched", target)
		}
		d, err := normalizeDigest(o.digest)
		if err != nil {
			return err
		}
		format := o.format
		if format == "" {
			if u, err := url.Parse(target); err == nil {
				format = formatOf(u.Path)
			}
		}
		in.Uri, in.Digest, in.Format = &target, &d, optional(format)
	} else {
		abs, err := filepath.Abs(target)
		if err != nil {
			return err
		}
		info, err := inspectPath(cmd, abs, strings.ToLower(o.format), progressEnabled(o.client.quiet, isTerminal(cmd.ErrOrStderr()), os.LookupEnv))
		if err != nil {
			return err
		}
		if o.digest != "" {
			want, err := normalizeDigest(o.digest)
			if err != nil {
				return err
			}
			if want != info.digest {
				return fmt.Errorf("%s hashes to %s, not --digest %s", target, info.digest, want)
			}
		}
		warnings = info.warnings
		for _, w := range warnings {
			if !o.client.quiet {
				fmt.Fprintf(cmd.ErrOrStderr(), "pedigree: warning: %s\n", w)
			}
		}
		uri := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
		if info.dir {
			uri += "/"
		}
		format := o.format
		if format == "" {
			format = info.format
		}
		in.Uri, in.Digest, in.Format, in.Rows = &uri, &info.digest, optional(format), info.rows
		for _, c := range info.columns {
			in.Schema = append(in.Schema, apiclient.ColumnInput{Name: c.Name, Type: c.Type})
		}
		if len(in.Schema) > lineage.MaxBatch {
			warnings = append(warnings, fmt.Sprintf("%d columns: only the first %d are recorded", len(in.Schema), lineage.MaxBatch))
			in.Schema = in.Schema[:lineage.MaxBatch]
		}
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.RegisterDatasetVersion(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	dv := resp.RegisterDatasetVersion
	res := registeredDataset{ID: dv.Id, Dataset: dv.DatasetName, Version: dv.Version, URI: dv.Uri, Digest: dv.Digest,
		Format: dv.Format, Rows: dv.Rows, Schema: []datasetColumn{}, DerivedFrom: []string{}, Warnings: warnings}
	for _, c := range dv.Schema {
		res.Schema = append(res.Schema, datasetColumn{Name: c.Name, Type: c.Type})
	}
	for _, n := range dv.DerivedFrom {
		res.DerivedFrom = append(res.DerivedFrom, n.GetId())
	}
	return o.out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "dataset %s v%d (%s)\n", dv.DatasetName, dv.Version, dv.Id)
		return err
	})
}

func isURI(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && !strings.ContainsAny(s[:i], `/\.`)
}

func normalizeDigest(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	algo, hexpart, ok := strings.Cut(d, ":")
	if !ok {
		algo, hexpart = "sha256", d
	}
	n := map[string]int{"sha256": 64, "sha512": 128, "sha1": 40, "md5": 32}[algo]
	if _, err := hex.DecodeString(hexpart); err != nil || n == 0 || len(hexpart) != n {
		return "", usagef("--digest: %q must be algorithm:hex (sha256, sha512, sha1 or md5), e.g. sha256:<64 hex digits>", d)
	}
	return algo + ":" + hexpart, nil
}

// formatOf is the format an extension names, "" if none is known.
func formatOf(name string) string {
	switch strings.ToLower(path.Ext(strings.ToLower(name))) {
	case ".csv":
		return "csv"
	case ".tsv", ".tab":
		return "tsv"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".json":
		return "json"
	case ".parquet", ".pq":
		return "parquet"
	case ".avro":
		return "avro"
	case ".orc":
		return "orc"
	case ".arrow", ".feather":
		return "arrow"
	case ".txt":
		return "text"
	}
	return ""
}

// pathInfo is what inspectPath found out about a file or directory.
type pathInfo struct {
	dir      bool
	digest   string
	format   string
	rows     *int64
	columns  []datasetColumn
	warnings []string
}

type fileEntry struct {
	rel  string // slash separated
	path string
	size int64
}

// inspectPath hashes the file or directory at abs and reads the row count
// and columns of the data files it can, in the same pass.
func inspectPath(cmd *cobra.Command, abs, format string, bar bool) (*pathInfo, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: %w", abs, pathErr(err))}
	}
	var files []fileEntry
	info := &pathInfo{dir: fi.IsDir()}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, &usageError{fmt.Errorf("%s is not a regular file or a directory", abs)}
		}
		files = []fileEntry{{rel: filepath.Base(abs), path: abs, size: fi.Size()}}
	} else {
		err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			st, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(abs, p)
			files = append(files, fileEntry{rel: filepath.ToSlash(rel), path: p, size: st.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", abs, pathErr(err))
		}
		slices.SortFunc(files, func(a, b fileEntry) int { return strings.Compare(a.rel, b.rel) })
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	p := newProgress(cmd.ErrOrStderr(), bar, total, "hashing  ")
	defer p.done()

	dirHash := sha256.New()
	var rows int64
	rowsKnown, formats := true, map[string]bool{}
	for _, f := range files {
		ff := format
		if ff == "" || info.dir {
			ff = formatOf(f.rel)
		}
		if format != "" && info.dir && ff == "" {
			ff = format
		}
		base := path.Base(f.rel)
		dataFile := !strings.HasPrefix(base, ".") && !strings.HasPrefix(base, "_")
		if dataFile {
			formats[ff] = true
		}
		digest, fi, err := inspectFile(f.path, ff, p)
		if err != nil {
			return nil, err
		}
		if fi.warning != "" {
			info.warnings = append(info.warnings, fmt.Sprintf("%s: %s", f.rel, fi.warning))
		}
		if info.dir {
			fmt.Fprintf(dirHash, "%s  %s\n", strings.TrimPrefix(digest, "sha256:"), f.rel)
		} else {
			info.digest = digest
		}
		if !dataFile {
			continue
		}
		if fi.rows == nil {
			rowsKnown = false
		} else {
			rows += *fi.rows
		}
		if info.columns == nil {
			info.columns = fi.columns
		}
	}
	if info.dir {
		info.digest = "sha256:" + hex.EncodeToString(dirHash.Sum(nil))
	}
	if len(formats) == 1 {
		for f := range formats {
			info.format = f
		}
	}
	if info.format == "" || (info.dir && len(files) == 0) {
		info.columns = nil
		return info, nil
	}
	if rowsKnown {
		info.rows = &rows
	}
	return info, nil
}

// fileInfo is what the reader of one format found in a file.
type fileInfo struct {
	rows    *int64
	columns []datasetColumn
	warning string // why rows and columns are not known
}

// inspectFile hashes the file at p and reads it as format, in one pass for
// CSV and JSONL; a file that does not read as its format is still hashed,
// with a warning.
func inspectFile(p, format string, prog *progress) (string, fileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fileInfo{}, fmt.Errorf("open %s: %w", p, pathErr(err))
	}
	defer f.Close()
	h := sha256.New()
	r := io.TeeReader(prog.reader(onlyReader{f}), h)
	var fi fileInfo
	var inspectErr error
	switch format {
	case "csv":
		fi, inspectErr = readCSV(r, ',')
	case "tsv":
		fi, inspectErr = readCSV(r, '\t')
	case "jsonl":
		fi, inspectErr = readJSONL(r)
	}
	// Hash what the reader left (all of it for other formats).
	if _, err := io.CopyBuffer(h, prog.reader(onlyReader{f}), make([]byte, 256<<10)); err != nil {
		return "", fileInfo{}, fmt.Errorf("read %s: %w", p, pathErr(err))
	}
	if format == "parquet" {
		fi, inspectErr = readParquetFooter(f)
	}
	if inspectErr != nil {
		var pe *os.PathError
		if errors.As(inspectErr, &pe) {
			return "", fileInfo{}, fmt.Errorf("read %s: %w", p, pe.Err)
		}
		fi = fileInfo{warning: fmt.Sprintf("not readable as %s (%v): format recorded without rows or columns", format, oneLine(inspectErr))}
	}
	return digestOf(h), fi, nil
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// readCSV counts the records after the header and infers column types,
// streaming.
func readCSV(r io.Reader, comma rune) (fileInfo, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		zero := int64(0)
		return fileInfo{rows: &zero}, nil
	}
	if err != nil {
		return fileInfo{}, err
	}
	cols := make([]datasetColumn, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		cols[i].Name = strings.TrimSpace(h)
		if cols[i].Name == "" {
			cols[i].Name = "column_" + strconv.Itoa(i+1)
		}
	}
	// What every non-empty value of a column reads as so far.
	type seen struct{ notInt, notFloat, notBool, any bool }
	kinds := make([]seen, len(cols))
	var rows int64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fileInfo{}, err
		}
		rows++
		for i, v := range rec {
			if i >= len(kinds) || v == "" {
				continue
			}
			k := &kinds[i]
			k.any = true
			if !k.notInt {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					k.notInt = true
				}
			}
			if !k.notFloat {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					k.notFloat = true
				}
			}
			if !k.notBool {
				switch strings.ToLower(v) {
				case "true", "false":
				default:
					k.notBool = true
				}
			}
		}
	}
	for i, k := range kinds {
		switch {
		case !k.any:
			cols[i].Type = "string"
		case !k.notInt:
			cols[i].Type = "int64"
		case !k.notFloat:
			cols[i].Type = "double"
		case !k.notBool:
			cols[i].Type = "bool"
		default:
			cols[i].Type = "string"
		}
	}
	return fileInfo{rows: &rows, columns: cols}, nil
}

// readJSONL counts the non-blank lines and takes the columns from the
// first object's keys, in order, streaming.
func readJSONL(r io.Reader) (fileInfo, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var rows int64
	var cols []datasetColumn
	var line []byte // the first non-blank line, up to 16 MiB
	nonBlank := false
	for {
		chunk, err := br.ReadSlice('\n')
		if rows == 0 && len(line)+len(chunk) <= 16<<20 {
			line = append(line, chunk...)
		}
		nonBlank = nonBlank || len(bytes.TrimSpace(chunk)) > 0
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return fileInfo{}, err
		}
		if nonBlank { // the end of a line that is not blank
			if rows == 0 {
				c, perr := jsonObjectColumns(line)
				if perr != nil {
					return fileInfo{}, fmt.Errorf("first line: %w", perr)
				}
				cols = c
			}
			rows++
		}
		nonBlank, line = false, line[:0]
		if err == io.EOF {
			break
		}
	}
	return fileInfo{rows: &rows, columns: cols}, nil
}

// jsonObjectColumns is the keys of a JSON object, in order, with the type
// of each value.
func jsonObjectColumns(b []byte) ([]datasetColumn, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var cols []datasetColumn
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		typ := "null"
		switch v := v.(type) {
		case string:
			typ = "string"
		case bool:
			typ = "bool"
		case json.Number:
			typ = "double"
			if _, err := v.Int64(); err == nil {
				typ = "int64"
			}
		case map[string]any:
			typ = "object"
		case []any:
			typ = "array"
		}
		cols = append(cols, datasetColumn{Name: key, Type: typ})
	}
	return cols, nil
}

// Parquet: the footer is a Thrift FileMetaData in the compact protocol,
// followed by its length (4 bytes, little endian) and "PAR1". Only
// num_rows (field 3) and the schema (field 2) are read.

const maxParquetFooter = 64 << 20

func readParquetFooter(f io.ReaderAt) (fileInfo, error) {
	var size int64
	if s, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		st, err := s.Stat()
		if err != nil {
			return fileInfo{}, err
		}
		size = st.Size()
	}
	if size < 12 {
		return fileInfo{}, errors.New("too short for a Parquet file")
	}
	tail := make([]byte, 8)
	if _, err := f.ReadAt(tail, size-8); err != nil {
		return fileInfo{}, err
	}
	if string(tail[4:]) != "PAR1" {
		return fileInfo{}, errors.New("no PAR1 magic at the end")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n <= 0 || n > maxParquetFooter || n > size-12 {
		return fileInfo{}, fmt.Errorf("footer length %d out of range", n)
	}
	footer := make([]byte, n)
	if _, err := f.ReadAt(footer, size-8-n); err != nil {
		return fileInfo{}, err
	}
	return parseParquetFooter(footer)
}

type schemaElement struct {
	name        string
	physical    int64 // -1 for a group
	converted   int64 // -1 if none
	logical     int16 // field id of the LogicalType union, 0 if none
	numChildren int64
}

func parseParquetFooter(b []byte) (fileInfo, error) {
	r := &thriftReader{b: b}
	var rows int64 = -1
	var schema []schemaElement
	r.fields(func(id int16, t byte) {
		switch {
		case id == 2 && t == tList:
			size, et := r.listHeader()
			if et != tStruct {
				r.fail("schema is not a list of structs")
				return
			}
			for i := 0; i < size && r.err == nil; i++ {
				e := schemaElement{physical: -1, converted: -1}
				r.fields(func(id int16, t byte) {
					switch {
					case id == 1 && t == tI32:
						e.physical = r.zigzag()
					case id == 4 && t == tBinary:
						e.name = string(r.binary())
					case id == 5 && t == tI32:
						e.numChildren = r.zigzag()
					case id == 6 && t == tI32:
						e.converted = r.zigzag()
					case id == 10 && t == tStruct:
						r.fields(func(id int16, t byte) {
							e.logical = id
							r.skip(t)
						})
					default:
						r.skip(t)
					}
				})
				schema = append(schema, e)
			}
		case id == 3 && t == tI64:
			rows = r.zigzag()
		default:
			r.skip(t)
		}
	})
	if r.err != nil {
		return fileInfo{}, fmt.Errorf("footer: %w", r.err)
	}
	if rows < 0 || len(schema) == 0 {
		return fileInfo{}, errors.New("footer: no num_rows or schema")
	}
	// schema[0] is the root; its children are the top-level columns, each
	// followed by its own subtree (depth first).
	var cols []datasetColumn
	var skip func(i int, depth int) int
	skip = func(i, depth int) int {
		if i >= len(schema) || depth > 100 {
			return len(schema) + 1
		}
		j := i + 1
		for k := int64(0); k < schema[i].numChildren && j <= len(schema); k++ {
			j = skip(j, depth+1)
		}
		return j
	}
	i := 1
	for k := int64(0); k < schema[0].numChildren; k++ {
		if i >= len(schema) {
			return fileInfo{}, errors.New("footer: schema shorter than its root says")
		}
		cols = append(cols, datasetColumn{Name: schema[i].name, Type: parquetType(schema[i])})
		i = skip(i, 0)
	}
	return fileInfo{rows: &rows, columns: cols}, nil
}

// parquetType names a column's type: its logical or converted type if it
// has one, else its physical type; "struct" for a plain group.
func parquetType(e schemaElement) string {
	switch e.logical {
	case 1, 4:
		return "string"
	case 2:
		return "map"
	case 3:
		return "list"
	case 5:
		return "decimal"
	case 6:
		return "date"
	case 7:
		return "time"
	case 8:
		return "timestamp"
	case 12:
		return "json"
	case 14:
		return "uuid"
	}
	switch e.converted {
	case 0, 4:
		return "string"
	case 1, 2:
		return "map"
	case 3:
		return "list"
	case 5:
		return "decimal"
	case 6:
		return "date"
	case 7, 8:
		return "time"
	case 9, 10:
		return "timestamp"
	case 19:
		return "json"
	}
	switch e.physical {
	case 0:
		return "bool"
	case 1:
		return "int32"
	case 2:
		return "int64"
	case 3:
		return "int96"
	case 4:
		return "float"
	case 5:
		return "double"
	case 6:
		return "binary"
	case 7:
		return "fixed_len_byte_array"
	case -1:
		return "struct"
	}
	return "unknown"
}

// Thrift compact protocol types.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI16       = 4
	tI32       = 5
	tI64       = 6
	tDouble    = 7
	tBinary    = 8
	tList      = 9
	tSet       = 10
	tMap       = 11
	tStruct    = 12
)

// thriftReader reads the Thrift compact protocol from a byte slice; the
// first error sticks and every later read returns zero values.
type thriftReader struct {
	b     []byte
	p     int
	depth int
	err   error
}

func (r *thriftReader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
}

func (r *thriftReader) byte() byte {
	if r.err != nil || r.p >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

func (r *thriftReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.p:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.p += n
	return v
}

func (r *thriftReader) zigzag() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *thriftReader) binary() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)-r.p) {
		r.fail("truncated")
		return nil
	}
	b := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return b
}

func (r *thriftReader) listHeader() (size int, elem byte) {
	h := r.byte()
	n := uint64(h >> 4)
	if n == 15 {
		n = r.uvarint()
	}
	if n > uint64(len(r.b)) { // every element takes at least a byte
		r.fail("list longer than the footer")
		return 0, 0
	}
	return int(n), h & 0x0f
}

// fields calls fn for each field of a struct, which must read or skip its
// value.
func (r *thriftReader) fields(fn func(id int16, t byte)) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 64 {
		r.fail("nested too deep")
		return
	}
	var last int16
	for r.err == nil {
		h := r.byte()
		if h == 0 {
			return
		}
		t, delta := h&0x0f, int16(h>>4)
		id := last + delta
		if delta == 0 {
			id = int16(r.zigzag())
		}
		last = id
		fn(id, t)
	}
}

// skip reads past a value of type t (of a struct field: a bool's value is
// in its type).
func (r *thriftReader) skip(t byte) {
	switch t {
	case tBoolTrue, tBoolFalse:
	case tByte:
		r.byte()
	case tI16, tI32, tI64:
		r.uvarint()
	case tDouble:
		if len(r.b)-r.p < 8 {
			r.fail("truncated")
			return
		}
		r.p += 8
	case tBinary:
		r.binary()
	case tList, tSet:
		n, et := r.listHeader()
		for i := 0; i < n && r.err == nil; i++ {
			if et == tBoolTrue || et == tBoolFalse {
				r.byte() // in a list, a bool is a byte
			} else {
				r.skip(et)
			}
		}
	case tMap:
		n := r.uvarint()
		if n == 0 {
			return
		}
		if n > uint64(len(r.b)) {
			r.fail("map longer than the footer")
			return
		}
		kv := r.byte()
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skip(kv >> 4)
			r.skip(kv & 0x0f)
		}
	case tStruct:
		r.fields(func(_ int16, t byte) { r.skip(t) })
	default:
		r.fail("unknown type " + strconv.Itoa(int(t)))
	}
}

// `pedigree dataset split`.

type datasetSplitOptions struct {
	client   clientFlags
	out      outputFlag
	splits   []string
	seed     int64
	strategy string
}

func newDatasetSplitCommand() *cobra.Command {
	var o datasetSplitOptions
	cmd := &cobra.Command{
		Use:   "split DATASET_VERSION_ID --split NAME=FRACTION ...",
		Short: "Record the splits (train, validation, test, …) of a dataset version",
		Long: `Record named splits of a dataset version with their fractions of its rows,
the strategy that made them and its seed. Recording the same splits again
changes nothing. The fractions must add up to at most 1.

No digest is recorded for a split (the API makes it optional); a split whose
content is known is better registered as a dataset version of its own.`,
		Example: `  pedigree dataset split datasetversion:customers/3 --split train=0.8 --split test=0.2 --seed 42`,
		Args:    exactArgs(1, "one DATASET_VERSION_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runDatasetSplit(cmd, &o, args[0]))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	o.out.bind(cmd)
	fs.StringArrayVar(&o.splits, "split", nil, "split NAME=FRACTION, e.g. train=0.8 (repeatable; at least one)")
	fs.Int64Var(&o.seed, "seed", 0, "random seed of the split (recorded only if given)")
	fs.StringVar(&o.strategy, "strategy", "random", "how the split was made: random, stratified, time, …")
	return usageCommand(cmd)
}

type recordedSplit struct {
	ID             string   `json:"id"`
	DatasetVersion string   `json:"datasetVersion"`
	Name           string   `json:"name"`
	Fraction       *float64 `json:"fraction"`
	Strategy       string   `json:"strategy"`
	Seed           *int64   `json:"seed"`
}

func runDatasetSplit(cmd *cobra.Command, o *datasetSplitOptions, dv string) error {
	if err := o.out.check(); err != nil {
		return err
	}
	if !strings.HasPrefix(dv, "datasetversion:") {
		return usagef("%q is not a dataset version ID (datasetversion:NAME/VERSION)", dv)
	}
	if len(o.splits) == 0 {
		return usagef("--split is required: NAME=FRACTION, e.g. --split train=0.8 --split test=0.2")
	}
	in := apiclient.RegisterSplitsInput{DatasetVersion: dv, Strategy: optional(o.strategy)}
	if cmd.Flags().Changed("seed") {
		in.Seed = &o.seed
	}
	var total float64
	seen := map[string]bool{}
	for _, s := range o.splits {
		name, frac, ok := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		f, err := strconv.ParseFloat(strings.TrimSpace(frac), 64)
		if !ok || name == "" || err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return usagef("--split: %q must be NAME=FRACTION with a fraction between 0 and 1, e.g. train=0.8", s)
		}
		if seen[strings.ToLower(name)] {
			return usagef("--split: %q is given twice", name)
		}
		seen[strings.ToLower(name)] = true
		total += f
		in.Splits = append(in.Splits, apiclient.SplitInput{Name: name, Fraction: &f})
	}
	if total > 1+1e-9 {
		return usagef("--split: the fractions add up to %g, more than 1", total)
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.RegisterSplits(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	res := make([]recordedSplit, 0, len(resp.RegisterSplits))
	for _, s := range resp.RegisterSplits {
		res = append(res, recordedSplit{ID: s.Id, DatasetVersion: s.DatasetVersionId, Name: s.Name, Fraction: s.Fraction,
			Strategy: s.Strategy, Seed: s.Seed})
	}
	return o.out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
		t := newTable(w, "id", "name", "fraction", "strategy", "seed")
		for _, s := range res {
			var seed any
			if s.Seed != nil {
				seed = *s.Seed
			}
			t.row(s.ID, s.Name, s.Fraction, s.Strategy, seed)
		}
		return t.flush()
	})
}
