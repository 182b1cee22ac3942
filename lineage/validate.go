package lineage

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Names of datasets, models, experiments, … : a letter or digit, then
// letters, digits, '.', '_' or '-', at most MaxNameLen. No '/' or ':' so
// names can sit inside IDs; uniqueness is on the lower-case form.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Keys of params, metrics and tags (as MLflow): letters, digits, '_', '-',
// '.', ' ', '/', at most MaxKeyLen.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_.\- /]+$`)

// Roles and environment names: lower-case words.
var rolePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

var digestLen = map[string]int{"sha256": 64, "sha512": 128, "sha1": 40, "md5": 32}

// checkName validates a name and returns its canonical (lower-case) form.
func checkName(field, name string) (string, error) {
	if name == "" {
		return "", Invalid(field, "is required")
	}
	if len(name) > MaxNameLen {
		return "", Invalid(field, "must be at most %d characters", MaxNameLen)
	}
	if !namePattern.MatchString(name) {
		return "", Invalid(field, "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'")
	}
	return strings.ToLower(name), nil
}

func checkKey(field, key string) error {
	if key == "" {
		return Invalid(field, "key is required")
	}
	if len(key) > MaxKeyLen {
		return Invalid(field, "key must be at most %d characters", MaxKeyLen)
	}
	if !keyPattern.MatchString(key) {
		return Invalid(field, "key %q may contain only letters, digits, '_', '-', '.', ' ' and '/'", key)
	}
	return nil
}

// checkText validates free text: valid UTF-8, no control characters but
// newline and tab, at most max bytes.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return Invalid(field, "must be at most %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// checkLine is checkText for one-line values (names that reach logs and headers).
func checkLine(field, s string, max int) error {
	if strings.ContainsAny(s, "\n\t") {
		return Invalid(field, "must be a single line")
	}
	return checkText(field, s, max)
}

// checkMap validates params or tags.
func checkMap(field string, m map[string]string) error {
	if len(m) > MaxBatch {
		return Invalid(field, "must have at most %d entries", MaxBatch)
	}
	for k, v := range m {
		if err := checkKey(field, k); err != nil {
			return err
		}
		if err := checkText(field+"."+k, v, MaxValueLen); err != nil {
			return err
		}
	}
	return nil
}

// checkDigest validates "algorithm:hex" (sha256, sha512, sha1, md5) and
// returns it in lower case; a bare 64-digit hex string is taken as sha256.
func checkDigest(field, d string, required bool) (string, error) {
	if d == "" {
		if required {
			return "", Invalid(field, "is required")
		}
		return "", nil
	}
	d = strings.ToLower(d)
	algo, hexpart, ok := strings.Cut(d, ":")
	if !ok {
		algo, hexpart = "sha256", d
	}
	n, known := digestLen[algo]
	if _, err := hex.DecodeString(hexpart); !known || err != nil || len(hexpart) != n {
		return "", Invalid(field, "must be algorithm:hex with sha256, sha512, sha1 or md5, such as sha256:%s", strings.Repeat("0", 64))
	}
	return algo + ":" + hexpart, nil
}

// checkURI validates a URI recorded as a reference: a scheme, no control
// characters, no ".." segments. The server never fetches it.
func checkURI(field, uri string, required bool) error {
	if uri == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if err := checkLine(field, uri, MaxURILen); err != nil {
		return err
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return Invalid(field, "must be an absolute URI with a scheme, such as s3://bucket/path")
	}
	// Checked after exactly one decode, so %2e%2e and %00 count as what they are.
	path, err := url.PathUnescape(u.EscapedPath())
	if err != nil || strings.ContainsAny(path, "\\") || strings.IndexFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return Invalid(field, "must not contain backslashes, control characters or bad escapes")
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == ".." || seg == "." {
			return Invalid(field, "must not contain '.' or '..' segments")
		}
		// A segment that a second decode would turn into a dot segment,
		// a separator or a control character (%252e%252e, %252f, %2500)
		// is refused too: some reader down the line may decode twice.
		if again, err := url.PathUnescape(seg); err == nil && again != seg {
			if again == ".." || again == "." || strings.ContainsAny(again, "/\\") ||
				strings.IndexFunc(again, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
				return Invalid(field, "must not contain double-encoded '.', '/', '\\' or control characters")
			}
		}
	}
	return nil
}

// Schemes a model version's artifact may live under. file:, http(s): and
// friends are refused: the registry must never point at a server path or an
// arbitrary host (the MLflow path-traversal and SSRF classes).
var artifactSchemes = map[string]bool{"s3": true, "gs": true, "azblob": true, "pedigree": true}

func checkArtifactURI(field, uri string) error {
	if err := checkURI(field, uri, true); err != nil {
		return err
	}
	u, _ := url.Parse(uri)
	if !artifactSchemes[strings.ToLower(u.Scheme)] || u.Host == "" {
		return Invalid(field, "must be an s3://, gs://, azblob:// or pedigree:// URI with a bucket")
	}
	return nil
}

// checkOrigin applies the upload rules (see RegisterDatasetVersionInput)
// to a location that already passed checkURI: a pedigree:// URI only with
// verified set, which the transport sets only for a blob it looked up in
// artifact storage; an upload only if a transport resolved it.
func checkOrigin(uriField, uri, digest, upload string, verified bool) error {
	if upload != "" && !verified {
		return Invalid("upload", "was not looked up in artifact storage")
	}
	stored := false
	if u, err := url.Parse(uri); err == nil && strings.EqualFold(u.Scheme, "pedigree") {
		stored = true
	}
	switch {
	case stored && !verified:
		return Invalid(uriField, "pedigree:// URIs come from uploads: pass upload (the digest of an uploaded blob) instead")
	case verified && (!stored || digest == ""):
		// A transport bug, not a client's: verified facts must describe a stored blob.
		return Invalid(uriField, "a verified location must be a pedigree:// blob with its digest")
	}
	return nil
}

func checkSize(field string, size *int64) error {
	if size != nil && *size < 0 {
		return Invalid(field, "must not be negative")
	}
	return nil
}

func checkIDs(field string, ids []ID) error {
	if len(ids) > MaxBatch {
		return Invalid(field, "must have at most %d entries", MaxBatch)
	}
	for i, id := range ids {
		if _, err := ParseID(indexed(field, i), string(id)); err != nil {
			return err
		}
	}
	return nil
}

func checkJSON(field string, raw json.RawMessage) error {
	if len(raw) > 0 && !json.Valid(raw) {
		return Invalid(field, "must be valid JSON")
	}
	return nil
}

func checkFinite(field string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Invalid(field, "must be a finite number")
	}
	return nil
}

func indexed(field string, i int) string { return field + "[" + itoa(int64(i)) + "]" }
