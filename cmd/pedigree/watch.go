package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pedigree-ml/pedigree/lineage"
)

// `pedigree watch` follows a model's events and runs a deploy command for
// each version that enters a stage, reporting each deployment back as
// PENDING, then SUCCEEDED or FAILED.
//
// Delivery is at least once from the server and at most once to the
// command: an event's seq is persisted (with the deployment marked
// in flight) before the command runs, so no crash or restart runs it twice.
// A crash while the command runs is reported as FAILED ("interrupted") at
// the next start.

const (
	watchMinBackoff = 200 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
	// watchKillGrace is how long a deploy command has to exit after
	// SIGTERM before its process group gets SIGKILL.
	watchKillGrace = 10 * time.Second
	// watchRecordTimeout bounds the final report after an interrupt.
	watchRecordTimeout = 10 * time.Second
	// watchLaterPage is the page size of the look-ahead for later events.
	watchLaterPage = 200
)

// Event types and stages the watcher reads (the schema's enum values).
const (
	evStageChanged = "STAGE_CHANGED"
	evRolledBack   = "ROLLED_BACK"
	stageProd      = "PRODUCTION"
	stageStaging   = "STAGING"
)

type watchOptions struct {
	server      string
	token       string
	model       string
	stage       string
	exec        string
	environment string
	state       string
	afterSeq    int64
	afterSeqSet bool
}

