package lineage

// The runs filter language: MLflow's search_runs syntax, extended with OR and
// parentheses, parsed into the Filter AST by a small lexer and a
// recursive-descent parser. Filters are never spliced into SQL or Cypher; a
// backend evaluates the AST with parameters.
//
//	filter     = [ or ] .
//	or         = and { "OR" and } .                  (AND binds tighter than OR)
//	and        = primary { "AND" primary } .
//	primary    = "(" or ")" | comparison .
//	comparison = field ( op value | [ "NOT" ] "IN" "(" value { "," value } ")" ) .
//	op         = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE" .
//	field      = [ namespace "." ] ( key | quotedKey ) .  (no namespace: an attribute)
//	namespace  = metric[s] | param[s] | parameter[s] | tag[s] | attr | attribute[s] | run .
//	key        = ( letter | "_" ) { letter | digit | "_" | "." } .
//	quotedKey  = '"' … '"' | "`" … "`" .            (directly after the dot)
//	value      = string | number .
//	string     = "'" … "'" | '"' … '"' .           (doubled quote or \' \" \\ escape)
//	number     = [ "-" ] ( digits [ "." [ digits ] ] | "." digits ) [ ( "e" | "E" ) [ "+" | "-" ] digits ] .
//
// Keywords, namespaces and attribute names are case-insensitive; keys and
// values are not.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the filter language, so that a client cannot make the server
// parse, log or evaluate an arbitrarily large expression.
const (
	// MaxFilterLength is the longest filter ParseFilter accepts, in bytes;
	// it also bounds each ParseOrderBy term.
	MaxFilterLength = 4096
	// MaxFilterDepth is how deeply parentheses may nest in a filter.
	MaxFilterDepth = 32
	// MaxFilterComparisons is how many comparisons one filter may hold.
	MaxFilterComparisons = 100
	// MaxOrderByTerms is how many terms ParseOrderBy accepts.
	MaxOrderByTerms = 5
)

// ParseFilter parses a runs filter such as
//
//	metrics.auc > 0.9 AND (params.model = 'xgb' OR tags.team LIKE 'risk%')
//
// An empty or blank string is no filter: (nil, nil). Namespaces are
// normalized to metrics, params, tags and attributes, and attribute names to
// the store's (run_name → name, start_time → startedAt, end_time → endedAt,
// experiment_id → experiment, run_id → id). Metrics compare with numbers
// (=, !=, <, <=, >, >=); params, tags and the string attributes with quoted
// strings (=, !=, LIKE, ILIKE, IN, NOT IN) — a bare number for a param is an
// error, as in MLflow, because '0.10' and 0.1 are different params;
// startedAt and endedAt with unix milliseconds or RFC 3339 strings. "<>" is
// read as "!=". Values are float64 or string in Compare.Values. Strings may
// not hold control or bidirectional-formatting characters, so that filters
// are safe to log. Errors are EINVALID with field "filter" and say at which
// column what was expected and what was found.
func ParseFilter(s string) (Filter, error) {
	return parseFilter(s, MaxFilterLength)
}

func parseFilter(s string, maxLen int) (Filter, error) {
	if strings.Trim(s, " \t\r\n") == "" {
		return nil, nil
	}
	p, err := newFilterParser(s, maxLen)
	var f Filter
	if err == nil {
		f, err = p.or()
	}
	if err == nil {
		if t := p.peek(); t.kind == tokRParen {
			err = p.fail(t, "unbalanced ')': there is no '(' to close")
		} else if t.kind != tokEOF {
			err = p.fail(t, "expected AND, OR or end of input but found %s", p.describe(t))
		}
	}
	if err != nil {
		return nil, Invalid("filter", "%s", positioned(s, err))
	}
	return f, nil
}

// ParseOrderBy parses order_by terms such as "metrics.auc DESC", "params.lr"
// or "start_time ASC" (ascending unless DESC), with the field names of
// ParseFilter. Errors are EINVALID naming field, their message the term's
// index and column: "orderBy[1]: at column 13: …".
func ParseOrderBy(field string, terms []string) ([]OrderBy, error) {
	if len(terms) > MaxOrderByTerms {
		return nil, Invalid(field, "at most %d terms are allowed, got %d", MaxOrderByTerms, len(terms))
	}
	var out []OrderBy
	for i, term := range terms {
		ob, err := parseOrderTerm(term)
		if err != nil {
			return nil, &Error{Code: EINVALID, Field: field,
				Message: fmt.Sprintf("%s[%d]: %s", field, i, positioned(term, err))}
		}
		out = append(out, ob)
	}
	return out, nil
}

