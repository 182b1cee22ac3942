package lineagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Documents: PutDoc, DeleteDoc, Doc and Docs.
func (h *harness) docsTests(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"PutGetReplaceDelete", h.testDocPutGetDelete},
		{"ValueBytes", h.testDocValueBytes},
		{"Order", h.testDocsOrder},
		{"Prefix", h.testDocsPrefix},
		{"AfterPaging", h.testDocsPaging},
		{"Limit", h.testDocsLimit},
		{"RolledBack", h.testDocsRolledBack},
		{"ReadYourWrites", h.testDocsReadYourWrites},
	} {
		t.Run(tc.name, tc.fn)
	}
}

func doc(collection, key, value string) lineage.Doc {
	return lineage.Doc{Collection: collection, Key: key, Value: json.RawMessage(value)}
}

// putDocs commits documents in the order given.
func putDocs(tb testing.TB, s lineage.Store, docs ...lineage.Doc) {
	tb.Helper()
	mustUpdate(tb, s, func(tx lineage.Tx) error {
		for _, d := range docs {
			if err := tx.PutDoc(d); err != nil {
				return fmt.Errorf("PutDoc(%s, %s): %w", d.Collection, d.Key, err)
			}
		}
		return nil
	})
}

// wantDocs compares documents exactly: a value must come back byte for
// byte, not only as equal JSON (cmpOpts would allow that).
func wantDocs(tb testing.TB, what string, got, want []lineage.Doc) {
	tb.Helper()
	type exact struct{ Collection, Key, Value string }
	conv := func(ds []lineage.Doc) []exact {
		out := make([]exact, len(ds))
		for i, d := range ds {
			out[i] = exact{d.Collection, d.Key, string(d.Value)}
		}
		return out
	}
	if diff := cmp.Diff(conv(want), conv(got)); diff != "" {
		tb.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// docsOf lists documents in a read transaction.
func docsOf(tb testing.TB, s lineage.Store, q lineage.DocQuery) []lineage.Doc {
	tb.Helper()
	var out []lineage.Doc
	mustView(tb, s, func(tx lineage.ReadTx) error {
		var err error
		out, err = tx.Docs(q)
		return err
	})
	return out
}

// PutDoc inserts or replaces by collection and key; Doc reads it back,
// ENOTFOUND if absent; DeleteDoc removes it, and is a no-op when absent.
func (h *harness) testDocPutGetDelete(t *testing.T) {
	s := h.open(t)
	a := doc("webhooks", "wh_1", `{"url":"https://example.com/hook","events":["STAGE_CHANGED"]}`)
	other := doc("cursors", "wh_1", `{"seq":42}`) // same key, another collection
	putDocs(t, s, a, other)
	get := func(collection, key string) (*lineage.Doc, error) {
		t.Helper()
		var d *lineage.Doc
		err := s.View(bg, func(tx lineage.ReadTx) error {
			var err error
			d, err = tx.Doc(collection, key)
			return err
		})
		return d, err
	}
	for _, want := range []lineage.Doc{a, other} {
		got, err := get(want.Collection, want.Key)
		mustNoErr(t, "Doc", err)
		wantDocs(t, fmt.Sprintf("Doc(%s, %s)", want.Collection, want.Key), []lineage.Doc{*got}, []lineage.Doc{want})
	}
	for _, c := range [][2]string{{"webhooks", "wh_2"}, {"webhook", "wh_1"}, {"webhooks", "wh_"}, {"webhooks", "WH_1"}, {"nope", "wh_1"}} {
		_, err := get(c[0], c[1])
		wantCode(t, fmt.Sprintf("Doc(%s, %s) absent", c[0], c[1]), err, lineage.ENOTFOUND)
	}

	replaced := doc("webhooks", "wh_1", `{"url":"https://example.com/v2","disabled":true}`)
	putDocs(t, s, replaced)
	got, err := get("webhooks", "wh_1")
	mustNoErr(t, "Doc after a replacing PutDoc", err)
	wantDocs(t, "Doc after a replacing PutDoc", []lineage.Doc{*got}, []lineage.Doc{replaced})
	wantDocs(t, "Docs after a replacing PutDoc", docsOf(t, s, lineage.DocQuery{Collection: "webhooks", Limit: 10}), []lineage.Doc{replaced})

	mustUpdate(t, s, func(tx lineage.Tx) error { return tx.DeleteDoc("webhooks", "wh_1") })
	_, err = get("webhooks", "wh_1")
	wantCode(t, "Doc after DeleteDoc", err, lineage.ENOTFOUND)
	if got := docsOf(t, s, lineage.DocQuery{Collection: "webhooks", Limit: 10}); len(got) != 0 {
		t.Errorf("Docs after DeleteDoc = %v, want none", got)
	}
	// The same key in another collection stays.
	if _, err := get("cursors", "wh_1"); err != nil {
		t.Errorf("Doc(cursors, wh_1) after deleting webhooks/wh_1: %v", err)
	}
	// Deleting what is not there is a no-op, not an error.
	for _, c := range [][2]string{{"webhooks", "wh_1"}, {"nope", "x"}, {"cursors", "wh_2"}} {
		err := s.Update(bg, func(tx lineage.Tx) error { return tx.DeleteDoc(c[0], c[1]) })
		wantCode(t, fmt.Sprintf("DeleteDoc(%s, %s) absent", c[0], c[1]), err, "")
	}
	// And a deleted document can be put again.
	putDocs(t, s, a)
	if _, err := get("webhooks", "wh_1"); err != nil {
		t.Errorf("Doc after putting a deleted document again: %v", err)
	}
}

// A value comes back byte for byte: whitespace, member order, escapes and
// number spellings are the caller's.
func (h *harness) testDocValueBytes(t *testing.T) {
	s := h.open(t)
	values := []string{
		`{"b":1,"a":[1,2]}`,
		"{ \"b\" : 1,\n\t\"a\": [ 1, 2 ] }\n",
		`{"a":1,"a":2}`,
		`"ünï ✓ <b>&amp;</b> 'q' \"dq\" \\ \u00e9 \ud83d\ude00"`,
		`1.50e+02`,
		`12345678901234567890123`,
		`-0`,
		`null`,
		`true`,
		`[]`,
		`{}`,
		`"` + strings.Repeat("x", 64<<10) + `"`,
	}
	var want []lineage.Doc
	for i, v := range values {
		want = append(want, doc("values", fmt.Sprintf("v%02d", i), v))
	}
	putDocs(t, s, want...)
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, w := range want {
			got, err := tx.Doc(w.Collection, w.Key)
			mustNoErr(t, "Doc", err)
			if !bytes.Equal(got.Value, w.Value) {
				t.Errorf("Doc(%s).Value = %.80q, want %.80q byte for byte", w.Key, got.Value, w.Value)
			}
		}
		return nil
	})
	wantDocs(t, "Docs(values)", docsOf(t, s, lineage.DocQuery{Collection: "values", Limit: 100}), want)
}

