// Package webhook owns outbound webhooks: their registrations, the signed
// delivery of committed registry events to them (Standard Webhooks), and
// the persisted queue and log of those deliveries.
//
// State lives in the store's documents, beside the graph:
//
//	webhooks        key = webhook ID                 registration and secret
//	deliveries      key = webhook ID/%020d event Seq the delivery log
//	delivery-queue  same key, while PENDING          when to try next
//	delivery-index  key = event ID/webhook ID        → deliveries key
//
// A Dispatcher's Run fans each committed event out into a PENDING delivery
// per matching webhook (in one transaction with the outbox cursor, so a
// crash replays rather than loses), and runs one worker per enabled
// webhook, so that a slow or dead receiver delays only its own deliveries.
// Delivery is at least once; webhook-id is the event ID on every attempt so
// receivers can drop duplicates. Requests go through netguard: private and
// metadata addresses are refused when connecting, redirects never followed.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/netguard"
)

// Doc collections.
const (
	collWebhooks   = "webhooks"
	collDeliveries = "deliveries"
	collQueue      = "delivery-queue"
	collIndex      = "delivery-index"
	consumer       = "webhooks" // the outbox cursor of the fan-out
)

// Limits.
const (
	MaxWebhooks     = 200  // registrations per store
	MaxEvents       = 32   // entries of an events filter
	MaxModels       = 100  // entries of a models filter
	MaxDescription  = 1000 // bytes of a webhook description
	MaxAttemptsKept = 20   // newest attempts kept on a Delivery
	maxBodyRead     = 64 << 10
	maxKeyLen       = 200 // of a Doc key (lineage.Doc)
	pageSize        = 500 // documents per store read when scanning
	dueBatch        = 50  // due deliveries taken per queue scan
)

// UserAgent is sent with every webhook request.
const UserAgent = "Pedigree-Webhooks/1"

// TestEventType is the type of the synthetic event Test sends.
const TestEventType lineage.EventType = "WEBHOOK_TEST"

// DisabledGone is the DisabledReason of a webhook whose receiver answered 410.
const DisabledGone = "receiver answered 410 Gone"

// Webhook is a registration as callers see it. It never holds the secret.
type Webhook struct {
	ID             string              `json:"id"`
	URL            string              `json:"url"`
	Events         []lineage.EventType `json:"events"` // empty: all
	Models         []string            `json:"models"` // lower-case names; empty: all
	Description    string              `json:"description,omitempty"`
	Enabled        bool                `json:"enabled"`
	DisabledReason string              `json:"disabledReason,omitempty"`
	StartSeq       int64               `json:"startSeq"` // only events after this Seq are sent
	CreatedAt      time.Time           `json:"createdAt"`
	UpdatedAt      time.Time           `json:"updatedAt"`
}

// stored is a webhook as kept in its document.
type stored struct {
	Webhook
	Secret string `json:"secret"`
}

// public returns a copy of the webhook without its secret.
func (w *stored) public() *Webhook {
	c := w.Webhook
	c.Events = slices.Clone(w.Events)
	c.Models = slices.Clone(w.Models)
	return &c
}

func (w *Webhook) matches(e lineage.Event) bool {
	return (len(w.Events) == 0 || slices.Contains(w.Events, e.Type)) &&
		(len(w.Models) == 0 || slices.Contains(w.Models, strings.ToLower(e.Model)))
}

// Status is the state of a delivery.
type Status string

const (
	Pending   Status = "PENDING"
	Delivered Status = "DELIVERED"
	Failed    Status = "FAILED"
)

// Attempt is one request of a delivery.
type Attempt struct {
	At         time.Time     `json:"at"`
	StatusCode int           `json:"statusCode,omitempty"` // 0 if no response
	Latency    time.Duration `json:"latency"`
	Error      string        `json:"error,omitempty"` // coarse: "timeout", "HTTP 500", …
}

// Delivery is the sending of one event to one webhook.
type Delivery struct {
	Webhook       string            `json:"webhook"`
	EventID       string            `json:"eventId"`
	EventSeq      int64             `json:"eventSeq"`
	EventType     lineage.EventType `json:"eventType"`
	Model         string            `json:"model,omitempty"`
	Status        Status            `json:"status"`
	Attempts      []Attempt         `json:"attempts"` // the newest MaxAttemptsKept, oldest first
	AttemptCount  int               `json:"attemptCount"`
	CreatedAt     time.Time         `json:"createdAt"`
	UpdatedAt     time.Time         `json:"updatedAt"`
	NextAttemptAt *time.Time        `json:"nextAttemptAt,omitempty"`
	DeliveredAt   *time.Time        `json:"deliveredAt,omitempty"`
	LastError     string            `json:"lastError,omitempty"`
}