func parseOrderTerm(s string) (OrderBy, error) {
	p, err := newFilterParser(s, MaxFilterLength)
	if err != nil {
		return OrderBy{}, err
	}
	ref, err := p.field()
	if err != nil {
		return OrderBy{}, err
	}
	ob := OrderBy{Field: ref}
	if dir := p.peek(); p.isKeyword(dir, "DESC") || p.isKeyword(dir, "ASC") {
		ob.Desc = p.isKeyword(dir, "DESC")
		p.next()
		if t := p.peek(); t.kind != tokEOF {
			return OrderBy{}, p.fail(t, "expected end of term after %s but found %s", strings.ToUpper(dir.text), p.describe(t))
		}
	} else if dir.kind != tokEOF {
		return OrderBy{}, p.fail(dir, "expected ASC, DESC or end of term but found %s", p.describe(dir))
	}
	return ob, nil
}

// String returns the canonical text of a field: the namespace, a dot and
// the key, double-quoted unless it is a plain identifier.
func (f FieldRef) String() string {
	key := f.Key
	if !isPlainFilterKey(key) {
		key = quoteFilterString(key, '"')
	}
	if f.Namespace == "" {
		return key
	}
	return f.Namespace + "." + key
}

// FormatFilter prints a filter as canonical text (upper-case keywords,
// normalized names, single-quoted strings, only the parentheses needed) that
// ParseFilter reads back as the same AST; nil prints as "". The canonical
// text may be longer than the input it came from. Control characters, which
// ParseFilter never produces, print as U+FFFD so the output is safe to log.
func FormatFilter(f Filter) string {
	var b strings.Builder
	writeFilter(&b, f)
	return b.String()
}

func writeFilter(b *strings.Builder, f Filter) {
	switch f := f.(type) {
	case And:
		writeOperand(b, f.Left, isFilterOr(f.Left))
		b.WriteString(" AND ")
		writeOperand(b, f.Right, isFilterOr(f.Right) || isFilterAnd(f.Right))
	case Or:
		writeOperand(b, f.Left, false)
		b.WriteString(" OR ")
		writeOperand(b, f.Right, isFilterOr(f.Right))
	case Compare:
		b.WriteString(f.Field.String() + " " + f.Op + " ")
		if f.Op == "IN" || f.Op == "NOT IN" {
			b.WriteByte('(')
			for i, v := range f.Values {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(formatFilterValue(v))
			}
			b.WriteByte(')')
		} else if len(f.Values) > 0 {
			b.WriteString(formatFilterValue(f.Values[0]))
		}
	case *And:
		writeOperand(b, *f, false)
	case *Or:
		writeOperand(b, *f, false)
	case *Compare:
		writeOperand(b, *f, false)
	case nil:
	default:
		fmt.Fprintf(b, "<%T>", f)
	}
}

func writeOperand(b *strings.Builder, f Filter, parens bool) {
	if parens {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	writeFilter(b, f)
}

func isFilterAnd(f Filter) bool { _, ok := f.(And); return ok }
func isFilterOr(f Filter) bool  { _, ok := f.(Or); return ok }

func formatFilterValue(v any) string {
	switch v := v.(type) {
	case string:
		return quoteFilterString(v, '\'')
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e21 {
			return strconv.FormatFloat(v, 'f', -1, 64) // 1700000000000, not 1.7e+12
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return quoteFilterString(fmt.Sprint(v), '\'')
	}
}

// quoteFilterString quotes s with q, doubling q and backslashes.
func quoteFilterString(s string, q byte) string {
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == rune(q):
			b.WriteByte(q)
		case r == '\\':
			b.WriteByte('\\')
		case unsafeFilterRune(r):
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	b.WriteByte(q)
	return b.String()
}

func isPlainFilterKey(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isFilterWordStart(c) || i > 0 && isFilterDigit(c)) {
			return false
		}
	}
	return s != ""
}

// unsafeFilterRune reports characters that may not appear in a filter
// string: they could forge log lines or reorder text on a terminal.
func unsafeFilterRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control, unicode.Zl, unicode.Zp)
}

// Field names.

