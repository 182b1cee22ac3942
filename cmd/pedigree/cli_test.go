package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The real binary against a real server: bad input of every kind ends in
// one clear line on stderr and the exit code scripts rely on.
func TestCLIBadInputExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := MustServe(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"model", "get", "nope", "--server", m.URL()}, 1, `model: model "nope" not found`},
		{[]string{"run", "list", "--filter", "metrics.auc >", "--server", m.URL()}, 1, "filter:"},
		{[]string{"run", "list", "--filter", "params.x = 1 or", "--server", m.URL()}, 1, "filter:"},
		{[]string{"run", "list", "--server", "http://127.0.0.1:1"}, 1, "cannot reach the server"},
		{[]string{"model", "get", "churn", "--server", "http://127.0.0.1:1"}, 1, "cannot reach the server"},
		{[]string{"model", "promote", "churn", "--server", m.URL()}, 2, ""},
		{[]string{"lineage", "modelversion:churn/1", "--format", "png", "--server", m.URL()}, 2, "--format"},
		{[]string{"run", "list", "--output", "xml", "--server", m.URL()}, 2, "--output"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		msg := strings.TrimSpace(stderr.String())
		// Failures are one "pedigree: …" line; usage errors may add help.
		oneLine := strings.HasPrefix(msg, "pedigree:") && !strings.Contains(msg, "\n")
		if code != tc.code || !strings.Contains(msg, tc.want) || (tc.code == 1 && !oneLine) {
			t.Errorf("pedigree %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(tc.args, " "), code, msg, tc.code, tc.want)
		}
	}
}
