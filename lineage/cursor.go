package lineage

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// EncodeCursor makes the opaque page cursor backends hand out: a kind
// letter (which list it pages) and numbers (a position), base64. Every
// backend uses this format, so a cursor means the same on each.
func EncodeCursor(kind byte, vals ...int64) string {
	b := []byte{kind}
	for i, v := range vals {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor of the given kind into vals; "" leaves them.
// Anything else is EINVALID on field "after".
func DecodeCursor(c string, kind byte, vals ...*int64) error {
	if c == "" {
		return nil
	}
	bad := Invalid("after", "is not a valid cursor")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 2 || raw[0] != kind {
		return bad
	}
	parts := strings.Split(string(raw[1:]), ".")
	if len(parts) != len(vals) {
		return bad
	}
	for i, p := range parts {
		if *vals[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return bad
		}
	}
	return nil
}
