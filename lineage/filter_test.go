package lineage

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// cmpf builds a Compare for the tables below.
func cmpf(ns, key, op string, values ...any) Compare {
	return Compare{Field: FieldRef{Namespace: ns, Key: key}, Op: op, Values: values}
}

var (
	aucGT    = cmpf("metrics", "auc", ">", 0.9)
	modelXGB = cmpf("params", "model", "=", "xgb")
	teamRisk = cmpf("tags", "team", "=", "risk")
	ma       = cmpf("metrics", "a", ">", 1.0)
	mb       = cmpf("metrics", "b", "<", 2.0)
	mc       = cmpf("metrics", "c", "=", 3.0)
)

var parseFilterTests = []struct {
	in   string
	want Filter
}{
	// The examples of the brief and DESIGN.md.
	{`metrics.auc > 0.9 and params.model = 'xgb' and tags.team = 'risk'`,
		And{And{aucGT, modelXGB}, teamRisk}},
	{`metrics.auc > 0.9 OR (params.lr = '0.1' AND attributes.status = 'FINISHED')`,
		Or{aucGT, And{cmpf("params", "lr", "=", "0.1"), cmpf("attributes", "status", "=", "FINISHED")}}},
	{`params."learning rate" = '0.1'`, cmpf("params", "learning rate", "=", "0.1")},
	{"params.`learning rate` = '0.1'", cmpf("params", "learning rate", "=", "0.1")},
	{`tags.owner LIKE 'ann%'`, cmpf("tags", "owner", "LIKE", "ann%")},
	{`tags.owner ILIKE '%ANN%'`, cmpf("tags", "owner", "ILIKE", "%ANN%")},
	{`attributes.status IN ('FINISHED', 'FAILED')`, cmpf("attributes", "status", "IN", "FINISHED", "FAILED")},
	{`attributes.status NOT IN ('RUNNING')`, cmpf("attributes", "status", "NOT IN", "RUNNING")},
	{`attributes.start_time > 1700000000000`, cmpf("attributes", "startedAt", ">", 1700000000000.0)},
	{`run_name = 'x'`, cmpf("attributes", "name", "=", "x")},
	{`attributes.run_name = 'x'`, cmpf("attributes", "name", "=", "x")},

	// Namespace aliases, as MLflow allows, and case-insensitive names.
	{`metric.auc > 0.9`, aucGT},
	{`param.model = 'xgb'`, modelXGB},
	{`parameter.model = 'xgb'`, modelXGB},
	{`parameters.model = 'xgb'`, modelXGB},
	{`tag.team = 'risk'`, teamRisk},
	{`attr.status = 'FAILED'`, cmpf("attributes", "status", "=", "FAILED")},
	{`attribute.status = 'FAILED'`, cmpf("attributes", "status", "=", "FAILED")},
	{`run.run_id = 'run:1'`, cmpf("attributes", "id", "=", "run:1")},
	{`METRICS.auc > 0.9`, aucGT},
	{`Metrics.AUC > 0.9`, cmpf("metrics", "AUC", ">", 0.9)}, // keys are case-sensitive
	{`Attributes.Start_Time >= 1`, cmpf("attributes", "startedAt", ">=", 1.0)},

	// Attribute names.
	{`status = 'RUNNING'`, cmpf("attributes", "status", "=", "RUNNING")},
	{`name ILIKE 'nightly%'`, cmpf("attributes", "name", "ILIKE", "nightly%")},
	{`start_time < 5`, cmpf("attributes", "startedAt", "<", 5.0)},
	{`attributes.end_time <= '2024-01-02T03:04:05Z'`, cmpf("attributes", "endedAt", "<=", "2024-01-02T03:04:05Z")},
	{`attributes.endedAt > '2024-01-02T03:04:05.123+02:00'`, cmpf("attributes", "endedAt", ">", "2024-01-02T03:04:05.123+02:00")},
	{`attributes.experiment_id = 'experiment:churn'`, cmpf("attributes", "experiment", "=", "experiment:churn")},
	{`attributes.experiment = 'e'`, cmpf("attributes", "experiment", "=", "e")},
	{`attributes.pipeline = 'p'`, cmpf("attributes", "pipeline", "=", "p")},
	{`attributes.run_id IN ('a', 'b')`, cmpf("attributes", "id", "IN", "a", "b")},
	{`attributes.id != 'a'`, cmpf("attributes", "id", "!=", "a")},
	{`attributes."run_name" = 'x'`, cmpf("attributes", "name", "=", "x")},

	// Operators.
	{`metrics.a = 1`, cmpf("metrics", "a", "=", 1.0)},
	{`metrics.a != 1`, cmpf("metrics", "a", "!=", 1.0)},
	{`metrics.a <> 1`, cmpf("metrics", "a", "!=", 1.0)},
	{`metrics.a < 1`, cmpf("metrics", "a", "<", 1.0)},
	{`metrics.a <= 1`, cmpf("metrics", "a", "<=", 1.0)},
	{`metrics.a > 1`, ma},
	{`metrics.a >= 1`, cmpf("metrics", "a", ">=", 1.0)},
	{`params.x != 'y'`, cmpf("params", "x", "!=", "y")},
	{`tags.x like 'a_'`, cmpf("tags", "x", "LIKE", "a_")},
	{`tags.x not in ('a','b' , 'c')`, cmpf("tags", "x", "NOT IN", "a", "b", "c")},
	{`tags.x In ('a')`, cmpf("tags", "x", "IN", "a")},

	// Precedence: AND binds tighter than OR; both associate to the left.
	{`metrics.a > 1 OR metrics.b < 2 AND metrics.c = 3`, Or{ma, And{mb, mc}}},
	{`metrics.a > 1 AND metrics.b < 2 OR metrics.c = 3`, Or{And{ma, mb}, mc}},
	{`(metrics.a > 1 OR metrics.b < 2) AND metrics.c = 3`, And{Or{ma, mb}, mc}},
	{`metrics.a > 1 OR metrics.b < 2 OR metrics.c = 3`, Or{Or{ma, mb}, mc}},
	{`metrics.a > 1 AND (metrics.b < 2 AND metrics.c = 3)`, And{ma, And{mb, mc}}},
	{`metrics.a > 1 or (metrics.b < 2 or metrics.c = 3)`, Or{ma, Or{mb, mc}}},
	{`((metrics.a > 1))`, ma},
	{`metrics.a > 1 AnD metrics.b < 2 oR metrics.c = 3`, Or{And{ma, mb}, mc}},

	// Numbers.
	{`metrics.a > -1`, cmpf("metrics", "a", ">", -1.0)},
	{`metrics.a > -.5`, cmpf("metrics", "a", ">", -0.5)},
	{`metrics.a > .5`, cmpf("metrics", "a", ">", 0.5)},
	{`metrics.a > 2.`, cmpf("metrics", "a", ">", 2.0)},
	{`metrics.a > 1e3`, cmpf("metrics", "a", ">", 1000.0)},
	{`metrics.a > 1.5E-3`, cmpf("metrics", "a", ">", 0.0015)},
	{`metrics.a > 2e+2`, cmpf("metrics", "a", ">", 200.0)},
	{`metrics.a>-1`, cmpf("metrics", "a", ">", -1.0)},

	// Strings and quoting.
	{`params.x = 'it''s'`, cmpf("params", "x", "=", "it's")},
	{`params.x = 'it\'s'`, cmpf("params", "x", "=", "it's")},
	{`params.x = "double"`, cmpf("params", "x", "=", "double")},
	{`params.x = "say ""hi"" \"twice\""`, cmpf("params", "x", "=", `say "hi" "twice"`)},
	{`params.x = 'back\\slash'`, cmpf("params", "x", "=", `back\slash`)},
	{`params.x LIKE '50\%'`, cmpf("params", "x", "LIKE", `50\%`)}, // other backslashes stay
	{`params.x = ''`, cmpf("params", "x", "=", "")},
	{`params.x = '日本語'`, cmpf("params", "x", "=", "日本語")},
	{`params.x = 'a and b or c'`, cmpf("params", "x", "=", "a and b or c")},
	{`params."a.b" = 'x'`, cmpf("params", "a.b", "=", "x")},
	{`params.a.b = 'x'`, cmpf("params", "a.b", "=", "x")},
	{"params.`a``b` = 'x'", cmpf("params", "a`b", "=", "x")},
	{`params."a""b" = 'x'`, cmpf("params", "a\"b", "=", "x")},
	{`metrics."val/loss" < 0.3`, cmpf("metrics", "val/loss", "<", 0.3)},
	{`metrics.and > 1`, cmpf("metrics", "and", ">", 1.0)}, // keywords are keys after a dot
	{`params.in = 'x'`, cmpf("params", "in", "=", "x")},

	// Layout.
	{"  metrics.a > 1\n\tAND\r\n metrics.b < 2  ", And{ma, mb}},
	{`metrics.a>1 AND(metrics.b<2)`, And{ma, mb}},
	{"", nil},
	{" \t\r\n", nil},
}