func newWatchCommand() *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch --model NAME --exec CMD",
		Short: "Run a deploy command whenever a model version enters a stage",
		Long: `Follow a model's events (the modelEvents subscription) and, each time a version
enters --stage (PRODUCTION by default; also a rollback when watching PRODUCTION),
run --exec with sh -c and record the deployment: PENDING before the command
runs, then SUCCEEDED on exit status 0 and FAILED otherwise.

The command inherits the environment plus PEDIGREE_MODEL, PEDIGREE_VERSION,
PEDIGREE_STAGE, PEDIGREE_ENVIRONMENT, PEDIGREE_ARTIFACT_URI,
PEDIGREE_ARTIFACT_DIGEST, PEDIGREE_RUN, PEDIGREE_EVENT_ID, PEDIGREE_EVENT_TYPE,
PEDIGREE_EVENT_SEQ, PEDIGREE_PREVIOUS_VERSION (the version a rollback replaced)
and PEDIGREE_EVENT (the whole event as JSON).

An event is skipped as superseded if its version has left the stage by the
time its turn comes, or a later event will deploy the stage again: a burst of
promotions deploys only the current version, and a rollback deploys once, on
its ROLLED_BACK event.
The last handled event is kept in --state and written before the command
runs: each event runs at most once, across disconnects and restarts. Without
a state file, watch starts after --after-seq, or else after the model's
newest stage event (only changes from now on), and writes the file at once.

Stops on SIGINT/SIGTERM; a running command gets SIGTERM (SIGKILL 10s later)
and its deployment is recorded FAILED ("interrupted").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.afterSeqSet = cmd.Flags().Changed("after-seq")
			return oneLine(runWatch(cmd.Context(), &o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	bindWatchFlags(cmd.Flags(), &o)
	return cmd
}

func bindWatchFlags(fs *pflag.FlagSet, o *watchOptions) {
	fs.StringVar(&o.server, "server", env("PEDIGREE_URL", "http://127.0.0.1:8080"), "base URL of the Pedigree server (PEDIGREE_URL)")
	fs.StringVar(&o.token, "token", env("PEDIGREE_TOKEN", ""), "bearer token sent to the server (PEDIGREE_TOKEN; prefer the variable: flags show in ps)")
	fs.Lookup("token").DefValue = "" // --help must not print the token from the environment
	fs.StringVar(&o.model, "model", "", "model to watch (required)")
	fs.StringVar(&o.stage, "stage", stageProd, "stage whose new versions are deployed: PRODUCTION or STAGING")
	fs.StringVar(&o.exec, "exec", "", "deploy command, run with sh -c (required)")
	fs.StringVar(&o.environment, "environment", "", "environment the deployments are recorded in; default: the stage in lower case")
	fs.StringVar(&o.state, "state", "", "state file; default: $XDG_STATE_HOME (else the user config directory)/pedigree/watch-MODEL-ENVIRONMENT.json")
	fs.Int64Var(&o.afterSeq, "after-seq", 0, "without a state file, start after this event seq (0: replay all); default: only events from now on")
	fs.Lookup("after-seq").DefValue = "0" // hides "(default 0)": the default is "now"
}

// namePattern mirrors lineage's rule for names (models, environments), so
// that a bad flag is refused before any event is handled.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func checkFlagName(flag, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("--%s is required", flag)
	case len(v) > lineage.MaxNameLen || !namePattern.MatchString(v):
		return fmt.Errorf("--%s: %q must be at most %d characters, start with a letter or digit and contain only letters, digits, '.', '_' and '-'", flag, v, lineage.MaxNameLen)
	}
	return nil
}

// validate checks and completes the options.
func (o *watchOptions) validate() error {
	if err := checkFlagName("model", o.model); err != nil {
		return err
	}
	o.model = strings.ToLower(o.model) // the server's canonical form
	o.stage = strings.ToUpper(strings.TrimSpace(o.stage))
	if o.stage != stageProd && o.stage != stageStaging {
		return fmt.Errorf("--stage: must be PRODUCTION or STAGING, not %q", o.stage)
	}
	if strings.TrimSpace(o.exec) == "" {
		return errors.New("--exec is required: the deploy command, run with sh -c")
	}
	if o.environment == "" {
		o.environment = strings.ToLower(o.stage)
	}
	if err := checkFlagName("environment", o.environment); err != nil {
		return err
	}
	if o.afterSeqSet && o.afterSeq < 0 {
		return fmt.Errorf("--after-seq: must not be negative, got %d", o.afterSeq)
	}
	if o.state == "" {
		base := os.Getenv("XDG_STATE_HOME")
		if base == "" {
			dir, err := os.UserConfigDir()
			if err != nil {
				return fmt.Errorf("--state: no default location (%v); pass --state FILE", err)
			}
			base = dir
		}
		o.state = filepath.Join(base, "pedigree", fmt.Sprintf("watch-%s-%s.json", o.model, strings.ToLower(o.environment)))
	}
	return nil
}

// watchState is the state file: where the watcher is in the event stream.
type watchState struct {
	Model       string `json:"model"`
	Environment string `json:"environment"`
	Stage       string `json:"stage"`
	// Seq is the last handled event: watch resumes after it.
	Seq     int64  `json:"seq"`
	EventID string `json:"eventId,omitempty"`
	// InFlight is the deployment whose command was started and whose
	// result is not yet recorded; Status is set once the command ended.
	InFlight *deployRecord `json:"inFlight,omitempty"`
	// Last is the last deployment whose result was recorded.
	Last      *deployRecord `json:"last,omitempty"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

