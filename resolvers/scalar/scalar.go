// Package scalar holds the marshalers of Pedigree's custom GraphQL scalars
// (Time, Int64, JSON, Upload), bound in gqlgen.yml. Input errors are lineage EINVALID
// errors so that the error presenter reports them as BAD_USER_INPUT, with the
// offending argument as extensions.field, instead of scrubbing them as internal.
package scalar

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pedigree-ml/pedigree/lineage"
)

// invalid returns a BAD_USER_INPUT error without a field: the presenter
// fills it in from the path of the argument being decoded.
func invalid(msg string) error { return &lineage.Error{Code: lineage.EINVALID, Message: msg} }

// MarshalTime writes an instant as an RFC 3339 string in UTC, null for the zero time.
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		var buf [48]byte
		b := append(buf[:0], '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
		w.Write(b)
	})
}

// UnmarshalTime reads an RFC 3339 string, with or without fractional seconds.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, invalid("must be an RFC 3339 time string such as 2024-05-01T12:30:00Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("must be an RFC 3339 time string such as 2024-05-01T12:30:00Z")
	}
	return t, nil
}

// MarshalInt64 writes a 64-bit integer as a JSON number.
func MarshalInt64(i int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		var buf [24]byte
		w.Write(strconv.AppendInt(buf[:0], i, 10))
	})
}

// UnmarshalInt64 reads a 64-bit integer from a JSON number or a string of
// digits (for JavaScript clients that cannot hold 64-bit integers exactly).
func UnmarshalInt64(v any) (int64, error) {
	const msg = "must be a 64-bit integer"
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return 0, invalid(msg)
		}
		return i, nil
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, invalid(msg)
		}
		return i, nil
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, invalid(msg)
		}
		return int64(n), nil
	}
	return 0, invalid(msg)
}

// MarshalJSON writes a stored JSON value unchanged; null when empty. A value
// that is not valid JSON (never written by the Service) is written as null
// rather than corrupting the response.
func MarshalJSON(v json.RawMessage) graphql.Marshaler {
	if len(v) == 0 || !json.Valid(v) {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) { w.Write(v) })
}

// UnmarshalJSON accepts any GraphQL input value and re-encodes it as JSON.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("must be a JSON value")
	}
	return b, nil
}

// MetricPoints is a batch of metric points decoded from one JSON array. It
// exists for speed: a list of input objects is validated and unmarshalled
// field by field by the GraphQL layer, which costs more than storing them.
type MetricPoints []lineage.MetricPoint

// MarshalMetricPoints is never used for output; it writes the points back as
// the same JSON shape for completeness.
func MarshalMetricPoints(ps MetricPoints) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		out := make([]map[string]any, len(ps))
		for i, p := range ps {
			out[i] = map[string]any{"key": p.Key, "value": p.Value, "step": p.Step, "timestamp": p.Timestamp}
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}

// UnmarshalMetricPoints reads [{"key", "value", "step"?, "timestamp"?}, …].
// Numbers arrive as json.Number (gqlgen decodes with UseNumber) or float64.
func UnmarshalMetricPoints(v any) (MetricPoints, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, lineage.Invalid("points", "must be a JSON array of {key, value, step, timestamp} objects")
	}
	if len(list) > lineage.MaxMetricBatch {
		return nil, lineage.Invalid("points", "must have at most %d points per call", lineage.MaxMetricBatch)
	}
	out := make(MetricPoints, len(list))
	for i, item := range list {
		at := "points[" + strconv.Itoa(i) + "]"
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, lineage.Invalid(at, "must be an object with key and value")
		}
		p := &out[i]
		for name, field := range obj {
			var err error
			switch name {
			case "key":
				var ok bool
				if p.Key, ok = field.(string); !ok {
					err = lineage.Invalid(at+".key", "must be a string")
				}
			case "value":
				p.Value, err = number(at+".value", field)
			case "step":
				var f float64
				if f, err = number(at+".step", field); err == nil {
					if p.Step = int64(f); float64(p.Step) != f {
						err = lineage.Invalid(at+".step", "must be a whole number")
					}
				}
			case "timestamp":
				if field != nil {
					if p.Timestamp, err = UnmarshalTime(field); err != nil {
						err = lineage.Invalid(at+".timestamp", "must be an RFC 3339 time string")
					}
				}
			default:
				err = lineage.Invalid(at+"."+name, "is not a field of a metric point (key, value, step, timestamp)")
			}
			if err != nil {
				return nil, err
			}
		}
		if _, ok := obj["value"]; !ok {
			return nil, lineage.Invalid(at+".value", "is required")
		}
	}
	return out, nil
}

func number(field string, v any) (float64, error) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, lineage.Invalid(field, "must be a number")
		}
		return f, nil
	case float64:
		return n, nil
	case int64:
		return float64(n), nil
	case int:
		return float64(n), nil
	}
	return 0, lineage.Invalid(field, "must be a number")
}

// MarshalUpload is never used: Upload is an input-only scalar.
func MarshalUpload(graphql.Upload) graphql.Marshaler { return graphql.Null }

// UnmarshalUpload accepts only the file the multipart transport put in the
// variables; anything a client writes in JSON is refused.
func UnmarshalUpload(v any) (graphql.Upload, error) {
	u, ok := v.(graphql.Upload)
	if !ok {
		return graphql.Upload{}, invalid("must be a file: send it as a part of a multipart/form-data request (GraphQL multipart request spec)")
	}
	return u, nil
}
