package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

// `pedigree model register` uploads a model file and registers it as the
// next version of a model, in two steps: the upload (artifact push), then
// registerModelVersion naming the upload by its digest, from which the
// server fills in the version's artifact URI, digest and size.

type modelRegisterOptions struct {
	client      clientFlags
	model       string
	run         string
	file        string
	framework   string
	description string
	output      outputFlag
}

func newModelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Register, inspect, promote and roll back model versions",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newModelRegisterCommand(), newModelGetCommand(), newModelListCommand(), newModelHistoryCommand(),
		newModelPromoteCommand(), newModelRollbackCommand())
	return usageCommand(cmd)
}

func newModelRegisterCommand() *cobra.Command {
	var o modelRegisterOptions
	cmd := &cobra.Command{
		Use:   "register --model NAME --run RUN_ID --file PATH",
		Short: "Upload a model file and register it as the model's next version",
		Long: `Upload --file to the server's artifact store (as pedigree artifact push does)
and register it as the next version of --model, produced by --run. The version's
artifact URI, digest and size are the ones the server computed from the upload.

Prints "model NAME vN (ID)", or the version as JSON with --output json.`,
		Example: `  pedigree model register --model churn --run run:0190… --file model.pkl --framework xgboost`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cliError(runModelRegister(cmd, &o))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	fs.StringVar(&o.model, "model", "", "model name (required); created on first use")
	fs.StringVar(&o.run, "run", "", "ID of the run that produced the model (required)")
	fs.StringVar(&o.file, "file", "", "model file to upload (required)")
	fs.StringVar(&o.framework, "framework", "", "framework, e.g. xgboost, pytorch")
	fs.StringVar(&o.description, "description", "", "description of the version")
	o.output.bind(cmd)
	return usageCommand(cmd)
}

// registeredVersion is the part of a ModelVersion register prints.
type registeredVersion struct {
	ID             string `json:"id"`
	ModelName      string `json:"modelName"`
	Version        int64  `json:"version"`
	RunID          string `json:"runId"`
	ArtifactURI    string `json:"artifactUri"`
	ArtifactDigest string `json:"artifactDigest"`
	Framework      string `json:"framework"`
	Stage          string `json:"stage"`
}

func runModelRegister(cmd *cobra.Command, o *modelRegisterOptions) error {
	if err := o.output.check(); err != nil {
		return err
	}
	if err := checkFlagName("model", o.model); err != nil {
		return &usageError{err}
	}
	if strings.TrimSpace(o.run) == "" {
		return usagef("--run is required: the ID of the run that produced the model")
	}
	if o.file == "" {
		return usagef("--file is required: the model file to upload")
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ac, err := newArtifactClient(cmd, &o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	up, err := ac.push(ctx, o.file, "")
	if err != nil {
		return err
	}
	resp, err := apiclient.RegisterModelVersion(ctx, a.gql, apiclient.RegisterModelVersionInput{
		Model: o.model, Run: o.run, Upload: &up.Digest, Framework: optional(o.framework), Description: optional(o.description),
	})
	if err != nil {
		what := "registering it failed"
		if _, _, _, ok := apiclient.Problem(err); ok {
			what = "the server refused to register it"
		}
		return fmt.Errorf("uploaded %s as %s, but %s: %w", o.file, up.Digest, what, a.fail(ctx, err))
	}
	r := resp.RegisterModelVersion
	mv := registeredVersion{ID: r.Id, ModelName: r.ModelName, Version: int64(r.Version), RunID: r.RunId,
		ArtifactURI: r.ArtifactUri, ArtifactDigest: r.ArtifactDigest, Framework: r.Framework, Stage: string(r.Stage)}
	return o.output.print(cmd.OutOrStdout(), mv, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "model %s v%d (%s)\n", mv.ModelName, mv.Version, mv.ID)
		return err
	})
}

// The registry commands below (get, list, history, promote, rollback) and
// the lineage commands talk to the server through the typed client.

// modelFail is a.fail for queries of model(name:), whose NOT_FOUND names
// the argument "name": said as the registry mutations and modelVersion say it.
func modelFail(ctx context.Context, a *api, name string, err error) error {
	if code, _, _, ok := apiclient.Problem(err); ok && code == "NOT_FOUND" {
		return fmt.Errorf("model: model %q not found", name)
	}
	return a.fail(ctx, err)
}

var stages = []string{string(apiclient.StageNone), string(apiclient.StageStaging), string(apiclient.StageProduction), string(apiclient.StageArchived)}

// parseStage reads a stage flag, in any case.
func parseStage(flag, v string) (apiclient.Stage, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	if !slices.Contains(stages, s) {
		return "", usagef("--%s: must be one of %s, not %q", flag, strings.Join(stages, ", "), v)
	}
	return apiclient.Stage(s), nil
}

// parseVersion reads a version number argument or flag: N or vN, at least 1.
func parseVersion(what, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(v), "v"))
	if err != nil || n < 1 {
		return 0, usagef("%s: %q is not a version number (1, 2, … or v1, v2, …)", what, v)
	}
	return n, nil
}

