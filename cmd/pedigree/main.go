// Command pedigree is Pedigree's one binary: `pedigree serve` runs the
// server; the client commands talk to one; export, import and migrate move
// a whole store between backends.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		// run exec's command reported its own failure; pedigree adds a line
		// only when it has something to say.
		var es *exitStatus
		if !errors.As(err, &es) || es.msg != "" {
			fmt.Fprintln(os.Stderr, "pedigree:", err)
		}
		stop()
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "pedigree",
		Short:         "ML lineage and model registry",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newExportCommand(), newImportCommand(), newMigrateCommand(), newWatchCommand(),
		newArtifactCommand(), newModelCommand(), newVerifyCommand(), newGCCommand(),
		newLineageCommand(), newImpactCommand(), newCompareCommand(), newDiffCommand(),
		newRunCommand(), newDatasetCommand())
	return root
}

func newServeCommand() *cobra.Command {
	m := NewMain()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the GraphQL API, GraphiQL and health endpoints",
		Long: `Serve Pedigree on the embedded store (default) or the store named by --store.

Every flag has a PEDIGREE_* environment variable as its default, e.g. PEDIGREE_ADDR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// Libraries that print with the log package (the Go CDK's mem://
			// topic warns of every message nobody subscribed to) log at debug.
			slog.SetLogLoggerLevel(slog.LevelDebug)
			if err := m.Run(ctx); err != nil {
				return err
			}
			<-ctx.Done()
			return m.Close()
		},
	}
	m.BindFlags(cmd.Flags())
	return cmd
}
