package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks reference libraries.
func TestSignKnownVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func headers(secret, id string, ts time.Time, body []byte, tb testing.TB) http.Header {
	tb.Helper()
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	secret, other := newSecret(), newSecret()
	body := []byte(`{"type":"STAGE_CHANGED"}`)
	now := time.Now()
	tests := []struct {
		name   string
		secret string
		h      func() http.Header
		body   []byte
		want   error
	}{
		{"valid", secret, func() http.Header { return headers(secret, "evt_1", now, body, t) }, body, nil},
		{"several signatures, one valid", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Set(HeaderSignature, "v1,bm90IGl0 v2,abc "+h.Get(HeaderSignature))
			return h
		}, body, nil},
		{"wrong secret", other, func() http.Header { return headers(secret, "evt_1", now, body, t) }, body, ErrSignature},
		{"tampered body", secret, func() http.Header { return headers(secret, "evt_1", now, body, t) }, []byte(`{"type":"ALIAS_SET"}`), ErrSignature},
		{"other id", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Set(HeaderID, "evt_2")
			return h
		}, body, ErrSignature},
		{"old timestamp", secret, func() http.Header { return headers(secret, "evt_1", now.Add(-10*time.Minute), body, t) }, body, ErrTimestamp},
		{"future timestamp", secret, func() http.Header { return headers(secret, "evt_1", now.Add(10*time.Minute), body, t) }, body, ErrTimestamp},
		{"timestamp not a number", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Set(HeaderTimestamp, "soon")
			return h
		}, body, ErrTimestamp},
		{"missing signature", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Del(HeaderSignature)
			return h
		}, body, ErrMissingHeaders},
		{"missing id", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Del(HeaderID)
			return h
		}, body, ErrMissingHeaders},
		{"unknown version only", secret, func() http.Header {
			h := headers(secret, "evt_1", now, body, t)
			h.Set(HeaderSignature, strings.Replace(h.Get(HeaderSignature), "v1,", "v1a,", 1))
			return h
		}, body, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.secret, tt.h(), tt.body, time.Minute); !errors.Is(got, tt.want) {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecretForm(t *testing.T) {
	b := func(n int) string { return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	for _, tt := range []struct {
		secret string
		ok     bool
	}{
		{newSecret(), true},
		{b(24), true},
		{b(64), true},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)), true},
		{b(23), false},
		{b(65), false},
		{"whsec_", false},
		{"whsec_not base64!!", false},
		{strings.TrimPrefix(b(32), "whsec_"), false},
		{"", false},
	} {
		if _, err := decodeSecret(tt.secret); (err == nil) != tt.ok {
			t.Errorf("decodeSecret(%q) = %v, want ok=%v", tt.secret, err, tt.ok)
		}
	}
	if a, b := newSecret(), newSecret(); a == b {
		t.Errorf("newSecret returned %q twice", a)
	}
}

func TestBackoff(t *testing.T) {
	d := &Dispatcher{opts: Options{BaseDelay: time.Second, MaxDelay: time.Hour}}
	full := time.Second
	for n := 1; n <= 100; n, full = n+1, min(time.Hour, 2*full) {
		for _, j := range []float64{0, 0.5, 0.999} {
			got := d.backoff(n, j)
			if got < full/2 || got > full {
				t.Errorf("backoff(%d, %v) = %v, want in [%v, %v]", n, j, got, full/2, full)
			}
		}
	}
	if got := d.backoff(1, 0); got != 500*time.Millisecond {
		t.Errorf("backoff(1, 0) = %v, want 500ms", got)
	}
}
