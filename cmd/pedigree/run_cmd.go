package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// `pedigree run start|log|finish|exec` record runs through the typed
// client (package client, operations in client/runs.graphql).

// api is the typed client of a command, with the server's base URL for
// messages.
type api struct {
	gql  graphql.Client
	base string
}

// newAPI checks --server the way every client command does and returns a
// client of it.
func newAPI(f *clientFlags) (*api, error) {
	gc, err := newGQLClient(f.server, f.token)
	if err != nil {
		return nil, &usageError{err}
	}
	base := strings.TrimSuffix(gc.endpoint, "/graphql")
	return &api{gql: apiclient.New(base, f.token), base: base}, nil
}

// fail turns an error of the typed client into one line: the server's
// message (prefixed with its field), or that the server is unreachable.
func (a *api) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, field, msg, ok := apiclient.Problem(err); ok {
		return errors.New(withField(field, msg))
	}
	var he *graphql.HTTPError
	if errors.As(err, &he) {
		if len(he.Response.Errors) > 0 && he.StatusCode != 0 && he.StatusCode < 500 {
			e := he.Response.Errors[0]
			field, _ := e.Extensions["field"].(string)
			if he.StatusCode == 401 || he.StatusCode == 403 {
				return fmt.Errorf("%s (check --token / PEDIGREE_TOKEN)", withField(field, e.Message))
			}
			if strings.HasPrefix(strings.TrimSpace(e.Message), "<") || len(e.Message) > 300 {
				return fmt.Errorf("%s answered HTTP %d", a.base, he.StatusCode)
			}
			return errors.New(withField(field, e.Message))
		}
		return fmt.Errorf("%s answered HTTP %d", a.base, he.StatusCode)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("cannot reach the server at %s: %v", a.base, op.Err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach the server at %s: %v", a.base, ue.Err)
	}
	return fmt.Errorf("%s: %w", a.base, err)
}

func withField(field, msg string) string {
	if field != "" && !strings.HasPrefix(msg, field+":") && !strings.HasPrefix(msg, field+".") && !strings.HasPrefix(msg, field+"[") {
		return field + ": " + msg
	}
	return msg
}

// Output: these commands print a short line for people (the run ID alone
// for run start, so that RUN=$(pedigree run start …) works), or the result
// as JSON or YAML with --output (output.go).

type outputFlag struct{ format string }

func (o *outputFlag) bind(cmd *cobra.Command) { bindOutput(cmd, &o.format) }
func (o *outputFlag) check() error            { return checkOutput(o.format) }
func (o *outputFlag) print(w io.Writer, v any, text func(io.Writer) error) error {
	return render(w, o.format, v, text)
}

// Flag values.

// parseKV reads KEY=VALUE flags of flag into pairs, in order; a key given
// twice keeps its last value.
func parseKV(flag string, values []string) ([]apiclient.KeyValueInput, error) {
	var out []apiclient.KeyValueInput
	for _, s := range values {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--%s: %q must be KEY=VALUE", flag, s)
		}
		k = strings.TrimSpace(k)
		if i := slices.IndexFunc(out, func(kv apiclient.KeyValueInput) bool { return kv.Key == k }); i >= 0 {
			out[i].Value = v
			continue
		}
		out = append(out, apiclient.KeyValueInput{Key: k, Value: v})
	}
	return out, nil
}

var rolePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// parseInputs reads --input ID[:ROLE] flags. Node IDs contain one colon
// (datasetversion:customers/3), so a role is what follows a second one:
// datasetversion:customers/3:train.
func parseInputs(values []string) ([]apiclient.RunInput, error) {
	var out []apiclient.RunInput
	for _, s := range values {
		s = strings.TrimSpace(s)
		in := apiclient.RunInput{Node: s}
		if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") >= 2 && rolePattern.MatchString(s[i+1:]) {
			role := s[i+1:]
			in.Node, in.Role = s[:i], &role
		}
		if !strings.Contains(in.Node, ":") {
			return nil, usagef("--input: %q is not a node ID[:ROLE], e.g. datasetversion:customers/3:train", s)
		}
		out = append(out, in)
	}
	return out, nil
}