func TestParseFilter(t *testing.T) {
	for _, tt := range parseFilterTests {
		got, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilter(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
	}
}

// parseFilterErrorTests hold invalid filters and the column each error is at.
var parseFilterErrorTests = []struct {
	name, in string
	column   int
}{
	{"value missing", `metrics.auc >`, 14},
	{"field missing after AND", `metrics.auc > 0.9 and`, 22},
	{"keyword as field", `metrics.a > 1 AND AND metrics.b > 1`, 19},
	{"prefix NOT", `NOT metrics.a > 1`, 1},
	{"operator as field", `= 1`, 1},
	{"string as field", `'x' = params.a`, 1},
	{"unclosed paren", `(metrics.auc > 1`, 17},
	{"unclosed paren before AND", `(metrics.a > 1 metrics.b < 2)`, 16},
	{"extra close paren", `metrics.auc > 1)`, 16},
	{"empty parens", `()`, 2},
	{"trailing garbage", `metrics.auc > 1 params.x = 'y'`, 17},
	{"trailing comma", `metrics.auc > 1,`, 16},
	{"unexpected character", `metrics.auc ~ 1`, 13},
	{"double equals", `metrics.auc == 1`, 13},
	{"unknown operator", `metrics.auc => 1`, 13},
	{"word operator", `metrics.auc BETWEEN 1`, 13},
	{"no operator", `metrics.auc`, 12},
	{"NOT without IN", `attributes.status NOT 'a'`, 23},
	{"NOT LIKE", `params.x NOT LIKE 'a'`, 14},
	{"string for a metric", `metrics.auc > '0.9'`, 15},
	{"number for a param", `params.lr = 0.1`, 13},
	{"number for a tag", `tags.t = 1`, 10},
	{"number for a string attribute", `attributes.status = 1`, 21},
	{"IN for a metric", `metrics.auc IN (1)`, 13},
	{"LIKE for a metric", `metrics.auc LIKE 'x'`, 13},
	{"order for a param", `params.x > 'a'`, 10},
	{"LIKE for a time", `attributes.start_time LIKE 'x'`, 23},
	{"IN for a time", `attributes.start_time IN (1)`, 23},
	{"bad time", `attributes.start_time > 'yesterday'`, 25},
	{"empty IN list", `attributes.status IN ()`, 23},
	{"IN list without comma", `params.abcdefghij IN ('a' 'b')`, 27},
	{"IN list unclosed", `params.abcdefghij IN ('a',`, 27},
	{"IN without parens", `params.abcdefghij IN 'a'`, 22},
	{"IN with a number", `params.abcdefghij IN ('a', 1)`, 28},
	{"unknown attribute", `attributes.foo = 'x'`, 1},
	{"unknown run status", `attributes.status = 'FINISH'`, 21},
	{"unknown run status in a list", `status IN ('FAILED', 'done')`, 22},
	{"unknown bare attribute", `auc > 1`, 1},
	{"namespace without key", `metrics > 1`, 1},
	{"unknown namespace", `foo.bar = 'x'`, 1},
	{"datasets namespace", `datasets.name = 'x'`, 1},
	{"dot without key", `metrics. = 1`, 9},
	{"trailing dot", `metrics.a. > 1`, 11},
	{"empty quoted key", `metrics."" > 1`, 9},
	{"quoted key after key", `metrics.a."b" > 1`, 1},
	{"unterminated key", `metrics."auc > 1`, 9},
	{"unterminated string", `params.x = 'abc`, 12},
	{"escaped final quote", `params.x = 'abc\'`, 12},
	{"control character", "params.x = 'a\x1bb'", 14},
	{"newline in string", "params.x = 'a\nb'", 14},
	{"bidi override", "params.x = 'a\u202eb'", 14},
	{"invalid UTF-8", "params.x = '\xff'", 13},
	{"bad number", `metrics.a > 1.2.3`, 13},
	{"number glued to word", `metrics.a > 0.9and metrics.b > 1`, 13},
	{"number out of range", `metrics.a > 1e999`, 13},
	{"lonely minus", `metrics.a > - 1`, 13},
	{"injection is not a comparison", `params.x = 'a' OR 1=1`, 19},
	{"statement separator", `params.x = 'a'; DROP TABLE runs`, 15},
	{"column counts characters", `params.x = 'é' AND ~`, 20},
	{"multi-line", "params.x = 'a' OR\nparams.y =", 11},
}

func TestParseFilterErrors(t *testing.T) {
	for _, tt := range parseFilterErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.in)
			checkFilterError(t, tt.in, f, err, "filter", fmt.Sprintf("column %d:", tt.column))
		})
	}
}

