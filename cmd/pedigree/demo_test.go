package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// The demo tells its story: v2 was promoted, regressed and rolled back to v1.
func TestDemo(t *testing.T) {
	m := MustServe(t, t.TempDir(), "--demo")
	c := newClient(m.URL())
	var out struct {
		ModelVersion struct {
			Version int
			Aliases []string
		}
		Lineage struct {
			Nodes []struct{ Node struct{ ID string } }
		}
	}
	c.must(t, `{ modelVersion(model: "churn", stage: PRODUCTION) { version aliases }
		lineage(of: "modelversion:churn/1", depth: 10) { nodes { node { id } } } }`, nil, &out)
	if out.ModelVersion.Version != 1 {
		t.Errorf("Production after the demo's rollback: v%d, want v1", out.ModelVersion.Version)
	}
	var ids []string
	for _, n := range out.Lineage.Nodes {
		ids = append(ids, n.Node.ID)
	}
	for _, want := range []string{"datasetversion:customers/1", "split:customers/1/train", "featuresetversion:churn-features/1", "datasetversion:raw-events/1"} {
		if !strings.Contains(strings.Join(ids, " "), want) {
			t.Errorf("upstream of churn v1 lacks %s: %v", want, ids)
		}
	}
	// Loading the demo again into the same store changes nothing.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := MustServe(t, m.DataDir, "--demo")
	var models struct {
		Model struct{ Versions struct{ Edges []any } }
	}
	newClient(m2.URL()).must(t, `{ model(name: "churn") { versions { edges { node { id } } } } }`, nil, &models)
	if n := len(models.Model.Versions.Edges); n != 2 {
		t.Errorf("after a second --demo start: %d versions, want 2", n)
	}
}

// Every example GraphiQL offers a new user runs without error on the demo.
func TestGraphiQLExamplesRunOnTheDemo(t *testing.T) {
	src, err := os.ReadFile("../../web/src/examples.js")
	if err != nil {
		t.Fatal(err)
	}
	queries := regexp.MustCompile("(?s)query: `((?:query|subscription) .*?)`").FindAllStringSubmatch(string(src), -1)
	if len(queries) < 4 {
		t.Fatalf("found %d examples in examples.js, want at least 4", len(queries))
	}
	m := MustServe(t, t.TempDir(), "--demo")
	c := newClient(m.URL())
	for _, q := range queries {
		if strings.Contains(q[1], "subscription") {
			continue // TestSubscription covers modelEvents
		}
		if _, errs := c.do(t, q[1], nil); errs != nil {
			t.Errorf("example %s: %+v", firstLine(q[1]), errs)
		}
	}
}

// modelEvents streams registry events over graphql-transport-ws as they
// commit, and replays from afterSeq.
func TestSubscription(t *testing.T) {
	m := MustServe(t, t.TempDir(), "--demo")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(m.URL(), "http", "ws", 1)+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	type msg struct {
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(wsjson.Write(ctx, conn, msg{Type: "connection_init"}))
	var ack msg
	must(wsjson.Read(ctx, conn, &ack))
	if ack.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", ack.Type)
	}
	sub, _ := json.Marshal(map[string]any{"query": `subscription { modelEvents(model: "churn", types: [STAGE_CHANGED]) { seq type version payload } }`})
	must(wsjson.Write(ctx, conn, msg{ID: "1", Type: "subscribe", Payload: sub}))

	time.Sleep(200 * time.Millisecond) // let the subscription start before the change
	newClient(m.URL()).must(t, transition, map[string]any{"in": map[string]any{"model": "churn", "version": 2, "stage": "STAGING", "reason": "retry"}}, nil)
	var next msg
	must(wsjson.Read(ctx, conn, &next))
	var event struct {
		Data struct {
			ModelEvents struct {
				Seq     int64
				Type    string
				Version int
				Payload map[string]any
			}
		}
	}
	must(json.Unmarshal(next.Payload, &event))
	if e := event.Data.ModelEvents; next.Type != "next" || e.Type != "STAGE_CHANGED" || e.Version != 2 || e.Payload["to"] != "STAGING" {
		t.Fatalf("got %s %+v, want the STAGE_CHANGED event of v2 to STAGING", next.Type, e)
	}

	// A client reconnecting with afterSeq gets the events committed since.
	replay, _ := json.Marshal(map[string]any{"query": `subscription($after: Int64) { modelEvents(model: "churn", afterSeq: $after) { seq type } }`,
		"variables": map[string]any{"after": event.Data.ModelEvents.Seq - 1}})
	must(wsjson.Write(ctx, conn, msg{ID: "2", Type: "subscribe", Payload: replay}))
	must(wsjson.Read(ctx, conn, &next))
	if next.ID != "2" || !strings.Contains(string(next.Payload), `"STAGE_CHANGED"`) {
		t.Fatalf("replay from afterSeq: got %s %s, want the STAGE_CHANGED event again", next.ID, next.Payload)
	}
}
