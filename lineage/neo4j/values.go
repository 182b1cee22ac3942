package neo4j

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j/dbtype"

	"github.com/pedigree-ml/pedigree/lineage"
)

// The mapping between driver values and domain values. The driver returns
// Cypher integers as int64, floats as float64, strings, lists as []any,
// maps as map[string]any, DateTime as time.Time (in the stored offset's
// zone) and null as nil.

// nodeProps is what CreateNode stores for n: a map for SET n = $props. Nil
// values are left out by Neo4j, which is how absent fields are stored.
func nodeProps(n *lineage.Node, seq int64) map[string]any {
	p := map[string]any{
		"id":        string(n.ID),
		"kind":      string(n.Kind),
		"parent":    string(n.Parent),
		"name":      n.Name,
		"nameFold":  strings.ToLower(n.Name),
		"props":     propsText(n.Props),
		"createdAt": n.CreatedAt.UTC(),
		"updatedAt": n.UpdatedAt.UTC(),
		"deletedAt": timeOrNil(n.DeletedAt),
		"seq":       seq,
	}
	switch n.Kind {
	case lineage.KindRun:
		for k, v := range runProps(n.Props) {
			p[k] = v
		}
	case lineage.KindModelVersion:
		if inProduction(n.Props) {
			p["productionOf"] = string(n.Parent)
		}
	}
	return p
}

// inProduction reports whether a model version's props put it in
// Production. The store keeps the model's ID in productionOf on that one
// version, under a uniqueness constraint: a second Production version of a
// model cannot be committed, whatever a caller does.
func inProduction(props json.RawMessage) bool {
	var v struct {
		Stage lineage.Stage `json:"stage"`
	}
	return len(props) > 0 && json.Unmarshal(props, &v) == nil && v.Stage == lineage.StageProduction
}

func propsText(doc json.RawMessage) any {
	if len(doc) == 0 {
		return nil
	}
	return string(doc)
}

// timeOrNil gives a time in UTC: the driver sends another zone by its
// name ("Local" for time.Now()), which Neo4j may not know, and DateTime
// equality in Cypher depends on the zone.
func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// runProps returns a run's attributes from its props (see
// lineage.DecodeRunAttributes), every key present, nil where absent, so
// that SET n += sets and clears them alike.
func runProps(props json.RawMessage) map[string]any {
	a := lineage.DecodeRunAttributes(props)
	out := map[string]any{}
	for k, p := range map[string]*string{"runStatus": a.Status, "runName": a.Name, "runExperiment": a.Experiment, "runPipeline": a.Pipeline} {
		out[k] = nil
		if p != nil {
			out[k] = *p
		}
	}
	out["runStartedAt"], out["runEndedAt"] = timeOrNil(a.StartedAt), timeOrNil(a.EndedAt)
	return out
}

// decodeNode maps the properties of a :Node back to a lineage.Node.
func decodeNode(v any) (*lineage.Node, error) {
	m, err := asMap(v)
	if err != nil {
		return nil, err
	}
	n := &lineage.Node{
		ID:     lineage.ID(asString(m["id"])),
		Kind:   lineage.Kind(asString(m["kind"])),
		Parent: lineage.ID(asString(m["parent"])),
		Name:   asString(m["name"]),
	}
	if s, ok := m["props"].(string); ok {
		n.Props = json.RawMessage(s)
	}
	if n.CreatedAt, err = asTime(m["createdAt"]); err != nil {
		return nil, fmt.Errorf("node %s: createdAt: %w", n.ID, err)
	}
	if n.UpdatedAt, err = asTime(m["updatedAt"]); err != nil {
		return nil, fmt.Errorf("node %s: updatedAt: %w", n.ID, err)
	}
	if n.DeletedAt, err = asTimePtr(m["deletedAt"]); err != nil {
		return nil, fmt.Errorf("node %s: deletedAt: %w", n.ID, err)
	}
	return n, nil
}

// asMap accepts a map (from properties(n) or a map projection) or a whole
// node.
func asMap(v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case dbtype.Node:
		return x.Props, nil
	case dbtype.Relationship:
		return x.Props, nil
	}
	return nil, fmt.Errorf("want a map, got %T", v)
}

// asString returns "" for null.
func asString(v any) string {
	s, _ := v.(string)
	return s
}

// asInt accepts any integer the driver returns; null is 0.
func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64: // an aggregate over no rows may come back as a float
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, fmt.Errorf("want an integer, got %v", x)
		}
		return int64(x), nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

// asFloat maps null to NaN: the store writes null where a metric is NaN
// (as the embedded store does), so comparisons never match it.
func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return math.NaN(), nil
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	}
	return 0, fmt.Errorf("want a float, got %T", v)
}

func floatOrNil(f float64) any {
	if math.IsNaN(f) {
		return nil
	}
	return f
}

// asTime accepts a DateTime (time.Time), a LocalDateTime (read as UTC) or
// unix nanoseconds, and returns UTC; null is the zero time.
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return x.UTC(), nil
	case dbtype.LocalDateTime:
		t := time.Time(x)
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
	case int64:
		return time.Unix(0, x).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want a DateTime, got %T", v)
}

func asTimePtr(v any) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := asTime(v)
	return &t, err
}

// asInts and asFloats read lists; the driver gives []any.
func asInts(v any) ([]int64, error) {
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	out := make([]int64, len(list))
	for i, x := range list {
		n, err := asInt(x)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out[i] = n
	}
	return out, nil
}

func asFloats(v any) ([]float64, error) {
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	out := make([]float64, len(list))
	for i, x := range list {
		if x == nil {
			return nil, fmt.Errorf("item %d: null in a list of floats", i)
		}
		f, err := asFloat(x)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out[i] = f
	}
	return out, nil
}

// strings converts a slice of string-like values for a parameter (the
// driver packs []string, not named string types).
func stringsOf[T ~string](s []T) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}
