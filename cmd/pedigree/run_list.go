package main

import (
	"io"

	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

func newRunListCommand() *cobra.Command {
	var (
		f          clientFlags
		out        outputFlag
		filter     string
		experiment string
		orderBy    []string
		limit      int
	)
	cmd := &cobra.Command{
		Use:   "list [--filter EXPR] [--experiment E] [--order-by KEY] [--limit N]",
		Short: "List runs matching a filter, newest first",
		Long: `List runs matching a filter in MLflow's search syntax (with OR and
parentheses), e.g. --filter "metrics.auc > 0.9 and params.model = 'xgb'",
sorted by --order-by keys such as "metrics.auc DESC" (ties newest first).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cliError(runList(cmd, &f, &out, filter, experiment, orderBy, limit))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	out.bind(cmd)
	cmd.Flags().StringVar(&filter, "filter", "", "filter expression, e.g. \"metrics.auc > 0.9 and params.model = 'xgb'\"")
	cmd.Flags().StringVar(&experiment, "experiment", "", "only runs of this experiment")
	cmd.Flags().StringArrayVar(&orderBy, "order-by", nil, "sort key, e.g. \"metrics.auc DESC\" (repeatable)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs (up to 1000)")
	return usageCommand(cmd)
}

func runList(cmd *cobra.Command, f *clientFlags, out *outputFlag, filter, experiment string, orderBy []string, limit int) error {
	if err := out.check(); err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return usagef("--limit: must be between 1 and 1000")
	}
	a, err := newAPI(f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var filterArg, expArg *string
	if filter != "" {
		filterArg = &filter
	}
	if experiment != "" {
		expArg = &experiment
	}
	resp, err := apiclient.ListRuns(ctx, a.gql, filterArg, expArg, orderBy, &limit, nil)
	if err != nil {
		return a.fail(ctx, err)
	}
	runs := resp.Runs.Nodes
	return out.print(cmd.OutOrStdout(), runs, func(w io.Writer) error {
		t := newTable(w, "id", "name", "experiment", "status", "started")
		for _, r := range runs {
			t.row(r.Id, r.Name, r.ExperimentName, r.Status, r.StartedAt.Local().Format("2006-01-02 15:04:05"))
		}
		return t.flush()
	})
}