// queued is a delivery-queue entry.
type queued struct {
	EventID        string     `json:"eventId"`
	EventSeq       int64      `json:"eventSeq"`
	NextAttemptAt  time.Time  `json:"nextAttemptAt"`
	FirstAttemptAt *time.Time `json:"firstAttemptAt,omitempty"` // start of the retry window
}

// Options configure a Dispatcher.
type Options struct {
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (tests, on-premises receivers). Link-local and metadata addresses
	// stay refused.
	AllowPrivate bool
	Timeout      time.Duration // per attempt; default 10 s
	RetryWindow  time.Duration // give up this long after the first attempt; default 24 h
	BaseDelay    time.Duration // first retry delay; default 1 s
	MaxDelay     time.Duration // retry delay cap; default 1 h
	// Client sends the requests; default netguard.NewClient(AllowPrivate,
	// Timeout). A replacement should keep netguard's protections.
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// Dispatcher manages webhooks and delivers events to them. Its methods are
// safe for concurrent use; Run does the delivering.
type Dispatcher struct {
	svc    *lineage.Service
	store  lineage.Store
	opts   Options
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	supWake chan struct{}
	mu      sync.Mutex
	running bool
	workers map[string]*worker
}

// New returns a Dispatcher on svc's store.
func New(svc *lineage.Service, opts Options) *Dispatcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.RetryWindow <= 0 {
		opts.RetryWindow = 24 * time.Hour
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Hour
	}
	if opts.MaxDelay < opts.BaseDelay {
		opts.MaxDelay = opts.BaseDelay
	}
	if opts.Client == nil {
		opts.Client = netguard.NewClient(opts.AllowPrivate, opts.Timeout)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Dispatcher{
		svc: svc, store: svc.Store(), opts: opts, client: opts.Client,
		log: opts.Logger.With("component", "webhooks"), now: opts.Now,
		supWake: make(chan struct{}, 1), workers: map[string]*worker{},
	}
}

// CreateInput is a new webhook.
type CreateInput struct {
	URL         string
	Events      []lineage.EventType // empty: all
	Models      []string            // empty: all
	Secret      string              // optional "whsec_…"; generated if empty
	Description string
}

// UpdateInput changes a webhook; nil fields are left as they are.
type UpdateInput struct {
	ID           string
	URL          *string
	Events       *[]lineage.EventType
	Models       *[]string
	Description  *string
	Enabled      *bool
	RotateSecret bool
}

// namePattern is lineage's rule for names (models among them).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// idPattern is the form of the IDs newID makes.
var idPattern = regexp.MustCompile(`^wh_[a-z2-7]{26}$`)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns an unguessable webhook ID: "wh_" and 128 random bits.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "wh_" + strings.ToLower(idEncoding.EncodeToString(b))
}

func checkURL(raw string, allowPrivate bool) error {
	if err := netguard.CheckURL(raw, allowPrivate); err != nil {
		return lineage.Invalid("url", "%s", err.Error())
	}
	return nil
}