// docKeys are ASCII keys whose byte order differs from a case-insensitive
// or locale collation ("B" < "a"), and from the order of their parts
// ("a/1" < "a0" as '/' < '0'); inserted out of order.
var docKeys = []string{"b/0010", "a", "B", "b/0001", "aa", "a0", "a/1", "b", "a-b", "b/0002", "A", "a/1/x"}

// docsFixture puts docKeys into "deliveries", and keys sharing their
// prefixes into collections whose names share its prefix.
func docsFixture(t *testing.T, s lineage.Store) (asc []lineage.Doc) {
	t.Helper()
	var all []lineage.Doc
	for i, k := range docKeys {
		all = append(all, doc("deliveries", k, fmt.Sprintf(`{"n":%d}`, i)))
	}
	all = append(all,
		doc("deliveries2", "a/1", `{"other":true}`), doc("deliveries2", "b/0003", `{"other":true}`),
		doc("Deliveries", "a", `{"other":true}`), doc("deliverie", "b", `{"other":true}`))
	putDocs(t, s, all...)
	asc = slices.Clone(all[:len(docKeys)])
	slices.SortFunc(asc, func(a, b lineage.Doc) int { return strings.Compare(a.Key, b.Key) })
	return asc
}

func reversed(ds []lineage.Doc) []lineage.Doc {
	out := slices.Clone(ds)
	slices.Reverse(out)
	return out
}

// filterDocs is the reference: keys with prefix, after after in the
// listing order, at most limit.
func filterDocs(asc []lineage.Doc, q lineage.DocQuery) []lineage.Doc {
	in := asc
	if q.Desc {
		in = reversed(asc)
	}
	var out []lineage.Doc
	for _, d := range in {
		if !strings.HasPrefix(d.Key, q.Prefix) || q.After != "" && (!q.Desc && d.Key <= q.After || q.Desc && d.Key >= q.After) {
			continue
		}
		if len(out) < q.Limit {
			out = append(out, d)
		}
	}
	return out
}

