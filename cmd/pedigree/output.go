package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

// --output for the client commands that print records: a table for people
// (the default), JSON or YAML for scripts. JSON and YAML print the same
// value with the same keys, so a script can switch between them.
//
// A command binds the flag, checks it before talking to the server, and
// prints through render:
//
//	var out string
//	bindOutput(cmd, &out)
//	...
//	if err := checkOutput(out); err != nil { return err }
//	return render(cmd.OutOrStdout(), out, view, func(w io.Writer) error { ... })

const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

var outputFormats = []string{outputTable, outputJSON, outputYAML}

// bindOutput adds --output (table, json or yaml) with its completion.
func bindOutput(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVarP(v, "output", "o", outputTable, "output format: table, json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(outputFormats...))
}

// checkOutput checks an --output value; "text" is accepted for table.
func checkOutput(v string) error {
	switch strings.ToLower(v) {
	case outputTable, "text", "", outputJSON, outputYAML:
		return nil
	}
	return usagef("--output: must be one of %s, not %q", strings.Join(outputFormats, ", "), v)
}

// render prints v as JSON or YAML, or calls table for the table format.
func render(w io.Writer, format string, v any, table func(io.Writer) error) error {
	switch strings.ToLower(format) {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputYAML:
		return renderYAML(w, v)
	}
	return table(w)
}

// renderYAML prints v as YAML through its JSON encoding: the keys, their
// order and the omitted fields are exactly those of --output json.
func renderYAML(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	out, err := yaml.JSONToYAML(raw)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// table is a text/tabwriter table: columns two spaces apart, an upper-case
// header row, "-" for empty cells so columns never collapse.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(headers) > 0 {
		upper := make([]any, len(headers))
		for i, h := range headers {
			upper[i] = strings.ToUpper(h)
		}
		t.row(upper...)
	}
	return t
}

// row adds a row; cells are printed with %v, nil and "" as "-".
func (t *table) row(cells ...any) {
	var b bytes.Buffer
	for i, c := range cells {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(cell(c))
	}
	b.WriteByte('\n')
	_, _ = t.tw.Write(b.Bytes())
}

// flush writes the table out.
func (t *table) flush() error { return t.tw.Flush() }

// cell is one table cell: a value on one line, without tabs.
func cell(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return "-"
	case *string:
		if v == nil {
			return "-"
		}
		s = *v
	case *int:
		if v == nil {
			return "-"
		}
		s = fmt.Sprint(*v)
	case *float64:
		if v == nil {
			return "-"
		}
		s = formatFloat(*v)
	case float64:
		s = formatFloat(v)
	case string:
		s = v
	default:
		s = fmt.Sprint(v)
	}
	s = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	if s == "" {
		return "-"
	}
	return s
}

// formatFloat prints a metric compactly: the shortest exact form up to 6
// significant digits.
func formatFloat(f float64) string {
	return fmt.Sprintf("%.6g", f)
}

// fixedCompletion completes a flag or argument from a fixed list.
func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
