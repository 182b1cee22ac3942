package webhook

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/pedigree-ml/pedigree/lineage"
)

func ptr[T any](v T) *T { return &v }

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	d := New(e.svc, fast())
	good := func(f func(*CreateInput)) CreateInput {
		in := CreateInput{URL: "https://hooks.example.com/p"}
		f(&in)
		return in
	}
	tests := []struct {
		name  string
		in    CreateInput
		field string
	}{
		{"no url", good(func(in *CreateInput) { in.URL = "" }), "url"},
		{"ftp", good(func(in *CreateInput) { in.URL = "ftp://hooks.example.com/" }), "url"},
		{"credentials", good(func(in *CreateInput) { in.URL = "https://u:p@hooks.example.com/" }), "url"},
		{"decimal ip", good(func(in *CreateInput) { in.URL = "http://2130706433/" }), "url"},
		{"metadata", good(func(in *CreateInput) { in.URL = "http://169.254.169.254/" }), "url"},
		{"unknown event", good(func(in *CreateInput) { in.Events = []lineage.EventType{"MODEL_DELETED"} }), "events"},
		{"lower-case event", good(func(in *CreateInput) { in.Events = []lineage.EventType{"stage_changed"} }), "events"},
		{"too many events", good(func(in *CreateInput) { in.Events = make([]lineage.EventType, MaxEvents+1) }), "events"},
		{"empty model", good(func(in *CreateInput) { in.Models = []string{""} }), "models"},
		{"model with slash", good(func(in *CreateInput) { in.Models = []string{"a/b"} }), "models"},
		{"model with newline", good(func(in *CreateInput) { in.Models = []string{"a\nb"} }), "models"},
		{"long model", good(func(in *CreateInput) { in.Models = []string{strings.Repeat("m", lineage.MaxNameLen+1)} }), "models"},
		{"too many models", good(func(in *CreateInput) { in.Models = make([]string, MaxModels+1) }), "models"},
		{"secret without prefix", good(func(in *CreateInput) { in.Secret = base64.StdEncoding.EncodeToString(make([]byte, 32)) }), "secret"},
		{"short secret", good(func(in *CreateInput) { in.Secret = "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16)) }), "secret"},
		{"secret not base64", good(func(in *CreateInput) { in.Secret = "whsec_hunter2hunter2hunter2hunter2!" }), "secret"},
		{"long description", good(func(in *CreateInput) { in.Description = strings.Repeat("d", MaxDescription+1) }), "description"},
		{"escape in description", good(func(in *CreateInput) { in.Description = "a\x1b[31mb" }), "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := d.Create(e.ctx, tt.in)
			wantErr(t, "Create", err, lineage.EINVALID, tt.field)
			if tt.field == "secret" && tt.in.Secret != "" && strings.Contains(lineage.ErrorMessage(err), tt.in.Secret[6:]) {
				t.Errorf("error message %q echoes the secret", lineage.ErrorMessage(err))
			}
		})
	}
	if list, err := d.List(e.ctx); err != nil || len(list) != 0 {
		t.Errorf("List after refused creates = %d webhooks, %v; want none", len(list), err)
	}
}

// With AllowPrivate false, no URL that names a loopback, private,
// link-local or encoded address is accepted.
func TestCreateRefusesInternalURLs(t *testing.T) {
	e := newEnv(t)
	d := New(e.svc, Options{})
	for _, u := range []string{
		"http://127.0.0.1:8080/hook",
		"http://localhost/hook",
		"http://app.localhost/hook",
		"http://10.0.0.8/hook",
		"http://172.16.5.4/hook",
		"http://192.168.1.20/hook",
		"http://100.64.0.1/hook",
		"http://[::1]/hook",
		"http://[fd00::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://[::ffff:169.254.169.254]/hook",
		"http://169.254.169.254/latest/meta-data/iam/",
		"http://[fe80::a9fe:a9fe]/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://0.0.0.0/",
		"http://2130706433/",
		"http://0x7f000001/",
		"http://0177.0.0.1/",
		"http://127.1/",
		"http://[64:ff9b::a9fe:a9fe]/",
	} {
		_, _, err := d.Create(e.ctx, CreateInput{URL: u})
		wantErr(t, "Create("+u+")", err, lineage.EINVALID, "url")
		if msg := lineage.ErrorMessage(err); !strings.HasPrefix(msg, "url: ") {
			t.Errorf("Create(%s): message %q, want it to start with the field", u, msg)
		}
	}
	w, _, err := d.Create(e.ctx, CreateInput{URL: "https://hooks.example.com/pedigree?k=v"})
	if err != nil || !w.Enabled {
		t.Fatalf("Create(public URL) = %+v, %v; want an enabled webhook", w, err)
	}
	_, _, err = d.Update(e.ctx, UpdateInput{ID: w.ID, URL: ptr("http://169.254.169.254/")})
	wantErr(t, "Update(url → metadata)", err, lineage.EINVALID, "url")
}

func TestCRUD(t *testing.T) {
	e := newEnv(t)
	d := New(e.svc, fast())
	e.register("churn")
	head, _ := e.store.LastEventSeq(e.ctx)

	w, secret, err := d.Create(e.ctx, CreateInput{
		URL: "https://hooks.example.com/a", Events: []lineage.EventType{lineage.EventStageChanged, lineage.EventStageChanged},
		Models: []string{"Churn", "churn", "fraud"}, Description: "deploys",
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(secret, "whsec_") || checkSecret(secret) != nil {
		t.Errorf("Create secret = %q, want a whsec_ secret", secret)
	}
	if !idPattern.MatchString(w.ID) {
		t.Errorf("ID = %q, want wh_ and 26 base32 characters", w.ID)
	}
	if !slices.Equal(w.Events, []lineage.EventType{lineage.EventStageChanged}) || !slices.Equal(w.Models, []string{"churn", "fraud"}) {
		t.Errorf("filters = %v %v, want deduplicated, lower-case", w.Events, w.Models)
	}
	if w.StartSeq != head || !w.Enabled || w.Description != "deploys" {
		t.Errorf("Create = %+v, want StartSeq %d, enabled", w, head)
	}

	mine := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	w2, secret2, err := d.Create(e.ctx, CreateInput{URL: "https://hooks.example.com/b", Secret: mine})
	if err != nil || secret2 != mine {
		t.Fatalf("Create with a secret = %q, %v; want the given secret back", secret2, err)
	}

	// Secrets never come back from reads.
	got, err := d.Get(e.ctx, w.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	list, err := d.List(e.ctx)
	if err != nil || len(list) != 2 || list[0].ID != w.ID || list[1].ID != w2.ID {
		t.Fatalf("List = %v, %v; want the two webhooks oldest first", list, err)
	}
	for _, s := range []string{secret, secret2} {
		key := strings.TrimPrefix(s, "whsec_")
		for what, v := range map[string]any{"Get": got, "List": list, "Create": w, "Create2": w2} {
			if j := mustJSON(t, v); strings.Contains(j, key) || strings.Contains(j, "secret") {
				t.Errorf("%s JSON %s holds the secret", what, j)
			}
		}
	}

	// Update and rotation.
	upd, rotated, err := d.Update(e.ctx, UpdateInput{ID: w.ID, URL: ptr("https://hooks.example.com/c"), Models: ptr([]string{}), Enabled: ptr(false), RotateSecret: true})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if rotated == "" || rotated == secret || upd.URL != "https://hooks.example.com/c" || upd.Enabled || len(upd.Models) != 0 || len(upd.Events) != 1 {
		t.Errorf("Update = %+v, secret changed %v; want new URL, disabled, models cleared, events kept, new secret", upd, rotated != secret)
	}
	if j := mustJSON(t, upd); strings.Contains(j, strings.TrimPrefix(rotated, "whsec_")) {
		t.Errorf("Update JSON holds the secret")
	}
	_, again, err := d.Update(e.ctx, UpdateInput{ID: w.ID, Description: ptr("")})
	if err != nil || again != "" {
		t.Errorf("Update without rotation returned secret %q, %v; want none", again, err)
	}

	// Re-enabling starts after the newest event and clears the reason.
	if err := e.store.Update(e.ctx, func(tx lineage.Tx) error { return d.disable(tx, w.ID, DisabledGone, d.now()) }); err != nil {
		t.Fatal(err)
	}
	if g, _ := d.Get(e.ctx, w.ID); g.DisabledReason != DisabledGone {
		t.Errorf("DisabledReason = %q, want %q", g.DisabledReason, DisabledGone)
	}
	e.register("churn")
	head, _ = e.store.LastEventSeq(e.ctx)
	upd, _, err = d.Update(e.ctx, UpdateInput{ID: w.ID, Enabled: ptr(true)})
	if err != nil || !upd.Enabled || upd.DisabledReason != "" || upd.StartSeq != head {
		t.Errorf("re-enable = %+v, %v; want enabled, no reason, StartSeq %d", upd, err, head)
	}

	// Not found, by field.
	for _, id := range []string{"wh_aaaaaaaaaaaaaaaaaaaaaaaaaa", "nope", "../../etc", strings.Repeat("x", 500)} {
		_, err := d.Get(e.ctx, id)
		wantErr(t, "Get("+id+")", err, lineage.ENOTFOUND, "id")
		_, _, err = d.Update(e.ctx, UpdateInput{ID: id, Enabled: ptr(true)})
		wantErr(t, "Update("+id+")", err, lineage.ENOTFOUND, "id")
		wantErr(t, "Delete("+id+")", d.Delete(e.ctx, id), lineage.ENOTFOUND, "id")
		_, err = d.Test(e.ctx, id)
		wantErr(t, "Test("+id+")", err, lineage.ENOTFOUND, "id")
		_, _, _, err = d.Deliveries(e.ctx, DeliveryQuery{Webhook: id})
		wantErr(t, "Deliveries("+id+")", err, lineage.ENOTFOUND, "webhook")
	}
	_, err = d.Get(e.ctx, "")
	wantErr(t, "Get(\"\")", err, lineage.EINVALID, "id")
	_, _, _, err = d.Deliveries(e.ctx, DeliveryQuery{})
	wantErr(t, "Deliveries(no webhook)", err, lineage.EINVALID, "webhook")
	_, _, _, err = d.Deliveries(e.ctx, DeliveryQuery{Webhook: w.ID, Status: "LOST"})
	wantErr(t, "Deliveries(bad status)", err, lineage.EINVALID, "status")
	_, _, _, err = d.Deliveries(e.ctx, DeliveryQuery{Webhook: w.ID, After: "not-a-cursor"})
	wantErr(t, "Deliveries(bad cursor)", err, lineage.EINVALID, "after")
	_, err = d.Redeliver(e.ctx, "", "")
	wantErr(t, "Redeliver(no event)", err, lineage.EINVALID, "event")
	_, err = d.Redeliver(e.ctx, e.last().ID, "")
	wantErr(t, "Redeliver(never delivered)", err, lineage.ENOTFOUND, "event")
	_, err = d.Redeliver(e.ctx, "a/b", "")
	wantErr(t, "Redeliver(a/b)", err, lineage.ENOTFOUND, "event")

	// Delete.
	if err := d.Delete(e.ctx, w.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = d.Get(e.ctx, w.ID)
	wantErr(t, "Get(deleted)", err, lineage.ENOTFOUND, "id")
	if list, _ := d.List(e.ctx); len(list) != 1 || list[0].ID != w2.ID {
		t.Errorf("List after Delete = %v, want only %s", list, w2.ID)
	}
}

func TestMatches(t *testing.T) {
	ev := lineage.Event{Type: lineage.EventStageChanged, Model: "churn"}
	for _, tt := range []struct {
		w    Webhook
		want bool
	}{
		{Webhook{}, true},
		{Webhook{Events: []lineage.EventType{lineage.EventStageChanged}}, true},
		{Webhook{Events: []lineage.EventType{lineage.EventAliasSet}}, false},
		{Webhook{Models: []string{"churn"}}, true},
		{Webhook{Models: []string{"fraud"}}, false},
		{Webhook{Events: []lineage.EventType{lineage.EventStageChanged}, Models: []string{"fraud"}}, false},
	} {
		if got := tt.w.matches(ev); got != tt.want {
			t.Errorf("%+v.matches(%+v) = %v, want %v", tt.w, ev, got, tt.want)
		}
	}
	if (&Webhook{Models: []string{"churn"}}).matches(lineage.Event{Type: lineage.EventRunFinished}) {
		t.Errorf("an event of no model matched a models filter")
	}
}
