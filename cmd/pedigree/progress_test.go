package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestProgressEnabled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		quiet bool
		tty   bool
		env   map[string]string
		want  bool
	}{
		{"terminal", false, true, nil, true},
		{"not a terminal", false, false, nil, false},
		{"quiet", true, true, nil, false},
		{"CI=true", false, true, map[string]string{"CI": "true"}, false},
		{"CI=1", false, true, map[string]string{"CI": "1"}, false},
		{"CI=woodpecker", false, true, map[string]string{"CI": "woodpecker"}, false},
		{"CI empty", false, true, map[string]string{"CI": ""}, true},
		{"CI=false", false, true, map[string]string{"CI": "false"}, true},
		{"CI=0", false, true, map[string]string{"CI": "0"}, true},
		{"CI but not a terminal", false, false, map[string]string{"CI": "true"}, false},
		{"quiet and CI", true, true, map[string]string{"CI": "true"}, false},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if got := progressEnabled(tc.quiet, tc.tty, lookup); got != tc.want {
			t.Errorf("%s: progressEnabled(quiet=%v, tty=%v) = %v, want %v", tc.name, tc.quiet, tc.tty, got, tc.want)
		}
	}
}

func TestProgressTerminalCheck(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}

// An enabled progress draws bytes, rate and time left and passes every
// byte through; a disabled one draws nothing.
func TestProgressDraws(t *testing.T) {
	const n = 1 << 20
	var drawn bytes.Buffer
	p := newProgress(&drawn, true, n, "uploading")
	got, err := io.Copy(io.Discard, p.reader(newPattern(1, n)))
	p.done()
	if err != nil || got != n {
		t.Fatalf("copied %d bytes (%v), want %d", got, err, n)
	}
	if s := drawn.String(); !strings.Contains(s, "uploading") || !strings.Contains(s, "MB") {
		t.Errorf("drew %q, want the description and byte counts", s)
	}
	drawn.Reset()
	p = newProgress(&drawn, false, n, "uploading")
	if got, err := io.Copy(io.Discard, p.reader(newPattern(1, n))); err != nil || got != n {
		t.Fatalf("copied %d bytes (%v), want %d", got, err, n)
	}
	p.done()
	if drawn.Len() != 0 {
		t.Errorf("a disabled progress drew %q", drawn.String())
	}
}