// Docs lists one collection in key byte order, reversed with Desc.
func (h *harness) testDocsOrder(t *testing.T) {
	s := h.open(t)
	asc := docsFixture(t, s)
	if want := []string{"A", "B", "a", "a-b", "a/1", "a/1/x", "a0", "aa", "b", "b/0001", "b/0002", "b/0010"}; !cmp.Equal(keysOf(asc), want) {
		t.Fatalf("the suite's own byte order is wrong: %v, want %v", keysOf(asc), want)
	}
	wantDocs(t, "Docs(deliveries)", docsOf(t, s, lineage.DocQuery{Collection: "deliveries", Limit: 100}), asc)
	wantDocs(t, "Docs(deliveries, Desc)", docsOf(t, s, lineage.DocQuery{Collection: "deliveries", Desc: true, Limit: 100}), reversed(asc))
	for _, c := range []string{"nope", "", "deliveries/", "DELIVERIES"} {
		if got := docsOf(t, s, lineage.DocQuery{Collection: c, Limit: 100}); len(got) != 0 {
			t.Errorf("Docs(%q) = %v, want none", c, keysOf(got))
		}
	}
}

// Prefix keeps the keys that start with it, in one collection only.
func (h *harness) testDocsPrefix(t *testing.T) {
	s := h.open(t)
	asc := docsFixture(t, s)
	for _, prefix := range []string{"a", "a/", "a/1", "b/", "b/000", "b/0010", "B", "a-", "c", "b/00100", "A"} {
		for _, desc := range []bool{false, true} {
			q := lineage.DocQuery{Collection: "deliveries", Prefix: prefix, Desc: desc, Limit: 100}
			wantDocs(t, fmt.Sprintf("Docs(%+v)", q), docsOf(t, s, q), filterDocs(asc, q))
		}
	}
	// Other collections hold keys with these prefixes too.
	wantDocs(t, "Docs(deliveries2, Prefix b/)", docsOf(t, s, lineage.DocQuery{Collection: "deliveries2", Prefix: "b/", Limit: 100}),
		[]lineage.Doc{doc("deliveries2", "b/0003", `{"other":true}`)})
}

// After pages through a listing in either direction, alone or with a
// prefix; After need not be a stored key.
func (h *harness) testDocsPaging(t *testing.T) {
	s := h.open(t)
	asc := docsFixture(t, s)
	for _, desc := range []bool{false, true} {
		for _, prefix := range []string{"", "a", "b/"} {
			for _, limit := range []int{1, 2, 5} {
				want := filterDocs(asc, lineage.DocQuery{Prefix: prefix, Desc: desc, Limit: 100})
				var got []lineage.Doc
				q := lineage.DocQuery{Collection: "deliveries", Prefix: prefix, Desc: desc, Limit: limit}
				for pages := 0; ; pages++ {
					page := docsOf(t, s, q)
					if len(page) > limit {
						t.Fatalf("Docs(%+v) returned %d documents", q, len(page))
					}
					if len(page) == 0 || pages > len(asc) {
						break
					}
					got = append(got, page...)
					q.After = page[len(page)-1].Key
				}
				wantDocs(t, fmt.Sprintf("paging prefix %q desc %v limit %d", prefix, desc, limit), got, want)
			}
		}
	}
	for _, q := range []lineage.DocQuery{
		{After: "a"}, {After: "a", Desc: true}, // stored keys
		{After: "a/"}, {After: "a/", Desc: true}, // between stored keys
		{After: "a\x00"}, {After: "a\x00", Desc: true}, // right after a stored key
		{After: "Z"}, {After: "Z", Desc: true},
		{After: "0"}, {After: "0", Desc: true}, // before every key
		{After: "z"}, {After: "z", Desc: true}, // after every key
		{Prefix: "b/", After: "a"}, {Prefix: "b/", After: "a", Desc: true}, // After before the prefix's keys
		{Prefix: "a", After: "b"}, {Prefix: "a", After: "b", Desc: true}, // After past them
		{Prefix: "b/", After: "b/0002"}, {Prefix: "b/", After: "b/0002", Desc: true},
		{Prefix: "a/1", After: "a/1"}, {Prefix: "a/1", After: "a/1/x", Desc: true},
		{Prefix: "b/", After: "b/~"}, {Prefix: "b/", After: "b/~", Desc: true}, // after the prefix's keys, in the prefix
	} {
		q.Collection, q.Limit = "deliveries", 100
		wantDocs(t, fmt.Sprintf("Docs(prefix %q, after %q, desc %v)", q.Prefix, q.After, q.Desc), docsOf(t, s, q), filterDocs(asc, q))
	}
}

