package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

// How every command ends: exit status 0 on success, 1 for a failure, 2 for
// bad usage (run exec: its command's status), with one line on stderr.

// usageError is bad usage: a missing or malformed flag or argument. The
// command exits with status 2 instead of 1.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode is the exit status for an error a command returned: run exec's
// command's own, 2 for bad usage, 1 for everything else.
func exitCode(err error) int {
	var (
		es *exitStatus
		ue *usageError
	)
	switch {
	case errors.As(err, &es):
		return es.code
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// cliError is oneLine that keeps an error's usage status.
func cliError(err error) error {
	if err == nil {
		return nil
	}
	line := oneLine(err)
	var ue *usageError
	if errors.As(err, &ue) {
		return &usageError{line}
	}
	return line
}

// usageCommand marks cmd's flag and argument errors as bad usage.
func usageCommand(cmd *cobra.Command) *cobra.Command {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	return cmd
}

// exactArgs is cobra.ExactArgs as bad usage, naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: expected %s, got %d arguments (see %s --help)", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// noArgs is cobra.NoArgs as bad usage.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (see %s --help)", cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}

// exitStatus ends pedigree with the exit status of the command run exec
// ran, printing msg (if any) first.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return "exit status " + strconv.Itoa(e.code)
}