func checkFilterError(t *testing.T, in string, f Filter, err error, field, where string) {
	t.Helper()
	if err == nil {
		t.Fatalf("ParseFilter(%q) = %#v, want an error", in, f)
	}
	if f != nil {
		t.Errorf("ParseFilter(%q) returned %#v with its error", in, f)
	}
	if got := ErrorCode(err); got != EINVALID {
		t.Errorf("ParseFilter(%q): code %q, want %q (%v)", in, got, EINVALID, err)
	}
	if got := ErrorField(err); got != field {
		t.Errorf("ParseFilter(%q): field %q, want %q (%v)", in, got, field, err)
	}
	if msg := ErrorMessage(err); !strings.Contains(msg, where) {
		t.Errorf("ParseFilter(%q): message %q does not contain %q", in, msg, where)
	}
}

func TestParseFilterLimits(t *testing.T) {
	// Length: MaxFilterLength bytes parse, one more does not.
	long := func(n int) string {
		prefix := `params.x = '`
		return prefix + strings.Repeat("a", n-len(prefix)-1) + "'"
	}
	if _, err := ParseFilter(long(MaxFilterLength)); err != nil {
		t.Errorf("filter of %d bytes: %v", MaxFilterLength, err)
	}
	in := long(MaxFilterLength + 1)
	f, err := ParseFilter(in)
	checkFilterError(t, "long filter", f, err, "filter", fmt.Sprintf("column %d:", MaxFilterLength+1))

	// Depth: MaxFilterDepth nested parentheses parse, one more does not.
	nested := func(n int) string {
		return strings.Repeat("(", n) + "metrics.a > 1" + strings.Repeat(")", n)
	}
	if got, err := ParseFilter(nested(MaxFilterDepth)); err != nil || !reflect.DeepEqual(got, ma) {
		t.Errorf("%d levels: got %#v, %v", MaxFilterDepth, got, err)
	}
	in = nested(MaxFilterDepth + 1)
	f, err = ParseFilter(in)
	checkFilterError(t, in, f, err, "filter", fmt.Sprintf("column %d:", MaxFilterDepth+1))
	// Depth is nesting, not the number of groups.
	in = strings.Repeat("(metrics.a > 1) AND ", 50) + "metrics.a > 1"
	if _, err := ParseFilter(in); err != nil {
		t.Errorf("50 sibling groups: %v", err)
	}

	// Comparisons: MaxFilterComparisons parse, one more does not.
	many := func(n int) string {
		return strings.TrimSuffix(strings.Repeat("metrics.a > 1 OR ", n), " OR ")
	}
	if _, err := ParseFilter(many(MaxFilterComparisons)); err != nil {
		t.Errorf("%d comparisons: %v", MaxFilterComparisons, err)
	}
	in = many(MaxFilterComparisons + 1)
	f, err = ParseFilter(in)
	checkFilterError(t, in, f, err, "filter", fmt.Sprintf("column %d:", MaxFilterComparisons*len("metrics.a > 1 OR ")+1))
}

