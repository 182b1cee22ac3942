// Package publish sends committed registry events to a Go CDK pub/sub topic
// (NATS, Kafka, in-memory, …) chosen by URL, at least once, in commit order,
// from a cursor persisted in the store so that a restart resumes where the
// previous process stopped.
//
// The package imports no driver: the binary registers the schemes it
// supports with blank imports (see cmd/pedigree), as for blob storage.
//
// Topic URLs, per the Go CDK drivers:
//
//	nats://SUBJECT?natsv2          server from NATS_SERVER_URL. natsv2 sends the JSON body as is
//	                               and the metadata as NATS headers, readable by any NATS client;
//	                               without it the driver gob-encodes metadata and body together,
//	                               which only a Go CDK subscriber can decode.
//	kafka://TOPIC?key_name=model   brokers from KAFKA_BROKERS (comma-separated host:port list).
//	                               key_name=model makes the model name the Kafka message key, so a
//	                               model's events land on one partition and stay in order.
//	mem://NAME                     in-process, for tests and demos.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"gocloud.dev/pubsub"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/outbox"
)

// Consumer is the name of the publisher's cursor among the outbox cursors.
const Consumer = "pubsub"

// Metadata keys set on every message, beside the body outbox.Encode writes.
const (
	MetaID    = "id"    // lineage.Event.ID: stable across redeliveries, for deduplication
	MetaType  = "type"  // lineage.EventType, e.g. MODEL_VERSION_REGISTERED
	MetaModel = "model" // model name; absent if the event has none
	MetaSeq   = "seq"   // global commit sequence number, decimal
)

// Open opens the topic at url with the drivers the binary registered.
// The caller shuts it down (topic.Shutdown) after the Publisher stops.
func Open(ctx context.Context, url string) (*pubsub.Topic, error) {
	if url == "" {
		return nil, errors.New("publish: empty topic URL")
	}
	t, err := pubsub.OpenTopic(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return t, nil
}

// Options configures a Publisher.
type Options struct {
	Logger *slog.Logger // default slog.Default()
}

// Publisher follows the outbox and sends each committed event to a topic.
type Publisher struct {
	svc   *lineage.Service
	topic *pubsub.Topic
	log   *slog.Logger
}

// New returns a Publisher of svc's events to topic. It does not own topic.
func New(svc *lineage.Service, topic *pubsub.Topic, opts Options) *Publisher {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{svc: svc, topic: topic, log: log.With("consumer", Consumer)}
}

// Run publishes events until ctx is done, then returns.
//
// The first run on a store starts at its newest event (a store with history
// does not flood a newly configured topic) and persists that position;
// later runs resume after the last event whose batch was fully sent.
// Delivery is at least once: a crash or a send failure mid-batch re-sends
// the batch, so consumers deduplicate by the "id" metadata (or "seq").
// Events are sent one at a time in commit order (what a subscriber sees
// also depends on the broker and on how it receives). A send failure pauses
// about a second and retries, indefinitely: later events wait behind it.
// Run one Publisher per store: replicas on one store would share the cursor
// and each send every event.
func (p *Publisher) Run(ctx context.Context) {
	p.log.Info("publishing events")
	outbox.Follow(ctx, p.svc, Consumer, -1, p.handle)
}

// handle sends a batch one event at a time, so that the topic receives the
// events in commit order, then moves the cursor past the batch.
func (p *Publisher) handle(ctx context.Context, batch []lineage.Event) error {
	for _, e := range batch {
		if err := p.topic.Send(ctx, Message(e)); err != nil {
			if ctx.Err() == nil {
				// err.Error(): slog prints a Go CDK error with %+v, a stack trace.
				p.log.Warn("send failed; retrying", "event", e.ID, "seq", e.Seq, "err", err.Error())
			}
			return fmt.Errorf("publish: send event %d: %w", e.Seq, err)
		}
	}
	last := batch[len(batch)-1].Seq
	return p.svc.Store().Update(ctx, func(tx lineage.Tx) error {
		return outbox.SetCursor(tx, Consumer, last)
	})
}

// Message returns the pub/sub message for an event: the outbox JSON as the
// body, and the fields a router filters on as metadata.
func Message(e lineage.Event) *pubsub.Message {
	md := map[string]string{
		MetaID:   e.ID,
		MetaType: string(e.Type),
		MetaSeq:  strconv.FormatInt(e.Seq, 10),
	}
	if e.Model != "" {
		md[MetaModel] = e.Model
	}
	return &pubsub.Message{Body: outbox.Encode(e), Metadata: md}
}