// Limit caps a listing; it must be at least 1.
func (h *harness) testDocsLimit(t *testing.T) {
	s := h.open(t)
	asc := docsFixture(t, s)
	for _, limit := range []int{1, 3, len(asc), len(asc) + 1} {
		for _, desc := range []bool{false, true} {
			q := lineage.DocQuery{Collection: "deliveries", Desc: desc, Limit: limit}
			wantDocs(t, fmt.Sprintf("Docs(%+v)", q), docsOf(t, s, q), filterDocs(asc, q))
		}
	}
	for _, limit := range []int{0, -1} {
		err := s.View(bg, func(tx lineage.ReadTx) error {
			_, err := tx.Docs(lineage.DocQuery{Collection: "deliveries", Limit: limit})
			return err
		})
		wantErr(t, fmt.Sprintf("Docs(Limit %d)", limit), err, lineage.EINVALID, "limit")
	}
}

// Document writes are part of the transaction: a failed Update leaves
// neither a put, a replacement nor a delete behind.
func (h *harness) testDocsRolledBack(t *testing.T) {
	s := h.open(t)
	kept, gone := doc("c", "kept", `{"v":1}`), doc("c", "gone", `{"v":1}`)
	putDocs(t, s, kept, gone)
	errBoom := errors.New("boom")
	err := s.Update(bg, func(tx lineage.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.PutDoc(doc("c", "new", `{"v":2}`)) },
			func() error { return tx.PutDoc(doc("c", "kept", `{"v":2}`)) },
			func() error { return tx.DeleteDoc("c", "gone") },
			func() error { return tx.PutDoc(doc("other", "new", `{"v":2}`)) },
		} {
			if err := step(); err != nil {
				t.Errorf("write in the failing transaction: %v", err)
			}
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	wantDocs(t, "Docs(c) after a failed Update", docsOf(t, s, lineage.DocQuery{Collection: "c", Limit: 10}), []lineage.Doc{gone, kept})
	mustView(t, s, func(tx lineage.ReadTx) error {
		for _, c := range [][2]string{{"c", "new"}, {"other", "new"}} {
			_, err := tx.Doc(c[0], c[1])
			wantCode(t, fmt.Sprintf("Doc(%s, %s) put in a failed Update", c[0], c[1]), err, lineage.ENOTFOUND)
		}
		return nil
	})
}

// Within one Update, Doc and Docs see the transaction's own puts and
// deletes, and a Doc that finds nothing does not spoil the transaction.
func (h *harness) testDocsReadYourWrites(t *testing.T) {
	s := h.open(t)
	putDocs(t, s, doc("c", "a", `{"v":1}`), doc("c", "b", `{"v":1}`))
	mustUpdate(t, s, func(tx lineage.Tx) error {
		if _, err := tx.Doc("c", "x"); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("Doc(absent) = %v, want ENOTFOUND", err)
		}
		if err := tx.PutDoc(doc("c", "x", `{"v":2}`)); err != nil {
			return err
		}
		if err := tx.PutDoc(doc("c", "a", `{"v":2}`)); err != nil {
			return err
		}
		if err := tx.DeleteDoc("c", "b"); err != nil {
			return err
		}
		if d, err := tx.Doc("c", "x"); err != nil || string(d.Value) != `{"v":2}` {
			t.Errorf("Doc(just put) = %v, %v", d, err)
		}
		if _, err := tx.Doc("c", "b"); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			t.Errorf("Doc(just deleted) = %v, want ENOTFOUND", err)
		}
		got, err := tx.Docs(lineage.DocQuery{Collection: "c", Limit: 10})
		mustNoErr(t, "Docs inside the transaction", err)
		wantDocs(t, "Docs inside the transaction", got, []lineage.Doc{doc("c", "a", `{"v":2}`), doc("c", "x", `{"v":2}`)})
		return nil
	})
	wantDocs(t, "Docs after the commit", docsOf(t, s, lineage.DocQuery{Collection: "c", Limit: 10}),
		[]lineage.Doc{doc("c", "a", `{"v":2}`), doc("c", "x", `{"v":2}`)})
}

func keysOf(ds []lineage.Doc) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Key
	}
	return out
}

// richDocs are the documents buildRich adds, out of order, in two
// collections (one named with a prefix of the other), one value with
// whitespace a dump file compacts.
var richDocs = []lineage.Doc{
	doc("webhooks", "wh_0192/b", `{"url":"https://example.com/b","events":["STAGE_CHANGED"],"note":"<b>\"q\" & ✓</b>"}`),
	doc("deliveries", "wh_0192/00000000000000000042", `{"status":"DELIVERED","attempts":1}`),
	doc("webhooks", "wh_0192/a", "{ \"url\": \"https://example.com/a\",\n  \"events\": [] }"),
	doc("deliveries", "wh_0192/00000000000000000007", `{"status":"FAILED","attempts":5,"error":null}`),
	doc("webhook", "z", `[1,2.50,"x"]`),
}