// parseMetrics reads --metric KEY=VALUE[@STEP] flags.
func parseMetrics(values []string, now time.Time) ([]apiclient.MetricPointInput, error) {
	var out []apiclient.MetricPointInput
	for _, s := range values {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		bad := func(why string) error {
			return usagef("--metric: %q %s (want KEY=VALUE[@STEP], e.g. accuracy=0.93@10)", s, why)
		}
		if !ok || k == "" {
			return nil, bad("is not KEY=VALUE")
		}
		var step int64
		if val, st, ok := strings.Cut(v, "@"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(st), 10, 64)
			if err != nil || n < 0 {
				return nil, bad("has a step that is not a non-negative integer")
			}
			v, step = val, n
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, bad("has a value that is not a number")
		}
		ts := now
		out = append(out, apiclient.MetricPointInput{Key: k, Value: f, Step: &step, Timestamp: &ts})
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func checkRunID(id string) error {
	if !strings.HasPrefix(strings.TrimSpace(id), "run:") {
		return usagef("%q is not a run ID (run:…, as run start prints it)", id)
	}
	return nil
}

// Commands.

func newRunCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Record runs: start, log, finish, or exec a command as a run",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRunStartCommand(), newRunLogCommand(), newRunFinishCommand(), newRunExecCommand(), newRunListCommand())
	return usageCommand(cmd)
}

// runFlags are the flags shared by run start and run exec.
type runFlags struct {
	client     clientFlags
	out        outputFlag
	experiment string
	pipeline   string
	name       string
	parent     string
	params     []string
	tags       []string
	inputs     []string
}

func bindRunFlags(fs *pflag.FlagSet, f *runFlags, experimentDefault string) {
	bindClientFlags(fs, &f.client)
	fs.StringVar(&f.experiment, "experiment", experimentDefault, "experiment name; created on first use (PEDIGREE_EXPERIMENT)")
	fs.StringVar(&f.pipeline, "pipeline", "", "pipeline the run executes, if any")
	fs.StringVar(&f.name, "name", "", "run name")
	fs.StringVar(&f.parent, "parent", "", "parent run ID, for nested runs")
	fs.StringArrayVar(&f.params, "param", nil, "param KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.inputs, "input", nil, "input node ID[:ROLE], e.g. datasetversion:customers/3:train (repeatable)")
}

// startInput checks the flags and builds the run's StartRunInput.
func (f *runFlags) startInput() (apiclient.StartRunInput, error) {
	var in apiclient.StartRunInput
	if err := f.out.check(); err != nil {
		return in, err
	}
	if strings.TrimSpace(f.experiment) == "" {
		return in, usagef("--experiment is required")
	}
	params, err := parseKV("param", f.params)
	if err != nil {
		return in, err
	}
	tags, err := parseKV("tag", f.tags)
	if err != nil {
		return in, err
	}
	inputs, err := parseInputs(f.inputs)
	if err != nil {
		return in, err
	}
	if f.parent != "" {
		if err := checkRunID(f.parent); err != nil {
			return in, usagef("--parent: %v", err)
		}
	}
	trigger := detectTrigger(os.LookupEnv)
	return apiclient.StartRunInput{Experiment: f.experiment, Pipeline: optional(f.pipeline), Name: optional(f.name),
		Parent: optional(f.parent), Params: params, Tags: tags, Inputs: inputs, Trigger: &trigger}, nil
}

// startedRun is what run start prints as JSON or YAML.
type startedRun struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Experiment string    `json:"experiment"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"startedAt"`
}

func newRunStartCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "start --experiment NAME",
		Short: "Start a run; prints its ID",
		Long: `Start a run of --experiment and print its ID, for later run log and run finish.

The trigger is taken from the CI provider's variables (GitHub Actions, GitLab
CI, Jenkins), else it is MANUAL by $USER.`,
		Example: `  RUN=$(pedigree run start --experiment churn --param lr=0.1 --input datasetversion:customers/3:train)
  pedigree run log "$RUN" --metric auc=0.91@10
  pedigree run finish "$RUN"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cliError(runStart(cmd, &f))
		},
	}
	bindRunFlags(cmd.Flags(), &f, env("PEDIGREE_EXPERIMENT", ""))
	f.out.bind(cmd)
	return usageCommand(cmd)
}

func runStart(cmd *cobra.Command, f *runFlags) error {
	in, err := f.startInput()
	if err != nil {
		return err
	}
	a, err := newAPI(&f.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.StartRun(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	r := resp.StartRun
	out := startedRun{ID: r.Id, Name: r.Name, Experiment: r.ExperimentName, Status: string(r.Status), StartedAt: r.StartedAt}
	return f.out.print(cmd.OutOrStdout(), out, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, r.Id)
		return err
	})
}

func newRunLogCommand() *cobra.Command {
	var (
		f                     clientFlags
		out                   outputFlag
		metrics, params, tags []string
	)
	cmd := &cobra.Command{
		Use:     "log RUN_ID --metric KEY=VALUE[@STEP] ... [--param KEY=VALUE ...] [--tag KEY=VALUE ...]",
		Short:   "Log metrics, params and tags of a run",
		Example: `  pedigree run log "$RUN" --metric loss=0.31@1 --metric loss=0.27@2 --param epochs=2`,
		Args:    exactArgs(1, "one RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runLog(cmd, &f, &out, args[0], metrics, params, tags))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	out.bind(cmd)
	cmd.Flags().StringArrayVar(&metrics, "metric", nil, "metric point KEY=VALUE[@STEP] (repeatable; step 0 by default)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "param KEY=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	return usageCommand(cmd)
}

type logged struct {
	Run     string `json:"run"`
	Metrics int    `json:"metrics"`
	Params  int    `json:"params"`
	Tags    int    `json:"tags"`
}

func runLog(cmd *cobra.Command, f *clientFlags, out *outputFlag, run string, metricFlags, paramFlags, tagFlags []string) error {
	if err := out.check(); err != nil {
		return err
	}
	if err := checkRunID(run); err != nil {
		return err
	}
	points, err := parseMetrics(metricFlags, time.Now().UTC())
	if err != nil {
		return err
	}
	params, err := parseKV("param", paramFlags)
	if err != nil {
		return err
	}
	tags, err := parseKV("tag", tagFlags)
	if err != nil {
		return err
	}
	if len(points)+len(params)+len(tags) == 0 {
		return usagef("nothing to log: give --metric, --param or --tag")
	}
	a, err := newAPI(f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	res := logged{Run: run}
	if len(params) > 0 {
		if _, err := apiclient.LogRunParams(ctx, a.gql, apiclient.LogParamsInput{Run: run, Params: params}); err != nil {
			return a.fail(ctx, err)
		}
		res.Params = len(params)
	}
	if len(tags) > 0 {
		if _, err := apiclient.SetRunTags(ctx, a.gql, apiclient.SetRunTagsInput{Run: run, Tags: tags}); err != nil {
			return a.fail(ctx, err)
		}
		res.Tags = len(tags)
	}
	for batch := range slices.Chunk(points, 10000) {
		r, err := apiclient.LogRunMetrics(ctx, a.gql, apiclient.LogMetricsInput{Run: run, Metrics: batch})
		if err != nil {
			return a.fail(ctx, err)
		}
		res.Metrics += r.LogMetrics
	}
	return out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "logged %d metric points, %d params, %d tags to %s\n", res.Metrics, res.Params, res.Tags, run)
		return err
	})
}

func newRunFinishCommand() *cobra.Command {
	var (
		f       clientFlags
		out     outputFlag
		status  string
		compute []string
	)
	cmd := &cobra.Command{
		Use:   "finish RUN_ID [--status FINISHED|FAILED|KILLED]",
		Short: "Finish a run",
		Args:  exactArgs(1, "one RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runFinish(cmd, &f, &out, args[0], status, compute))
		},
	}
	bindClientFlags(cmd.Flags(), &f)
	out.bind(cmd)
	cmd.Flags().StringVar(&status, "status", "FINISHED", "final status: FINISHED, FAILED or KILLED")
	cmd.Flags().StringArrayVar(&compute, "compute", nil, "compute used KEY=VALUE, e.g. gpu_hours=1.5 (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"FINISHED", "FAILED", "KILLED"}, cobra.ShellCompDirectiveNoFileComp))
	return usageCommand(cmd)
}

// finishedRun is what run finish and run exec print as JSON or YAML.
type finishedRun struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt"`
	ExitCode  *int       `json:"exitCode,omitempty"`
}

func parseStatus(s string) (apiclient.RunStatus, error) {
	st := apiclient.RunStatus(strings.ToUpper(strings.TrimSpace(s)))
	switch st {
	case apiclient.RunStatusFinished, apiclient.RunStatusFailed, apiclient.RunStatusKilled:
		return st, nil
	}
	return "", usagef("--status: must be FINISHED, FAILED or KILLED, not %q", s)
}

