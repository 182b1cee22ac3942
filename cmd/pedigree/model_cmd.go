package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
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
	output      string
}

func newModelCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Register model versions",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newModelRegisterCommand())
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
	fs.StringVar(&o.output, "output", "text", "text or json")
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

const registerWithUpload = `mutation($in: RegisterModelVersionInput!) {
  registerModelVersion(input: $in) { id modelName version runId artifactUri artifactDigest framework stage }
}`

func runModelRegister(cmd *cobra.Command, o *modelRegisterOptions) error {
	asJSON, err := outputFormat(o.output)
	if err != nil {
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
	gc, err := newGQLClient(o.client.server, o.client.token)
	if err != nil {
		return &usageError{err}
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
	in := map[string]any{"model": o.model, "run": o.run, "upload": up.Digest}
	if o.framework != "" {
		in["framework"] = o.framework
	}
	if o.description != "" {
		in["description"] = o.description
	}
	var out struct{ RegisterModelVersion registeredVersion }
	if err := gc.do(ctx, registerWithUpload, map[string]any{"in": in}, &out); err != nil {
		var ge gqlErrors
		// gqlgen reports a variable's unknown input field as "unknown field"
		// (the path, which it puts elsewhere, names upload): every other
		// field sent here is older than upload.
		if errors.As(err, &ge) && ge.Code() == "GRAPHQL_VALIDATION_FAILED" && (strings.Contains(ge.Error(), "upload") || strings.Contains(ge.Error(), "unknown field")) {
			return fmt.Errorf("uploaded %s as %s, but the server at %s cannot register uploads (registerModelVersion has no upload field): upgrade the server", o.file, up.Digest, ac.base)
		}
		var te *transportError
		if errors.As(err, &te) {
			return fmt.Errorf("uploaded %s as %s, but registering it failed: %w", o.file, up.Digest, err)
		}
		return fmt.Errorf("uploaded %s as %s, but the server refused to register it: %w", o.file, up.Digest, err)
	}
	mv := out.RegisterModelVersion
	w := cmd.OutOrStdout()
	if asJSON {
		return json.NewEncoder(w).Encode(mv)
	}
	_, err = fmt.Fprintf(w, "model %s v%d (%s)\n", mv.ModelName, mv.Version, mv.ID)
	return err
}