// completeModels completes a model name argument from the server, when it
// answers quickly; otherwise nothing is offered.
func completeModels(f *clientFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		a, err := newAPI(f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		first := 1000
		resp, err := apiclient.ListModels(ctx, a.gql, &first, nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, m := range resp.Models.Nodes {
			names = append(names, m.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// modelFields are the values `model get --field` prints, in the order the
// table shows them.
var modelFields = []struct {
	name string
	get  func(*apiclient.ModelVersionFields) string
}{
	{"id", func(v *apiclient.ModelVersionFields) string { return v.Id }},
	{"model", func(v *apiclient.ModelVersionFields) string { return v.ModelName }},
	{"version", func(v *apiclient.ModelVersionFields) string { return strconv.Itoa(v.Version) }},
	{"stage", func(v *apiclient.ModelVersionFields) string { return string(v.Stage) }},
	{"artifactUri", func(v *apiclient.ModelVersionFields) string { return v.ArtifactUri }},
	{"artifactDigest", func(v *apiclient.ModelVersionFields) string { return v.ArtifactDigest }},
	{"run", func(v *apiclient.ModelVersionFields) string { return v.RunId }},
	{"framework", func(v *apiclient.ModelVersionFields) string { return v.Framework }},
	{"aliases", func(v *apiclient.ModelVersionFields) string { return strings.Join(v.Aliases, ",") }},
	{"createdAt", func(v *apiclient.ModelVersionFields) string { return v.CreatedAt.UTC().Format(time.RFC3339) }},
	{"description", func(v *apiclient.ModelVersionFields) string { return v.Description }},
}

func modelFieldNames() []string {
	names := make([]string, len(modelFields))
	for i, f := range modelFields {
		names[i] = f.name
	}
	return names
}

type modelGetOptions struct {
	client  clientFlags
	version string
	stage   string
	alias   string
	field   string
	output  string
}

func newModelGetCommand() *cobra.Command {
	var o modelGetOptions
	cmd := &cobra.Command{
		Use:   "get NAME [--version N | --stage STAGE | --alias ALIAS] [--field FIELD]",
		Short: "Show one version of a model, or print one of its fields",
		Long: `Show one version of model NAME: the one numbered --version, the latest in
--stage, or the one --alias points to; the newest version without any of them.

With --field, print only that value on one line, for scripts. Fields:
` + strings.Join(modelFieldNames(), ", ") + `.

Exits with status 1 if the model or version does not exist.`,
		Example: `  pedigree model get churn --stage PRODUCTION --field artifactUri
  pedigree model get churn --version 3 --output json
  pedigree model get churn --alias champion`,
		Args:              exactArgs(1, "one model NAME"),
		ValidArgsFunction: completeModels(&o.client),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runModelGet(cmd, &o, args[0]))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	fs.StringVar(&o.version, "version", "", "version number")
	fs.StringVar(&o.stage, "stage", "", "the latest version in this stage: "+strings.Join(stages, ", "))
	fs.StringVar(&o.alias, "alias", "", "the version this alias points to")
	fs.StringVar(&o.field, "field", "", "print only this field: "+strings.Join(modelFieldNames(), ", "))
	bindOutput(cmd, &o.output)
	_ = cmd.RegisterFlagCompletionFunc("stage", fixedCompletion(stages...))
	_ = cmd.RegisterFlagCompletionFunc("field", fixedCompletion(modelFieldNames()...))
	return usageCommand(cmd)
}

func runModelGet(cmd *cobra.Command, o *modelGetOptions, name string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	var get func(*apiclient.ModelVersionFields) string
	if o.field != "" {
		for _, f := range modelFields {
			if strings.EqualFold(f.name, o.field) {
				get = f.get
			}
		}
		if get == nil {
			return usagef("--field: unknown field %q; one of %s", o.field, strings.Join(modelFieldNames(), ", "))
		}
		if cmd.Flags().Changed("output") {
			return usagef("--field and --output cannot be used together: --field prints one bare value")
		}
	}
	var (
		version *int
		stage   *apiclient.Stage
		alias   *string
		n       int
	)
	for _, fl := range []string{"version", "stage", "alias"} {
		if cmd.Flags().Changed(fl) {
			n++
		}
	}
	if n > 1 {
		return usagef("--version, --stage and --alias select a version: give at most one")
	}
	switch {
	case cmd.Flags().Changed("version"):
		v, err := parseVersion("--version", o.version)
		if err != nil {
			return err
		}
		version = &v
	case cmd.Flags().Changed("stage"):
		s, err := parseStage("stage", o.stage)
		if err != nil {
			return err
		}
		stage = &s
	case cmd.Flags().Changed("alias"):
		if strings.TrimSpace(o.alias) == "" {
			return usagef("--alias: must not be empty")
		}
		alias = &o.alias
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var mv *apiclient.ModelVersionFields
	if n == 0 {
		resp, err := apiclient.LatestModelVersion(ctx, a.gql, name)
		if err != nil {
			return modelFail(ctx, a, name, err)
		}
		if resp.Model == nil || len(resp.Model.Versions.Nodes) == 0 {
			return fmt.Errorf("model: model %q has no versions", name)
		}
		mv = &resp.Model.Versions.Nodes[0].ModelVersionFields
	} else {
		resp, err := apiclient.GetModelVersion(ctx, a.gql, name, version, stage, alias)
		if err != nil {
			return a.fail(ctx, err)
		}
		if resp.ModelVersion == nil {
			return fmt.Errorf("model: no version of %q matches", name)
		}
		mv = &resp.ModelVersion.ModelVersionFields
	}
	w := cmd.OutOrStdout()
	if get != nil {
		_, err := fmt.Fprintln(w, get(mv))
		return err
	}
	return render(w, o.output, mv, func(w io.Writer) error {
		t := newTable(w)
		for _, f := range modelFields {
			t.row(f.name, f.get(mv))
		}
		return t.flush()
	})
}

type modelListOptions struct {
	client clientFlags
	output string
}

// modelSummary is one row of `model list`.
type modelSummary struct {
	Name        string         `json:"name"`
	Latest      int            `json:"latestVersion"`
	LatestStage string         `json:"latestStage"`
	Production  *int           `json:"productionVersion"`
	Aliases     map[string]int `json:"aliases"`
	Description string         `json:"description"`
	aliasOrder  []string       // Aliases in the server's (name) order
}

func newModelListCommand() *cobra.Command {
	var o modelListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List models with their latest and Production versions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cliError(runModelList(cmd, &o))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runModelList(cmd *cobra.Command, o *modelListOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	models := []modelSummary{}
	first := 1000
	var after *string
	for {
		resp, err := apiclient.ListModels(ctx, a.gql, &first, after)
		if err != nil {
			return a.fail(ctx, err)
		}
		for _, m := range resp.Models.Nodes {
			s := modelSummary{Name: m.Name, Description: m.Description, Aliases: map[string]int{}}
			if len(m.Versions.Nodes) > 0 {
				s.Latest, s.LatestStage = m.Versions.Nodes[0].Version, string(m.Versions.Nodes[0].Stage)
			}
			if m.Production != nil {
				s.Production = &m.Production.Version
			}
			for _, a := range m.Aliases {
				s.Aliases[a.Alias] = a.Version
				s.aliasOrder = append(s.aliasOrder, a.Alias)
			}
			models = append(models, s)
		}
		pi := resp.Models.PageInfo
		if !pi.HasNextPage || pi.EndCursor == nil {
			break
		}
		after = pi.EndCursor
	}
	return render(cmd.OutOrStdout(), o.output, models, func(w io.Writer) error {
		t := newTable(w, "model", "latest", "stage", "production", "aliases", "description")
		for _, m := range models {
			var prod any
			if m.Production != nil {
				prod = fmt.Sprintf("v%d", *m.Production)
			}
			var aliases []string
			for _, a := range m.aliasOrder {
				aliases = append(aliases, fmt.Sprintf("%s=v%d", a, m.Aliases[a]))
			}
			latest := any(nil)
			if m.Latest > 0 {
				latest = fmt.Sprintf("v%d", m.Latest)
			}
			t.row(m.Name, latest, m.LatestStage, prod, strings.Join(aliases, ","), m.Description)
		}
		return t.flush()
	})
}

type modelHistoryOptions struct {
	client clientFlags
	output string
}

// stageChange is one entry of `model history`.
type stageChange struct {
	Version int       `json:"version"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

func newModelHistoryCommand() *cobra.Command {
	var o modelHistoryOptions
	cmd := &cobra.Command{
		Use:               "history NAME",
		Short:             "Show a model's stage audit trail, oldest first",
		Long:              "Show every stage change of every version of model NAME, oldest first: the version, the stages before and after, who changed it, when and why.",
		Args:              exactArgs(1, "one model NAME"),
		ValidArgsFunction: completeModels(&o.client),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runModelHistory(cmd, &o, args[0]))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runModelHistory(cmd *cobra.Command, o *modelHistoryOptions, name string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	history := []stageChange{}
	first := 1000
	var after *string
	for {
		resp, err := apiclient.ModelHistory(ctx, a.gql, name, &first, after)
		if err != nil {
			return modelFail(ctx, a, name, err)
		}
		if resp.Model == nil {
			return fmt.Errorf("model: model %q not found", name)
		}
		for _, v := range resp.Model.Versions.Nodes {
			for _, t := range v.Transitions {
				history = append(history, stageChange{Version: v.Version, From: string(t.From), To: string(t.To), Actor: t.Actor, At: t.At, Reason: t.Reason})
			}
		}
		pi := resp.Model.Versions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == nil {
			break
		}
		after = pi.EndCursor
	}
	// A promotion to PRODUCTION archives the previous version in the same
	// instant: order by time, then version, for a stable trail.
	slices.SortStableFunc(history, func(a, b stageChange) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	return render(cmd.OutOrStdout(), o.output, history, func(w io.Writer) error {
		t := newTable(w, "time", "version", "from", "to", "actor", "reason")
		for _, h := range history {
			t.row(h.At.UTC().Format("2006-01-02 15:04:05Z"), fmt.Sprintf("v%d", h.Version), h.From, h.To, h.Actor, h.Reason)
		}
		return t.flush()
	})
}

type modelPromoteOptions struct {
	client      clientFlags
	stage       string
	expectStage string
	reason      string
	output      string
}

func newModelPromoteCommand() *cobra.Command {
	var o modelPromoteOptions
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION --stage STAGE [--expect-stage STAGE] [--reason TEXT]",
		Short: "Move a model version to a stage",
		Long: `Move version VERSION of model NAME to --stage (STAGING, PRODUCTION or
ARCHIVED). Promoting to PRODUCTION archives the previous Production version.

With --expect-stage the move is a compare-and-swap: it happens only if the
version is still in that stage, else the command exits with status 1 and
changes nothing (someone else changed it first).`,
		Example: `  pedigree model promote churn 7 --stage STAGING --reason "offline eval passed"
  pedigree model promote churn 7 --stage PRODUCTION --expect-stage STAGING`,
		Args:              exactArgs(2, "a model NAME and a VERSION"),
		ValidArgsFunction: completeModels(&o.client),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runModelPromote(cmd, &o, args[0], args[1]))
		},
	}
	fs := cmd.Flags()
	bindClientFlags(fs, &o.client)
	fs.StringVar(&o.stage, "stage", "", "target stage (required): STAGING, PRODUCTION or ARCHIVED")
	fs.StringVar(&o.expectStage, "expect-stage", "", "only if the version is currently in this stage (compare-and-swap)")
	fs.StringVar(&o.reason, "reason", "", "why, for the audit trail")
	bindOutput(cmd, &o.output)
	_ = cmd.RegisterFlagCompletionFunc("stage", fixedCompletion(stages[1:]...))
	_ = cmd.RegisterFlagCompletionFunc("expect-stage", fixedCompletion(stages...))
	return usageCommand(cmd)
}

func runModelPromote(cmd *cobra.Command, o *modelPromoteOptions, name, version string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	v, err := parseVersion("VERSION", version)
	if err != nil {
		return err
	}
	if o.stage == "" {
		return usagef("--stage is required: STAGING, PRODUCTION or ARCHIVED")
	}
	stage, err := parseStage("stage", o.stage)
	if err != nil {
		return err
	}
	archive := true
	in := apiclient.TransitionModelVersionStageInput{Model: name, Version: v, Stage: stage, ArchiveExisting: &archive}
	if o.expectStage != "" {
		s, err := parseStage("expect-stage", o.expectStage)
		if err != nil {
			return err
		}
		in.ExpectedStage = &s
	}
	if o.reason != "" {
		in.Reason = &o.reason
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	resp, err := apiclient.TransitionStage(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	mv := &resp.TransitionModelVersionStage.ModelVersionFields
	return render(cmd.OutOrStdout(), o.output, mv, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "model %s v%d is in %s\n", mv.ModelName, mv.Version, mv.Stage)
		return err
	})
}

type modelRollbackOptions struct {
	client clientFlags
	reason string
	output string
}

func newModelRollbackCommand() *cobra.Command {
	var o modelRollbackOptions
	cmd := &cobra.Command{
		Use:   "rollback NAME [--reason TEXT]",
		Short: "Put the previous Production version of a model back in PRODUCTION",
		Long: `Roll model NAME's PRODUCTION back to the version that was in PRODUCTION
before the current one; the current one is archived. Prints the version now in
PRODUCTION. Exits with status 1 if there is nothing to roll back to.`,
		Example:           `  pedigree model rollback churn --reason "AUC regression"`,
		Args:              exactArgs(1, "one model NAME"),
		ValidArgsFunction: completeModels(&o.client),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cliError(runModelRollback(cmd, &o, args[0]))
		},
	}
	bindClientFlags(cmd.Flags(), &o.client)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, for the audit trail")
	bindOutput(cmd, &o.output)
	return usageCommand(cmd)
}

func runModelRollback(cmd *cobra.Command, o *modelRollbackOptions, name string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	a, err := newAPI(&o.client)
	if err != nil {
		return err
	}
	in := apiclient.RollbackModelInput{Model: name}
	if o.reason != "" {
		in.Reason = &o.reason
	}
	ctx := cmd.Context()
	resp, err := apiclient.RollbackModel(ctx, a.gql, in)
	if err != nil {
		return a.fail(ctx, err)
	}
	mv := &resp.RollbackModel.ModelVersionFields
	return render(cmd.OutOrStdout(), o.output, mv, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "model %s: v%d is back in %s\n", mv.ModelName, mv.Version, mv.Stage)
		return err
	})
}
