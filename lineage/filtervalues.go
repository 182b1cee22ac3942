package lineage

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// How a Compare's values read as a number, a string or an instant: the same
// in every backend, so that a filter means one thing whatever the store.

// NumberValue accepts float64 and the other Go numbers, and numeric strings.
func NumberValue(v any) (float64, error) {
	switch v := v.(type) {
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case json.Number:
		return v.Float64()
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("value %v is not a number", v)
}

// TextValue accepts strings and numbers (as their shortest decimal form).
func TextValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case json.Number:
		return v.String(), nil
	}
	return "", fmt.Errorf("value %v is not a string", v)
}

// InstantValue accepts RFC 3339 strings and unix milliseconds, and returns
// the instant in UTC.
func InstantValue(v any) (time.Time, error) {
	if s, ok := v.(string); ok {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}, fmt.Errorf("value %q is not an RFC 3339 time", s)
		}
		return t.UTC(), nil
	}
	ms, err := NumberValue(v)
	if err != nil || math.IsNaN(ms) || math.Abs(ms) > math.MaxInt64/1e6 {
		return time.Time{}, fmt.Errorf("value %v is neither an RFC 3339 time nor unix milliseconds", v)
	}
	return time.Unix(0, int64(math.Round(ms*1e6))).UTC(), nil
}
