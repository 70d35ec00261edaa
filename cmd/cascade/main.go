// Command cascade drives the lab: replay the incident, bring a stack up for a
// game-day, inject faults into it, and clean up leftovers.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

var subcommands []*cobra.Command

// register adds a subcommand; each command's file calls it from init.
func register(cmd *cobra.Command) { subcommands = append(subcommands, cmd) }

// usageError marks bad input: cascade exits 2 for it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit status 2).
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode lets a command choose its exit status (replay: 1 when a hypothesis failed).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	root := &cobra.Command{
		Use:           "cascade",
		Short:         "replay the us-east-1 outage of October 2025 against a mock AWS stack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(subcommands...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	var code exitCode
	var usage usageError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	case errors.As(err, &usage), strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"):
		fmt.Fprintln(os.Stderr, "cascade:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "cascade:", err)
		os.Exit(1)
	}
}