func checkEvents(in []lineage.EventType) ([]lineage.EventType, error) {
	if len(in) > MaxEvents {
		return nil, lineage.Invalid("events", "must have at most %d entries", MaxEvents)
	}
	out := []lineage.EventType{}
	for _, t := range in {
		if !t.Valid() {
			names := make([]string, len(lineage.EventTypes))
			for i, k := range lineage.EventTypes {
				names[i] = string(k)
			}
			return nil, lineage.Invalid("events", "unknown event type; must be one of %s", strings.Join(names, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func checkModels(in []string) ([]string, error) {
	if len(in) > MaxModels {
		return nil, lineage.Invalid("models", "must have at most %d entries", MaxModels)
	}
	out := []string{}
	for _, m := range in {
		if m == "" || len(m) > lineage.MaxNameLen || !namePattern.MatchString(m) {
			return nil, lineage.Invalid("models", "each must be a model name of at most %d characters: a letter or digit, then letters, digits, '.', '_' or '-'", lineage.MaxNameLen)
		}
		if m = strings.ToLower(m); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func checkDescription(s string) error {
	if len(s) > MaxDescription {
		return lineage.Invalid("description", "must be at most %d bytes", MaxDescription)
	}
	if !utf8.ValidString(s) {
		return lineage.Invalid("description", "must be valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return lineage.Invalid("description", "must not contain control characters other than newline and tab")
		}
	}
	return nil
}

func checkSecret(s string) error {
	if _, err := decodeSecret(s); err != nil {
		return lineage.Invalid("secret", "must be whsec_ followed by the base64 of %d to %d random bytes", minSecretBytes, maxSecretBytes)
	}
	return nil
}

func notFound(field, what string) error {
	return &lineage.Error{Code: lineage.ENOTFOUND, Field: field, Message: field + ": " + what + " not found"}
}

// checkID rejects what cannot be a webhook ID as not found, before it
// reaches a store key.
func checkID(field, id string) error {
	if id == "" {
		return lineage.Invalid(field, "is required")
	}
	if !idPattern.MatchString(id) {
		return notFound(field, "webhook")
	}
	return nil
}

func putJSON(tx lineage.Tx, coll, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("webhook: encode %s: %w", coll, err)
	}
	return tx.PutDoc(lineage.Doc{Collection: coll, Key: key, Value: b})
}

// getJSON loads a document into v; ok is false if it is absent.
func getJSON(tx lineage.ReadTx, coll, key string, v any) (ok bool, err error) {
	d, err := tx.Doc(coll, key)
	if lineage.ErrorCode(err) == lineage.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(d.Value, v); err != nil {
		return false, fmt.Errorf("webhook: decode %s %s: %w", coll, key, err)
	}
	return true, nil
}

func loadWebhook(tx lineage.ReadTx, id string) (*stored, error) {
	var w stored
	ok, err := getJSON(tx, collWebhooks, id, &w)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound("id", "webhook")
	}
	return &w, nil
}

// eachDoc calls fn on every document of a collection with a prefix, in key
// order, reading pageSize at a time; fn returns false to stop.
func eachDoc(tx lineage.ReadTx, coll, prefix string, fn func(lineage.Doc) (bool, error)) error {
	after := ""
	for {
		docs, err := tx.Docs(lineage.DocQuery{Collection: coll, Prefix: prefix, After: after, Limit: pageSize})
		if err != nil {
			return err
		}
		for _, d := range docs {
			more, err := fn(d)
			if err != nil || !more {
				return err
			}
		}
		if len(docs) < pageSize {
			return nil
		}
		after = docs[len(docs)-1].Key
	}
}

func loadWebhooks(tx lineage.ReadTx) ([]*stored, error) {
	var out []*stored
	err := eachDoc(tx, collWebhooks, "", func(d lineage.Doc) (bool, error) {
		var w stored
		if err := json.Unmarshal(d.Value, &w); err != nil {
			return false, fmt.Errorf("webhook: decode webhook %s: %w", d.Key, err)
		}
		out = append(out, &w)
		return true, nil
	})
	return out, err
}

func deliveryKey(webhook string, seq int64) string {
	return fmt.Sprintf("%s/%020d", webhook, seq)
}

func indexKey(eventID, webhook string) string { return eventID + "/" + webhook }

// Create registers a webhook that receives events committed from now on.
// It returns the webhook and its secret, which is never shown again.
func (d *Dispatcher) Create(ctx context.Context, in CreateInput) (*Webhook, string, error) {
	if err := checkURL(in.URL, d.opts.AllowPrivate); err != nil {
		return nil, "", err
	}
	events, err := checkEvents(in.Events)
	if err != nil {
		return nil, "", err
	}
	models, err := checkModels(in.Models)
	if err != nil {
		return nil, "", err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, "", err
	}
	secret := in.Secret
	if secret == "" {
		secret = newSecret()
	} else if err := checkSecret(secret); err != nil {
		return nil, "", err
	}
	head, err := d.store.LastEventSeq(ctx)
	if err != nil {
		return nil, "", err
	}
	now := d.now().UTC()
	w := stored{Webhook: Webhook{
		ID: newID(), URL: in.URL, Events: events, Models: models, Description: in.Description,
		Enabled: true, StartSeq: head, CreatedAt: now, UpdatedAt: now,
	}, Secret: secret}
	err = d.store.Update(ctx, func(tx lineage.Tx) error {
		n := 0
		if err := eachDoc(tx, collWebhooks, "", func(lineage.Doc) (bool, error) { n++; return true, nil }); err != nil {
			return err
		}
		if n >= MaxWebhooks {
			return lineage.Errorf(lineage.ECONFLICT, "at most %d webhooks may be registered; delete one first", MaxWebhooks)
		}
		return putJSON(tx, collWebhooks, w.ID, &w)
	})
	if err != nil {
		return nil, "", err
	}
	d.log.Info("webhook created", "webhook", w.ID)
	d.Wake()
	return w.public(), secret, nil
}

// Update changes a webhook. With RotateSecret it returns the new secret,
// which is never shown again; otherwise "". Enabling a disabled webhook
// clears its DisabledReason; it then receives events committed from then
// on, and its deliveries still pending resume.
func (d *Dispatcher) Update(ctx context.Context, in UpdateInput) (*Webhook, string, error) {
	if err := checkID("id", in.ID); err != nil {
		return nil, "", err
	}
	if in.URL != nil {
		if err := checkURL(*in.URL, d.opts.AllowPrivate); err != nil {
			return nil, "", err
		}
	}
	var events []lineage.EventType
	var models []string
	var err error
	if in.Events != nil {
		if events, err = checkEvents(*in.Events); err != nil {
			return nil, "", err
		}
	}
	if in.Models != nil {
		if models, err = checkModels(*in.Models); err != nil {
			return nil, "", err
		}
	}
	if in.Description != nil {
		if err := checkDescription(*in.Description); err != nil {
			return nil, "", err
		}
	}
	var head int64
	if in.Enabled != nil && *in.Enabled {
		if head, err = d.store.LastEventSeq(ctx); err != nil {
			return nil, "", err
		}
	}
	secret := ""
	if in.RotateSecret {
		secret = newSecret()
	}
	now := d.now().UTC()
	var w *stored
	err = d.store.Update(ctx, func(tx lineage.Tx) error {
		var err error
		if w, err = loadWebhook(tx, in.ID); err != nil {
			return err
		}
		if in.URL != nil {
			w.URL = *in.URL
		}
		if in.Events != nil {
			w.Events = events
		}
		if in.Models != nil {
			w.Models = models
		}
		if in.Description != nil {
			w.Description = *in.Description
		}
		if in.Enabled != nil {
			if *in.Enabled && !w.Enabled {
				w.StartSeq = max(w.StartSeq, head)
			}
			if *in.Enabled {
				w.DisabledReason = ""
			}
			w.Enabled = *in.Enabled
		}
		if secret != "" {
			w.Secret = secret
		}
		w.UpdatedAt = now
		return putJSON(tx, collWebhooks, w.ID, w)
	})
	if err != nil {
		return nil, "", err
	}
	d.log.Info("webhook updated", "webhook", w.ID, "enabled", w.Enabled, "secretRotated", secret != "")
	d.Wake()
	return w.public(), secret, nil
}

// Delete removes a webhook with its queue and delivery log.
func (d *Dispatcher) Delete(ctx context.Context, id string) error {
	if err := checkID("id", id); err != nil {
		return err
	}
	err := d.store.Update(ctx, func(tx lineage.Tx) error {
		if _, err := loadWebhook(tx, id); err != nil {
			return err
		}
		return tx.DeleteDoc(collWebhooks, id)
	})
	if err != nil {
		return err
	}
	d.Wake() // its worker stops
	// The rest goes in bounded transactions. Left-overs of a failure are
	// unreachable (IDs are never reused) and harmless.
	for {
		n := 0
		err := d.store.Update(ctx, func(tx lineage.Tx) error {
			n = 0
			for _, coll := range []string{collQueue, collDeliveries} {
				docs, err := tx.Docs(lineage.DocQuery{Collection: coll, Prefix: id + "/", Limit: pageSize})
				if err != nil {
					return err
				}
				for _, doc := range docs {
					if coll == collDeliveries {
						var dl Delivery
						if json.Unmarshal(doc.Value, &dl) == nil {
							if err := tx.DeleteDoc(collIndex, indexKey(dl.EventID, id)); err != nil {
								return err
							}
						}
					}
					if err := tx.DeleteDoc(coll, doc.Key); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
		if err != nil {
			d.log.Warn("webhook deleted, its delivery log only partly", "webhook", id, "err", err)
			return nil
		}
		if n == 0 {
			break
		}
	}
	d.log.Info("webhook deleted", "webhook", id)
	return nil
}

// Get returns a webhook. ENOTFOUND (field id) if there is none.
func (d *Dispatcher) Get(ctx context.Context, id string) (*Webhook, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	var w *stored
	err := d.store.View(ctx, func(tx lineage.ReadTx) error {
		var err error
		w, err = loadWebhook(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w.public(), nil
}

// List returns every webhook, oldest first.
func (d *Dispatcher) List(ctx context.Context) ([]*Webhook, error) {
	var all []*stored
	err := d.store.View(ctx, func(tx lineage.ReadTx) error {
		var err error
		all, err = loadWebhooks(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Webhook, len(all))
	for i, w := range all {
		out[i] = w.public()
	}
	slices.SortStableFunc(out, func(a, b *Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