func runFinish(cmd *cobra.Command, f *clientFlags, out *outputFlag, run, status string, computeFlags []string) error {
	if err := out.check(); err != nil {
		return err
	}
	if err := checkRunID(run); err != nil {
		return err
	}
	st, err := parseStatus(status)
	if err != nil {
		return err
	}
	compute, err := parseKV("compute", computeFlags)
	if err != nil {
		return err
	}
	a, err := newAPI(f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.FinishRun(ctx, a.gql, apiclient.FinishRunInput{Run: run, Status: &st, Compute: compute})
	if err != nil {
		return a.fail(ctx, err)
	}
	r := resp.FinishRun
	res := finishedRun{ID: r.Id, Status: string(r.Status), StartedAt: r.StartedAt, EndedAt: r.EndedAt}
	return out.print(cmd.OutOrStdout(), res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s %s\n", r.Id, r.Status)
		return err
	})
}

type execFlags struct {
	runFlags
	outputs   []string
	noCapture bool
}

func newRunExecCommand() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec [flags] -- CMD [ARGS...]",
		Short: "Run a command as a run, recording its code, environment, trigger and outcome",
		Long: `Start a run, run CMD in it, and finish the run with CMD's outcome.

Before CMD starts, run exec records, without being asked:
  code         the git repository of the working directory: remote URL
               (without credentials; file:// of the top level if there is no
               remote), commit, branch, path, dirty state and, when dirty, a
               digest of the changes (git diff HEAD plus untracked files)
  environment  the language (python, go or node, from the lock files in the
               working directory or at the repository's top level), its
               version, the packages of requirements.txt, uv.lock,
               poetry.lock or go.sum, and the hardware (os, arch, cpus, memory)
  trigger      CI for GitHub Actions, GitLab CI or Jenkins (actor, pipeline
               id, url), else MANUAL by $USER

CMD runs with standard input, output and error passed through and with
PEDIGREE_RUN_ID (the run's ID) and PEDIGREE_URL in its environment. The run
then finishes FINISHED if CMD exits with status 0, FAILED otherwise (KILLED if
pedigree was interrupted), with the tag exit_code and the compute entries
wall_seconds, user_cpu_seconds and system_cpu_seconds; the --output nodes are
added as outputs if CMD succeeded. pedigree exits with CMD's exit status.`,
		Example: `  pedigree run exec --experiment churn --input datasetversion:customers/3:train -- python train.py --lr 0.1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: expected a command to run after -- (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runExec(cmd, &f, args)
			var es *exitStatus
			if errors.As(err, &es) {
				return err // CMD's exit status, not pedigree's
			}
			return cliError(err)
		},
	}
	fs := cmd.Flags()
	// Flags after CMD are CMD's: pedigree run exec python train.py --lr 1.
	fs.SetInterspersed(false)
	bindRunFlags(fs, &f.runFlags, env("PEDIGREE_EXPERIMENT", "default"))
	fs.StringArrayVar(&f.outputs, "output", nil, "node ID the command generates, added as an output of the run if it succeeds (repeatable)")
	fs.StringVar(&f.out.format, "print", "table", "what to print when the command has ended: table (one line on stderr), json or yaml (on stderr)")
	fs.BoolVar(&f.noCapture, "no-capture", false, "record no code version or environment")
	return usageCommand(cmd)
}

func runExec(cmd *cobra.Command, f *execFlags, args []string) error {
	in, err := f.startInput()
	if err != nil {
		return err
	}
	for _, o := range f.outputs {
		if !strings.Contains(o, ":") {
			return usagef("--output: %q is not a node ID (kind:key)", o)
		}
	}
	a, err := newAPI(&f.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	note := func(format string, args ...any) {
		if !f.client.quiet {
			fmt.Fprintf(stderr, "pedigree: "+format+"\n", args...)
		}
	}
	if !f.noCapture {
		dir, err := os.Getwd()
		if err != nil {
			return err
		}
		top := ""
		if g, why := captureGit(ctx, dir); g == nil {
			note("no code version recorded: %s", why)
		} else {
			top = strings.TrimSuffix(dir, string(filepath.Separator)+filepath.FromSlash(g.Path))
			cv, err := apiclient.RegisterCodeVersion(ctx, a.gql, apiclient.RegisterCodeVersionInput{Repository: g.Repository, Commit: g.Commit,
				Branch: optional(g.Branch), Path: optional(g.Path), Dirty: &g.Dirty, DiffDigest: optional(g.DiffDigest)})
			if err != nil {
				return fmt.Errorf("recording the code version: %w", a.fail(ctx, err))
			}
			in.Code = &cv.RegisterCodeVersion.Id
		}
		e := captureEnvironment(ctx, dir, top)
		env, err := apiclient.RegisterEnvironment(ctx, a.gql, apiclient.RegisterEnvironmentInput{Language: optional(e.Language),
			LanguageVersion: optional(e.LanguageVersion), Packages: e.Packages, Hardware: e.Hardware})
		if err != nil {
			return fmt.Errorf("recording the environment: %w", a.fail(ctx, err))
		}
		in.Environment = &env.RegisterEnvironment.Id
	}
	started, err := apiclient.StartRun(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	run := started.StartRun.Id
	note("run %s started: %s", run, strings.Join(args, " "))

	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), stderr
	c.Env = append(os.Environ(), "PEDIGREE_RUN_ID="+run, "PEDIGREE_URL="+a.base)
	// SIGINT reaches CMD from the terminal too; SIGTERM sent to pedigree
	// alone is passed on. CMD gets 10 s to stop before it is killed.
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	begin := time.Now()
	runErr := c.Run()
	wall := time.Since(begin)

	code := 0
	status := apiclient.RunStatusFinished
	var startErr error
	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee):
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		status = apiclient.RunStatusFailed
	default:
		// CMD did not start: not found, not executable.
		code, status, startErr = 127, apiclient.RunStatusFailed, runErr
	}
	if ctx.Err() != nil {
		status = apiclient.RunStatusKilled
		if code == 0 {
			code = 130
		}
	}

	// The run is finished even when pedigree was interrupted.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	compute := []apiclient.KeyValueInput{{Key: "wall_seconds", Value: strconv.FormatFloat(wall.Seconds(), 'f', 3, 64)}}
	if ps := c.ProcessState; ps != nil {
		compute = append(compute,
			apiclient.KeyValueInput{Key: "system_cpu_seconds", Value: strconv.FormatFloat(ps.SystemTime().Seconds(), 'f', 3, 64)},
			apiclient.KeyValueInput{Key: "user_cpu_seconds", Value: strconv.FormatFloat(ps.UserTime().Seconds(), 'f', 3, 64)})
	}
	tags := []apiclient.KeyValueInput{{Key: "exit_code", Value: strconv.Itoa(code)}}
	if startErr != nil {
		tags = append(tags, apiclient.KeyValueInput{Key: "exec_error", Value: oneLine(startErr).Error()})
	}
	var finishErr error
	if _, err := apiclient.SetRunTags(fctx, a.gql, apiclient.SetRunTagsInput{Run: run, Tags: tags}); err != nil {
		finishErr = a.fail(fctx, err)
	}
	if status == apiclient.RunStatusFinished && len(f.outputs) > 0 && finishErr == nil {
		if _, err := apiclient.AddRunOutputs(fctx, a.gql, apiclient.AddRunOutputsInput{Run: run, Outputs: f.outputs}); err != nil {
			finishErr = fmt.Errorf("adding the outputs: %w", a.fail(fctx, err))
		}
	}
	fin, err := apiclient.FinishRun(fctx, a.gql, apiclient.FinishRunInput{Run: run, Status: &status, Compute: compute})
	if err != nil && finishErr == nil {
		finishErr = fmt.Errorf("finishing run %s: %w", run, a.fail(fctx, err))
	}

	if finishErr == nil {
		r := fin.FinishRun
		res := finishedRun{ID: r.Id, Status: string(r.Status), StartedAt: r.StartedAt, EndedAt: r.EndedAt, ExitCode: &code}
		if f.out.format == "json" || f.out.format == "yaml" {
			_ = f.out.print(stderr, res, nil)
		} else {
			note("run %s %s (exit status %d, %s)", run, r.Status, code, wall.Round(time.Millisecond))
		}
	}
	switch {
	case startErr != nil:
		msg := fmt.Sprintf("cannot run %s: %v", args[0], pathErr(startErr))
		if finishErr != nil {
			msg += "; " + finishErr.Error()
		}
		return &exitStatus{code: code, msg: msg}
	case code != 0:
		if finishErr != nil {
			return &exitStatus{code: code, msg: finishErr.Error()}
		}
		return &exitStatus{code: code}
	}
	return finishErr
}
