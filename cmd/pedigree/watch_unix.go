//go:build unix

package main

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// runGroup runs cmd in its own process group, so that an interrupt (ctx
// done) reaches everything the deploy command started: SIGTERM to the
// group, which then has grace to clean up before SIGKILL. A command that
// ends normally keeps what it started in the background (a deploy may
// start a daemon).
func runGroup(ctx context.Context, cmd *exec.Cmd, grace time.Duration) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var termAt time.Time
	cmd.Cancel = func() error {
		termAt = time.Now()
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = grace // then the shell itself is killed
	err := cmd.Run()
	if ctx.Err() == nil || termAt.IsZero() {
		return err
	}
	// The shell may be gone while what it started is still cleaning up.
	group := -cmd.Process.Pid
	for syscall.Kill(group, 0) == nil && time.Since(termAt) < grace {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(group, syscall.SIGKILL)
	return err
}