var filterNamespaces = map[string]string{
	"metric": "metrics", "metrics": "metrics",
	"param": "params", "params": "params", "parameter": "params", "parameters": "params",
	"tag": "tags", "tags": "tags",
	"attr": "attributes", "attribute": "attributes", "attributes": "attributes", "run": "attributes",
}

var filterAttributes = map[string]string{
	"status": "status", "run_name": "name", "name": "name",
	"start_time": "startedAt", "startedat": "startedAt", "end_time": "endedAt", "endedat": "endedAt",
	"experiment_id": "experiment", "experiment": "experiment", "pipeline": "pipeline", "pipeline_id": "pipeline",
	"run_id": "id", "id": "id",
}

// filterType is what a field compares with.
type filterType int

const (
	numberFilterField filterType = iota // metrics
	stringFilterField                   // params, tags and most attributes
	timeFilterField                     // startedAt, endedAt: unix ms or RFC 3339
)

func filterTypeOf(f FieldRef) filterType {
	switch {
	case f.Namespace == "metrics":
		return numberFilterField
	case f.Namespace == "attributes" && (f.Key == "startedAt" || f.Key == "endedAt"):
		return timeFilterField
	}
	return stringFilterField
}

func (t filterType) allows(op string) bool {
	switch op {
	case "=", "!=":
		return true
	case "<", "<=", ">", ">=":
		return t != stringFilterField
	}
	return t == stringFilterField // LIKE, ILIKE, IN, NOT IN
}

// Lexer.

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // keyword or field, maybe with a quoted key after its last dot
	tokString         // '…' or "…"
	tokNumber         //
	tokOp             // = != <> < <= > >=
	tokLParen         //
	tokRParen         //
	tokComma          //
	tokError          // a lexical error, always the last token; text is the message
)

type filterToken struct {
	kind     tokKind
	pos, end int     // byte offsets in the input
	text     string  // the word (without its quoted key), operator or number
	str      string  // tokString: the value; tokWord: the quoted key
	quoted   bool    // tokWord has a quoted key
	num      float64 // tokNumber
}

// filterSyntaxError is an error at a byte offset of the input.
type filterSyntaxError struct {
	pos int
	msg string
}

func (e *filterSyntaxError) Error() string { return e.msg }

// positioned renders a parse error with the line and column it is at.
func positioned(src string, err error) string {
	se, ok := err.(*filterSyntaxError)
	if !ok {
		return err.Error()
	}
	return "at " + filterWhere(src, se.pos) + ": " + se.msg
}

// filterWhere turns a byte offset into a 1-based column (counted in
// characters), with a line when the input has several.
func filterWhere(src string, pos int) string {
	before := src[:pos]
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	if strings.Contains(src, "\n") {
		return fmt.Sprintf("line %d, column %d", strings.Count(before, "\n")+1, col)
	}
	return fmt.Sprintf("column %d", col)
}

func isFilterDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isFilterWordStart(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_' }
func isFilterWordChar(c byte) bool  { return isFilterWordStart(c) || isFilterDigit(c) || c == '.' }

func lexFilter(src string) []filterToken {
	var toks []filterToken
	for i := 0; ; {
		for i < len(src) && strings.IndexByte(" \t\r\n", src[i]) >= 0 {
			i++
		}
		if i == len(src) {
			return append(toks, filterToken{kind: tokEOF, pos: i, end: i})
		}
		t, err := lexFilterToken(src, i)
		if err != nil {
			return append(toks, filterToken{kind: tokError, pos: err.pos, end: err.pos, text: err.msg})
		}
		toks = append(toks, t)
		i = t.end
	}
}

func lexFilterToken(src string, i int) (filterToken, *filterSyntaxError) {
	c := src[i]
	at := func(j int) byte {
		if j < len(src) {
			return src[j]
		}
		return 0
	}
	switch {
	case c == '(':
		return filterToken{kind: tokLParen, pos: i, end: i + 1, text: "("}, nil
	case c == ')':
		return filterToken{kind: tokRParen, pos: i, end: i + 1, text: ")"}, nil
	case c == ',':
		return filterToken{kind: tokComma, pos: i, end: i + 1, text: ","}, nil
	case c == '\'' || c == '"':
		s, end, err := lexFilterQuoted(src, i, "string")
		return filterToken{kind: tokString, pos: i, end: end, str: s}, err
	case isFilterDigit(c) || c == '.' && isFilterDigit(at(i+1)) ||
		c == '-' && (isFilterDigit(at(i+1)) || at(i+1) == '.' && isFilterDigit(at(i+2))):
		return lexFilterNumber(src, i)
	case isFilterWordStart(c):
		end := i + 1
		for end < len(src) && isFilterWordChar(src[end]) {
			end++
		}
		t := filterToken{kind: tokWord, pos: i, end: end, text: src[i:end]}
		if src[end-1] == '.' && (at(end) == '"' || at(end) == '`') {
			s, qend, err := lexFilterQuoted(src, end, "quoted key")
			if err == nil && s == "" {
				err = &filterSyntaxError{end, "a quoted key may not be empty"}
			}
			t.str, t.quoted, t.end = s, true, qend
			return t, err
		}
		return t, nil
	case strings.IndexByte("=!<>", c) >= 0:
		end := i
		for end < len(src) && strings.IndexByte("=!<>", src[end]) >= 0 {
			end++
		}
		switch op := src[i:end]; op {
		case "=", "!=", "<>", "<", "<=", ">", ">=":
			return filterToken{kind: tokOp, pos: i, end: end, text: op}, nil
		case "==":
			return filterToken{}, &filterSyntaxError{i, "unknown operator '=='; use '='"}
		default:
			return filterToken{}, &filterSyntaxError{i, fmt.Sprintf("unknown operator '%s'", truncateFilterText(op))}
		}
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return filterToken{}, &filterSyntaxError{i, "unexpected character " + strconv.QuoteRune(r)}
}

// lexFilterQuoted reads a string quoted with src[i] (', " or `) and returns its
// value and end. Doubling the quote escapes it; within ' and ", so do \' \"
// and \\, while any other backslash is kept as is (LIKE patterns use it).
func lexFilterQuoted(src string, i int, what string) (string, int, *filterSyntaxError) {
	q := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); {
		c := src[j]
		switch {
		case c == q && j+1 < len(src) && src[j+1] == q:
			b.WriteByte(q)
			j += 2
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\' && q != '`' && j+1 < len(src) && strings.IndexByte(`\'"`, src[j+1]) >= 0:
			b.WriteByte(src[j+1])
			j += 2
		default:
			r, size := utf8.DecodeRuneInString(src[j:])
			if unsafeFilterRune(r) {
				return "", j, &filterSyntaxError{j, fmt.Sprintf("%s contains the control or formatting character %U", what, r)}
			}
			b.WriteString(src[j : j+size])
			j += size
		}
	}
	return "", len(src), &filterSyntaxError{i, fmt.Sprintf("unterminated %s: no closing %c", what, q)}
}

func lexFilterNumber(src string, i int) (filterToken, *filterSyntaxError) {
	digits := func(j int) int {
		for j < len(src) && isFilterDigit(src[j]) {
			j++
		}
		return j
	}
	j := i
	if src[j] == '-' {
		j++
	}
	j = digits(j)
	if j < len(src) && src[j] == '.' {
		j = digits(j + 1)
	}
	if j < len(src) && src[j]|0x20 == 'e' {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isFilterDigit(src[k]) {
			j = digits(k)
		}
	}
	if j < len(src) && isFilterWordChar(src[j]) { // 1.2.3, 12ab, 1e
		end := j
		for end < len(src) && isFilterWordChar(src[end]) {
			end++
		}
		return filterToken{}, &filterSyntaxError{i, fmt.Sprintf("invalid number '%s'", truncateFilterText(src[i:end]))}
	}
	v, err := strconv.ParseFloat(src[i:j], 64)
	if err != nil || math.IsInf(v, 0) {
		return filterToken{}, &filterSyntaxError{i, fmt.Sprintf("number %s is out of range", truncateFilterText(src[i:j]))}
	}
	return filterToken{kind: tokNumber, pos: i, end: j, text: src[i:j], num: v}, nil
}

func truncateFilterText(s string) string {
	if utf8.RuneCountInString(s) <= 32 {
		return s
	}
	return string([]rune(s)[:31]) + "…"
}

// Parser.

type filterParser struct {
	src   string
	toks  []filterToken
	i     int
	depth int // open parentheses
	count int // comparisons so far
}

func newFilterParser(s string, maxLen int) (*filterParser, error) {
	if len(s) > maxLen {
		pos := maxLen
		for pos > 0 && !utf8.RuneStart(s[pos]) {
			pos--
		}
		return nil, &filterSyntaxError{pos, fmt.Sprintf("input is %d bytes long; the limit is %d", len(s), maxLen)}
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return nil, &filterSyntaxError{i, "input is not valid UTF-8"}
			}
		}
	}
	return &filterParser{src: s, toks: lexFilter(s)}, nil
}

