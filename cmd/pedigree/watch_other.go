//go:build !unix

package main

import (
	"context"
	"os/exec"
	"time"
)

// runGroup runs cmd; an interrupt kills it (process groups, and a
// termination signal to ask first, are Unix notions).
func runGroup(_ context.Context, cmd *exec.Cmd, _ time.Duration) error {
	return cmd.Run()
}