// Values that look like SQL or Cypher stay literal strings in one comparison.
func TestParseFilterInjection(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Filter
	}{
		{`params.x = 'a'' OR 1=1 --'`, cmpf("params", "x", "=", "a' OR 1=1 --")},
		{`params.x = 'x''); DROP TABLE runs; --'`, cmpf("params", "x", "=", "x'); DROP TABLE runs; --")},
		{`tags.t = '\' OR ''='`, cmpf("tags", "t", "=", "' OR '=")},
		{`params.x = "a"" OR ""1""=""1"`, cmpf("params", "x", "=", `a" OR "1"="1`)},
		{`params.x = '}) MATCH (n) DETACH DELETE n //'`, cmpf("params", "x", "=", "}) MATCH (n) DETACH DELETE n //")},
		{`params."x' OR 1=1 --" = 'y'`, cmpf("params", "x' OR 1=1 --", "=", "y")},
		{"params.`x` OR 1=1` = 'y'", nil}, // an error, see below
	} {
		got, err := ParseFilter(tt.in)
		if tt.want == nil {
			checkFilterError(t, tt.in, got, err, "filter", "column ")
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilter(%q)\n got %#v, %v\nwant %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatFilter(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`metric.auc>0.9 and param.model="xgb"`, `metrics.auc > 0.9 AND params.model = 'xgb'`},
		{`params."learning rate" = 'it''s'`, `params."learning rate" = 'it''s'`},
		{"params.`a\"b` = 'x'", `params."a""b" = 'x'`},
		{`params.a.b = 'x'`, `params."a.b" = 'x'`},
		{`run_name <> 'x'`, `attributes.name != 'x'`},
		{`start_time > 1700000000000`, `attributes.startedAt > 1700000000000`},
		{`metrics.a > 1e-7 or metrics.a < -2.5e21`, `metrics.a > 1e-07 OR metrics.a < -2.5e+21`},
		{`metrics.a > 1 or (metrics.b < 2 or metrics.c = 3)`, `metrics.a > 1 OR (metrics.b < 2 OR metrics.c = 3)`},
		{`metrics.a > 1 or metrics.b < 2 or metrics.c = 3`, `metrics.a > 1 OR metrics.b < 2 OR metrics.c = 3`},
		{`(metrics.a > 1 or metrics.b < 2) and metrics.c = 3`, `(metrics.a > 1 OR metrics.b < 2) AND metrics.c = 3`},
		{`metrics.a > 1 and (metrics.b < 2 and metrics.c = 3)`, `metrics.a > 1 AND (metrics.b < 2 AND metrics.c = 3)`},
		{`metrics.a > 1 or metrics.b < 2 and metrics.c = 3`, `metrics.a > 1 OR metrics.b < 2 AND metrics.c = 3`},
		{`((metrics.a > 1))`, `metrics.a > 1`},
		{`status in ('FAILED','KILLED')`, `attributes.status IN ('FAILED', 'KILLED')`},
		{`tags.x not in ("a")`, `tags.x NOT IN ('a')`},
		{`tags.x ilike 'a%'`, `tags.x ILIKE 'a%'`},
		{`params.p = 'C:\dir\\x'`, `params.p = 'C:\\dir\\x'`},
		{``, ``},
	} {
		f, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if got := FormatFilter(f); got != tt.want {
			t.Errorf("FormatFilter(ParseFilter(%q))\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}

	// Hand-built trees: control characters never reach a log line.
	for _, tt := range []struct {
		f    Filter
		want string
	}{
		{cmpf("params", "x", "=", "a\nb\x1b[31m"), "params.x = 'a\uFFFDb\uFFFD[31m'"},
		{cmpf("params", "k\r\n", "=", "v"), "params.\"k\uFFFD\uFFFD\" = 'v'"},
		{&And{ma, mb}, `metrics.a > 1 AND metrics.b < 2`},
		{nil, ``},
	} {
		if got := FormatFilter(tt.f); got != tt.want {
			t.Errorf("FormatFilter(%#v)\n got %q\nwant %q", tt.f, got, tt.want)
		}
	}
}

func TestFormatFilterRoundTrip(t *testing.T) {
	var ins []string
	for _, tt := range parseFilterTests {
		ins = append(ins, tt.in)
	}
	for _, tt := range []Filter{
		cmpf("metrics", "a", "=", math.Copysign(0, -1)),
		cmpf("metrics", "a", "<", math.MaxFloat64),
		cmpf("metrics", "a", "<", math.SmallestNonzeroFloat64),
		cmpf("metrics", "a", "<", 0.1+0.2),
		cmpf("params", `it's "quoted" \ `+"`tick`", "=", `it's "quoted" \ \'`),
		And{ma, And{mb, Or{mc, ma}}},
	} {
		ins = append(ins, FormatFilter(tt))
	}
	for _, in := range ins {
		checkRoundTrip(t, in)
	}
}

// checkRoundTrip checks that a filter that parses formats to text that
// parses to the same tree and formats to the same text.
func checkRoundTrip(t *testing.T, in string) {
	t.Helper()
	f, err := ParseFilter(in)
	if err != nil {
		return
	}
	text := FormatFilter(f)
	// The canonical text may be longer than the input; the other limits hold.
	again, err := parseFilter(text, max(MaxFilterLength, len(text)))
	if err != nil {
		t.Fatalf("ParseFilter(%q) = %#v\nformats as %q, which does not parse: %v", in, f, text, err)
	}
	if !reflect.DeepEqual(again, f) {
		t.Fatalf("ParseFilter(%q)\n  = %#v\nformats as %q\nwhich parses as %#v", in, f, text, again)
	}
	if text2 := FormatFilter(again); text2 != text {
		t.Fatalf("FormatFilter is not stable for %q: %q then %q", in, text, text2)
	}
}

func TestFieldRefString(t *testing.T) {
	for _, tt := range []struct {
		f    FieldRef
		want string
	}{
		{FieldRef{"metrics", "auc"}, `metrics.auc`},
		{FieldRef{"params", "learning rate"}, `params."learning rate"`},
		{FieldRef{"params", "a.b"}, `params."a.b"`},
		{FieldRef{"params", `a"b`}, `params."a""b"`},
		{FieldRef{"params", `a\b`}, `params."a\\b"`},
		{FieldRef{"params", "1x"}, `params."1x"`},
		{FieldRef{"tags", "_x9"}, `tags._x9`},
		{FieldRef{"attributes", "startedAt"}, `attributes.startedAt`},
		{FieldRef{"", "status"}, `status`},
		{FieldRef{"params", ""}, `params.""`},
	} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#v.String() = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	ob := func(ns, key string, desc bool) OrderBy { return OrderBy{Field: FieldRef{ns, key}, Desc: desc} }
	for _, tt := range []struct {
		in   []string
		want []OrderBy
	}{
		{[]string{"metrics.auc DESC", "params.lr", "attributes.start_time ASC", "start_time", "run_name desc"}, []OrderBy{
			ob("metrics", "auc", true), ob("params", "lr", false), ob("attributes", "startedAt", false),
			ob("attributes", "startedAt", false), ob("attributes", "name", true),
		}},
		{[]string{`params."learning rate" Desc`, "metric.`val loss`", " tag.team  asc "}, []OrderBy{
			ob("params", "learning rate", true), ob("metrics", "val loss", false), ob("tags", "team", false),
		}},
		{[]string{"attr.end_time", "experiment_id DESC", "run_id"}, []OrderBy{
			ob("attributes", "endedAt", false), ob("attributes", "experiment", true), ob("attributes", "id", false),
		}},
		{nil, nil},
	} {
		got, err := ParseOrderBy("orderBy", tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOrderBy(%q)\n got %#v, %v\nwant %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseOrderByErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    []string
		where string // index and column the message names
	}{
		{"bad direction", []string{"metrics.auc", "metrics.auc DESCENDING"}, "orderBy[1]: at column 13:"},
		{"unknown attribute", []string{"foo"}, "orderBy[0]: at column 1:"},
		{"unknown namespace", []string{"metrics.a", "x.y", "metrics.b"}, "orderBy[1]: at column 1:"},
		{"empty term", []string{""}, "orderBy[0]: at column 1:"},
		{"two directions", []string{"metrics.auc DESC ASC"}, "orderBy[0]: at column 18:"},
		{"a comparison", []string{"metrics.auc > 1"}, "orderBy[0]: at column 13:"},
		{"a comma", []string{"metrics.a, metrics.b"}, "orderBy[0]: at column 10:"},
		{"unterminated key", []string{`params."lr`}, "orderBy[0]: at column 8:"},
		{"too long", []string{strings.Repeat("a", MaxFilterLength+1)}, fmt.Sprintf("orderBy[0]: at column %d:", MaxFilterLength+1)},
		{"too many", []string{"status", "status", "status", "status", "status", "status"}, "orderBy: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrderBy("orderBy", tt.in)
			if err == nil {
				t.Fatalf("ParseOrderBy(%q) = %#v, want an error", tt.in, got)
			}
			if ErrorCode(err) != EINVALID || ErrorField(err) != "orderBy" {
				t.Errorf("ParseOrderBy(%q): code %q field %q, want %q %q", tt.in, ErrorCode(err), ErrorField(err), EINVALID, "orderBy")
			}
			if msg := ErrorMessage(err); !strings.HasPrefix(msg, tt.where) {
				t.Errorf("ParseOrderBy(%q): message %q does not start with %q", tt.in, msg, tt.where)
			}
		})
	}
}

// checkFilterTree checks the promises ParseFilter makes about its trees.
func checkFilterTree(t *testing.T, in string, f Filter) {
	t.Helper()
	switch f := f.(type) {
	case And:
		checkFilterTree(t, in, f.Left)
		checkFilterTree(t, in, f.Right)
	case Or:
		checkFilterTree(t, in, f.Left)
		checkFilterTree(t, in, f.Right)
	case Compare:
		n := len(f.Values)
		if n == 0 || n > 1 && f.Op != "IN" && f.Op != "NOT IN" {
			t.Fatalf("ParseFilter(%q): %d values for %s", in, n, f.Op)
		}
		for _, v := range f.Values {
			switch v := v.(type) {
			case string:
				if strings.ContainsFunc(v, unsafeFilterRune) {
					t.Fatalf("ParseFilter(%q): value %q holds a control character", in, v)
				}
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) || f.Field.Namespace != "metrics" && filterTypeOf(f.Field) != timeFilterField {
					t.Fatalf("ParseFilter(%q): number %v for %s", in, v, f.Field)
				}
			default:
				t.Fatalf("ParseFilter(%q): value %#v of type %T", in, v, v)
			}
		}
		if strings.ContainsFunc(f.Field.Key, unsafeFilterRune) || f.Field.Key == "" {
			t.Fatalf("ParseFilter(%q): key %q", in, f.Field.Key)
		}
		switch f.Field.Namespace {
		case "metrics", "params", "tags", "attributes":
		default:
			t.Fatalf("ParseFilter(%q): namespace %q", in, f.Field.Namespace)
		}
	default:
		t.Fatalf("ParseFilter(%q): node %#v", in, f)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, tt := range parseFilterTests {
		f.Add(tt.in)
	}
	for _, tt := range parseFilterErrorTests {
		f.Add(tt.in)
	}
	f.Add(`params.x = 'a'' OR 1=1 --'`)
	f.Add(`(metrics.a > 1 OR params."k""ey" NOT IN ('x', "y")) AND attributes.end_time <= '2024-01-02T03:04:05Z'`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseFilter(in)
		if err != nil {
			checkFilterError(t, in, got, err, "filter", "column ")
			return
		}
		if got == nil {
			if strings.Trim(in, " \t\r\n") != "" {
				t.Fatalf("ParseFilter(%q) = nil, nil", in)
			}
			return
		}
		checkFilterTree(t, in, got)
		checkRoundTrip(t, in)
	})
}