func (p *filterParser) peek() filterToken { return p.toks[p.i] }

func (p *filterParser) next() filterToken {
	t := p.toks[p.i]
	if t.kind != tokEOF && t.kind != tokError {
		p.i++
	}
	return t
}

// after names the previous token for messages: " after '>'".
func (p *filterParser) after() string {
	if p.i == 0 {
		return ""
	}
	t := p.toks[p.i-1]
	return " after " + p.describe(t)
}

func (p *filterParser) describe(t filterToken) string {
	text := truncateFilterText(p.src[t.pos:t.end])
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string " + text
	case tokNumber:
		return "number " + text
	}
	return "'" + text + "'"
}

func (p *filterParser) isKeyword(t filterToken, kw string) bool {
	return t.kind == tokWord && !t.quoted && strings.EqualFold(t.text, kw)
}

// fail reports an error at t, unless t is a lexical error, which comes first.
func (p *filterParser) fail(t filterToken, format string, args ...any) error {
	if t.kind == tokError {
		return &filterSyntaxError{t.pos, t.text}
	}
	return &filterSyntaxError{t.pos, fmt.Sprintf(format, args...)}
}

func (p *filterParser) or() (Filter, error) {
	left, err := p.and()
	for err == nil && p.isKeyword(p.peek(), "OR") {
		p.next()
		var right Filter
		if right, err = p.and(); err == nil {
			left = Or{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *filterParser) and() (Filter, error) {
	left, err := p.primary()
	for err == nil && p.isKeyword(p.peek(), "AND") {
		p.next()
		var right Filter
		if right, err = p.primary(); err == nil {
			left = And{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *filterParser) primary() (Filter, error) {
	open := p.peek()
	if open.kind != tokLParen {
		return p.comparison()
	}
	if p.depth == MaxFilterDepth {
		return nil, p.fail(open, "parentheses nest deeper than %d levels", MaxFilterDepth)
	}
	p.depth++
	p.next()
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokRParen {
		return nil, p.fail(t, "expected AND, OR or ')' to close the '(' at %s but found %s",
			filterWhere(p.src, open.pos), p.describe(t))
	}
	p.next()
	p.depth--
	return f, nil
}

func (p *filterParser) comparison() (Filter, error) {
	ft := p.peek()
	ref, err := p.field()
	if err != nil {
		return nil, err
	}
	if p.count++; p.count > MaxFilterComparisons {
		return nil, p.fail(ft, "more than %d comparisons", MaxFilterComparisons)
	}
	ot := p.peek()
	var op string
	switch {
	case ot.kind == tokOp:
		op = strings.Replace(ot.text, "<>", "!=", 1)
	case p.isKeyword(ot, "LIKE") || p.isKeyword(ot, "ILIKE") || p.isKeyword(ot, "IN"):
		op = strings.ToUpper(ot.text)
	case p.isKeyword(ot, "NOT"):
		p.next()
		if t := p.peek(); !p.isKeyword(t, "IN") {
			return nil, p.fail(t, "expected IN after NOT but found %s", p.describe(t))
		}
		op = "NOT IN"
	default:
		return nil, p.fail(ot, "expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) after %s but found %s",
			ref, p.describe(ot))
	}
	typ := filterTypeOf(ref)
	if !typ.allows(op) {
		return nil, p.fail(ot, "%s cannot be compared with %s; it supports %s",
			ref, op, map[filterType]string{
				numberFilterField: "=, !=, <, <=, >, >=",
				stringFilterField: "=, !=, LIKE, ILIKE, IN, NOT IN",
				timeFilterField:   "=, !=, <, <=, >, >=",
			}[typ])
	}
	p.next()
	c := Compare{Field: ref, Op: op}
	if op != "IN" && op != "NOT IN" {
		v, err := p.checkedValue(ref, op, typ)
		if err != nil {
			return nil, err
		}
		c.Values = []any{v}
		return c, nil
	}
	if t := p.peek(); t.kind != tokLParen {
		return nil, p.fail(t, "expected '(' after %s but found %s", op, p.describe(t))
	}
	p.next()
	for {
		v, err := p.checkedValue(ref, op, typ)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, v)
		switch t := p.next(); t.kind {
		case tokRParen:
			return c, nil
		case tokComma:
		default:
			return nil, p.fail(t, "expected ',' or ')' in the %s list but found %s", op, p.describe(t))
		}
	}
}

// field reads and normalizes a field reference.
func (p *filterParser) field() (FieldRef, error) {
	t := p.peek()
	if t.kind != tokWord || isFilterKeyword(t.text) {
		hint := ""
		if p.isKeyword(t, "NOT") {
			hint = " (NOT is only supported in NOT IN)"
		}
		return FieldRef{}, p.fail(t, "expected a field (like metrics.auc)%s but found %s%s", p.after(), p.describe(t), hint)
	}
	p.next()
	ns, key, dotted := strings.Cut(t.text, ".")
	ref := FieldRef{Namespace: "attributes", Key: t.text}
	if dotted {
		n, ok := filterNamespaces[strings.ToLower(ns)]
		if !ok {
			return FieldRef{}, p.fail(t, "unknown namespace '%s'; expected metrics, params, tags or attributes", ns)
		}
		ref = FieldRef{Namespace: n, Key: key}
	}
	switch {
	case t.quoted && key != "":
		return FieldRef{}, p.fail(t, "a quoted key must follow the namespace directly, like %s.\"my key\"", ns)
	case t.quoted:
		ref.Key = t.str
	case strings.HasSuffix(t.text, "."):
		return FieldRef{}, &filterSyntaxError{t.end, fmt.Sprintf("expected a key after '%s'", truncateFilterText(t.text))}
	}
	if ref.Namespace == "attributes" {
		a, ok := filterAttributes[strings.ToLower(ref.Key)]
		if !ok {
			hint := ""
			if _, isNS := filterNamespaces[strings.ToLower(t.text)]; isNS && !dotted {
				hint = fmt.Sprintf(" (did you mean %s.<key>?)", t.text)
			}
			return FieldRef{}, p.fail(t, "unknown attribute '%s'%s; expected status, run_name, start_time, end_time, experiment_id, pipeline or run_id",
				truncateFilterText(ref.Key), hint)
		}
		ref.Key = a
	}
	return ref, nil
}

func isFilterKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "AND", "OR", "NOT", "IN", "LIKE", "ILIKE":
		return true
	}
	return false
}

// checkedValue is value plus the check that a run status compared for
// equality is one that exists, so a typo such as 'FINISH' is an error rather
// than a filter that silently matches nothing.
func (p *filterParser) checkedValue(ref FieldRef, op string, typ filterType) (any, error) {
	t := p.peek()
	v, err := p.value(ref, typ)
	if err != nil || ref != (FieldRef{Namespace: "attributes", Key: "status"}) || op == "LIKE" || op == "ILIKE" {
		return v, err
	}
	switch RunStatus(v.(string)) {
	case RunRunning, RunFinished, RunFailed, RunKilled:
		return v, nil
	}
	return nil, p.fail(t, "expected a run status (RUNNING, FINISHED, FAILED or KILLED) for %s but found %s", ref, p.describe(t))
}

// value reads a literal and checks it against the field's type.
func (p *filterParser) value(ref FieldRef, typ filterType) (any, error) {
	after := p.after()
	t := p.peek()
	switch {
	case t.kind == tokNumber && typ != stringFilterField:
		p.next()
		return t.num, nil
	case t.kind == tokNumber:
		return nil, p.fail(t, "expected a quoted string for %s but found number %s (write '%s')", ref, t.text, t.text)
	case t.kind == tokString && typ == numberFilterField:
		return nil, p.fail(t, "expected a number for %s but found %s", ref, p.describe(t))
	case t.kind == tokString && typ == timeFilterField:
		if _, err := time.Parse(time.RFC3339Nano, t.str); err != nil {
			return nil, p.fail(t, "expected unix milliseconds or an RFC 3339 time for %s but found %s", ref, p.describe(t))
		}
		fallthrough
	case t.kind == tokString:
		p.next()
		return t.str, nil
	}
	return nil, p.fail(t, "expected a value%s but found %s", after, p.describe(t))
}