type deployRecord struct {
	EventID string `json:"eventId"`
	Seq     int64  `json:"seq"`
	Version int64  `json:"version"`
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// modelEvent is a ModelEvent as the subscription delivers it.
type modelEvent struct {
	ID        string          `json:"id"`
	Seq       int64           `json:"seq"`
	ModelSeq  int64           `json:"modelSeq"`
	Type      string          `json:"type"`
	Model     string          `json:"model"`
	Version   *int64          `json:"version"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt string          `json:"createdAt"`

	raw     json.RawMessage
	payload eventPayload
}

// eventPayload is the part of an event's payload the watcher reads.
type eventPayload struct {
	Version           int64  `json:"version"`
	Stage             string `json:"stage"`
	To                string `json:"to"`
	ArtifactURI       string `json:"artifactUri"`
	ArtifactDigest    string `json:"artifactDigest"`
	Run               string `json:"run"`
	RolledBackVersion *int64 `json:"rolledBackVersion"`
}

func (e *modelEvent) version() int64 {
	if e.Version != nil {
		return *e.Version
	}
	return e.payload.Version
}

const eventFields = `id seq modelSeq type model version payload createdAt`

const (
	watchSubscription = `subscription($model: String, $types: [EventType!], $after: Int64) {
  modelEvents(model: $model, types: $types, afterSeq: $after) { ` + eventFields + ` } }`
	watchModelQuery = `query($name: String!) { model(name: $name) { name } }`
	watchHeadQuery  = `query($model: String!, $after: Int64!, $types: [EventType!]) { events(model: $model, afterSeq: $after, types: $types, first: 1000) { seq } }`
	watchCheckQuery = `query($model: String!, $version: Int!, $after: Int64!, $types: [EventType!], $first: Int!) {
  modelVersion(model: $model, version: $version) { stage deletedAt }
  events(model: $model, afterSeq: $after, types: $types, first: $first) { id seq type version payload } }`
	watchLaterQuery = `query($model: String!, $after: Int64!, $types: [EventType!], $first: Int!) {
  events(model: $model, afterSeq: $after, types: $types, first: $first) { id seq type version payload } }`
	watchRecordMutation = `mutation($in: RecordDeploymentInput!) { recordDeployment(input: $in) { id status } }`
)

type watcher struct {
	o              watchOptions
	c              *gqlClient
	log            io.Writer
	stdout, stderr io.Writer
	types          []string
	st             watchState
	seen           map[string]bool // ids of events whose command was started
}

func runWatch(ctx context.Context, o *watchOptions, stdout, stderr io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	c, err := newGQLClient(o.server, o.token)
	if err != nil {
		return err
	}
	w := &watcher{o: *o, c: c, log: stderr, stdout: stdout, stderr: stderr, seen: map[string]bool{},
		types: []string{evStageChanged}}
	if o.stage == stageProd {
		w.types = append(w.types, evRolledBack)
	}
	if err := w.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return w.loop(ctx)
}

func (w *watcher) logf(format string, args ...any) {
	fmt.Fprintf(w.log, format+"\n", args...)
}

// start checks the model, loads or creates the state file and settles a
// deployment a previous run left in flight.
func (w *watcher) start(ctx context.Context) error {
	err := w.c.do(ctx, watchModelQuery, map[string]any{"name": w.o.model}, nil)
	var (
		ge gqlErrors
		te *transportError
	)
	switch {
	case errors.As(err, &ge) && ge.Code() == lineage.ENOTFOUND:
		return fmt.Errorf("model: model %q not found", w.o.model)
	case errors.As(err, &te):
		// Only the first contact fails fast (a wrong --server should not
		// look like an outage); later ones are retried.
		return fmt.Errorf("cannot reach the server: %w", err)
	case err != nil:
		return err
	}

	ok, err := w.load()
	if err != nil {
		return err
	}
	if !ok {
		seq := w.o.afterSeq
		if !w.o.afterSeqSet {
			if seq, err = w.head(ctx); err != nil {
				return err
			}
		}
		w.st = watchState{Model: w.o.model, Environment: w.o.environment, Stage: w.o.stage, Seq: seq}
		if err := w.save(); err != nil {
			return err
		}
	} else if w.o.afterSeqSet && w.o.afterSeq != w.st.Seq {
		w.logf("--after-seq %d ignored: %s resumes after seq %d", w.o.afterSeq, w.o.state, w.st.Seq)
	}
	if f := w.st.InFlight; f != nil {
		if f.Status == "" {
			f.Status, f.Message = "FAILED", "interrupted"
			w.logf("%s v%d: watch stopped while its deploy command ran (event %s); recording it as failed", w.o.model, f.Version, f.EventID)
		}
		if err := w.finish(ctx); err != nil {
			return err
		}
	}
	w.logf("watching %s %s (environment %s) from seq %d", w.o.model, w.o.stage, w.o.environment, w.st.Seq)
	return nil
}

// head is the seq of the model's newest event that watch could act on:
// starting after it means "only changes from now on". The server resolves
// "now" the same way for a subscription without afterSeq, but watch needs
// the number to persist before it subscribes.
func (w *watcher) head(ctx context.Context) (int64, error) {
	var after int64
	for {
		var r struct {
			Events []struct {
				Seq int64 `json:"seq"`
			} `json:"events"`
		}
		if err := w.c.do(ctx, watchHeadQuery, map[string]any{"model": w.o.model, "after": after, "types": w.types}, &r); err != nil {
			return 0, fmt.Errorf("finding the newest event: %w", err)
		}
		if len(r.Events) == 0 {
			return after, nil
		}
		after = r.Events[len(r.Events)-1].Seq
		if len(r.Events) < 1000 {
			return after, nil
		}
	}
}

// loop follows the subscription, reconnecting with backoff after seq.
func (w *watcher) loop(ctx context.Context) error {
	backoff := watchMinBackoff
	lost := false
	for {
		began := time.Now()
		vars := map[string]any{"model": w.o.model, "types": w.types, "after": w.st.Seq}
		sub, err := w.c.subscribe(ctx, watchSubscription, vars)
		if err == nil {
			if lost {
				w.logf("reconnected; resuming after seq %d", w.st.Seq)
				lost = false
			}
			err = w.follow(ctx, sub)
		}
		if ctx.Err() != nil {
			w.logf("stopped at seq %d", w.st.Seq)
			return nil
		}
		if !temporary(err) && !errors.Is(err, errCompleted) {
			return err
		}
		if time.Since(began) > 10*time.Second {
			backoff = watchMinBackoff
		}
		w.logf("disconnected: %v; reconnecting in %s", err, backoff)
		lost = true
		if !sleepCtx(ctx, backoff) {
			w.logf("stopped at seq %d", w.st.Seq)
			return nil
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// follow handles the events of one subscription until it ends.
func (w *watcher) follow(ctx context.Context, sub *subscription) error {
	defer sub.Close()
	for data := range sub.C {
		var r struct {
			ModelEvents json.RawMessage `json:"modelEvents"`
		}
		var ev modelEvent
		if err := json.Unmarshal(data, &r); err != nil || json.Unmarshal(r.ModelEvents, &ev) != nil || ev.ID == "" {
			return fmt.Errorf("malformed event from the server: %.200s", data)
		}
		ev.raw = r.ModelEvents
		if err := w.handle(ctx, &ev); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return sub.Err()
}

// triggers reports whether an event asks for a deploy: a version entering
// the watched stage, or a rollback when watching PRODUCTION.
func (w *watcher) triggers(ev *modelEvent) bool {
	switch ev.Type {
	case evStageChanged:
		return ev.payload.To == w.o.stage
	case evRolledBack:
		return w.o.stage == stageProd
	}
	return false
}

func (w *watcher) handle(ctx context.Context, ev *modelEvent) error {
	if ev.Seq <= w.st.Seq || w.seen[ev.ID] {
		return nil // replayed after a reconnect: already handled
	}
	if err := json.Unmarshal(ev.Payload, &ev.payload); err != nil {
		w.logf("event %s (seq %d): unreadable payload, skipped: %v", ev.ID, ev.Seq, err)
		return w.advance(ev)
	}
	if !w.triggers(ev) {
		return w.advance(ev)
	}
	v := ev.version()
	skip, err := w.superseded(ctx, ev, v)
	if err != nil {
		return err
	}
	if skip != "" {
		w.logf("%s v%d %s; skipping event %s (seq %d)", w.o.model, v, skip, ev.ID, ev.Seq)
		return w.advance(ev)
	}
	return w.deploy(ctx, ev, v)
}

// superseded says why an event should not be deployed, or "" if it
// should: its version has left the stage, or a later event will deploy the
// stage again (for PRODUCTION, which holds one version, any later promotion
// or rollback; for STAGING, a later one of the same version). A rollback's
// own STAGE_CHANGED is thus deployed once, as its ROLLED_BACK event.
func (w *watcher) superseded(ctx context.Context, ev *modelEvent, v int64) (string, error) {
	var r struct {
		ModelVersion *struct {
			Stage     string  `json:"stage"`
			DeletedAt *string `json:"deletedAt"`
		} `json:"modelVersion"`
		Events []*modelEvent `json:"events"`
	}
	vars := map[string]any{"model": w.o.model, "version": v, "after": ev.Seq, "types": w.types, "first": watchLaterPage}
	err := w.retry(ctx, "checking "+w.label(v), func(ctx context.Context) error {
		return w.c.do(ctx, watchCheckQuery, vars, &r)
	})
	var ge gqlErrors
	switch {
	case errors.As(err, &ge) && ge.Code() == lineage.ENOTFOUND:
		return "no longer exists", nil
	case err != nil:
		return "", err
	case r.ModelVersion == nil || r.ModelVersion.DeletedAt != nil:
		return "was deleted", nil
	case r.ModelVersion.Stage != w.o.stage:
		return fmt.Sprintf("superseded (now %s)", r.ModelVersion.Stage), nil
	}
	for later := r.Events; ; {
		for _, e := range later {
			if json.Unmarshal(e.Payload, &e.payload) == nil && w.triggers(e) && (w.o.stage == stageProd || e.version() == v) {
				return fmt.Sprintf("superseded by %s event %s (seq %d)", e.Type, e.ID, e.Seq), nil
			}
		}
		if len(later) < watchLaterPage {
			return "", nil
		}
		var page struct {
			Events []*modelEvent `json:"events"`
		}
		vars := map[string]any{"model": w.o.model, "after": later[len(later)-1].Seq, "types": w.types, "first": watchLaterPage}
		if err := w.retry(ctx, "checking "+w.label(v), func(ctx context.Context) error {
			return w.c.do(ctx, watchLaterQuery, vars, &page)
		}); err != nil {
			return "", err
		}
		later = page.Events
	}
}

func (w *watcher) label(v int64) string { return fmt.Sprintf("%s v%d", w.o.model, v) }

// advance moves the state past an event that needs no deploy.
func (w *watcher) advance(ev *modelEvent) error {
	w.st.Seq, w.st.EventID = ev.Seq, ev.ID
	return w.save()
}

// deploy records PENDING, persists the event as handled, runs the command
// and records its result.
func (w *watcher) deploy(ctx context.Context, ev *modelEvent, v int64) error {
	w.logf("deploying %s (event %s, seq %d)", w.label(v), ev.ID, ev.Seq)
	if err := w.record(ctx, v, "PENDING", ev.ID, ""); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("recording the deployment of %s: %w", w.label(v), err)
	}
	w.seen[ev.ID] = true
	w.st.Seq, w.st.EventID = ev.Seq, ev.ID
	w.st.InFlight = &deployRecord{EventID: ev.ID, Seq: ev.Seq, Version: v}
	if err := w.save(); err != nil {
		return err // without the state on disk, running could repeat: don't
	}
	status, msg := w.run(ctx, ev, v)
	w.st.InFlight.Status, w.st.InFlight.Message = status, msg
	if err := w.save(); err != nil {
		w.logf("%v", err)
	}
	if status == "SUCCEEDED" {
		w.logf("%s deployed", w.label(v))
	} else {
		w.logf("%s deploy failed: %s", w.label(v), msg)
	}
	return w.finish(ctx)
}

// finish records the result of the deployment in flight and clears it.
// After an interrupt it tries once more for a while; what it cannot record
// stays in the state file for the next start.
func (w *watcher) finish(ctx context.Context) error {
	f := w.st.InFlight
	rctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), watchRecordTimeout)
		defer cancel()
	}
	if err := w.record(rctx, f.Version, f.Status, f.EventID, f.Message); err != nil {
		if rctx.Err() != nil || temporary(err) {
			w.logf("could not record %s as %s (%v); will retry at the next start", w.label(f.Version), f.Status, err)
			return nil
		}
		w.logf("could not record %s as %s: %v", w.label(f.Version), f.Status, err)
	}
	w.st.Last, w.st.InFlight = f, nil
	return w.save()
}

// record reports a deployment's status, retrying while the server is away.
func (w *watcher) record(ctx context.Context, v int64, status, eventID, msg string) error {
	in := map[string]any{"model": w.o.model, "version": v, "environment": w.o.environment,
		"status": status, "externalId": eventID}
	if msg != "" {
		in["message"] = msg
	}
	return w.retry(ctx, "recording "+w.label(v)+" "+status, func(ctx context.Context) error {
		return w.c.do(ctx, watchRecordMutation, map[string]any{"in": in}, nil)
	})
}

// retry calls fn until it succeeds, fails for good or ctx ends.
func (w *watcher) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	backoff := watchMinBackoff
	for {
		err := fn(ctx)
		if err == nil || !temporary(err) || ctx.Err() != nil {
			return err
		}
		w.logf("%s: %v; retrying in %s", what, err, backoff)
		if !sleepCtx(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

// run runs the deploy command and returns the deployment status and, for
// a failure, why.
func (w *watcher) run(ctx context.Context, ev *modelEvent, v int64) (status, msg string) {
	var previous string
	if ev.Type == evRolledBack && ev.payload.RolledBackVersion != nil {
		previous = strconv.FormatInt(*ev.payload.RolledBackVersion, 10)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", w.o.exec)
	cmd.Env = append(os.Environ(),
		"PEDIGREE_MODEL="+w.o.model,
		"PEDIGREE_VERSION="+strconv.FormatInt(v, 10),
		"PEDIGREE_STAGE="+w.o.stage,
		"PEDIGREE_ENVIRONMENT="+w.o.environment,
		"PEDIGREE_ARTIFACT_URI="+ev.payload.ArtifactURI,
		"PEDIGREE_ARTIFACT_DIGEST="+ev.payload.ArtifactDigest,
		"PEDIGREE_RUN="+ev.payload.Run,
		"PEDIGREE_EVENT_ID="+ev.ID,
		"PEDIGREE_EVENT_TYPE="+ev.Type,
		"PEDIGREE_EVENT_SEQ="+strconv.FormatInt(ev.Seq, 10),
		"PEDIGREE_PREVIOUS_VERSION="+previous,
		"PEDIGREE_EVENT="+string(ev.raw),
	)
	cmd.Stdout, cmd.Stderr = w.stdout, w.stderr
	err := runGroup(ctx, cmd, watchKillGrace)
	switch {
	case err == nil:
		return "SUCCEEDED", ""
	case ctx.Err() != nil:
		return "FAILED", "interrupted"
	default:
		return "FAILED", err.Error()
	}
}

// load reads the state file; ok is false if there is none.
func (w *watcher) load() (ok bool, err error) {
	b, err := os.ReadFile(w.o.state)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("--state: %w", err)
	}
	var st watchState
	if err := json.Unmarshal(b, &st); err != nil {
		return false, fmt.Errorf("--state: %s is not a watch state file: %v", w.o.state, err)
	}
	if st.Model != w.o.model || st.Environment != w.o.environment {
		return false, fmt.Errorf("--state: %s belongs to %s in environment %s, not %s in %s",
			w.o.state, st.Model, st.Environment, w.o.model, w.o.environment)
	}
	w.st = st
	return true, nil
}

// save writes the state file atomically and durably: a crash leaves the
// old file or the new one, never a torn one.
func (w *watcher) save() error {
	w.st.Stage = w.o.stage
	w.st.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(w.st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(w.o.state, append(b, '\n')); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sleepCtx sleeps for d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
