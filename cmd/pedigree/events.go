package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	_ "gocloud.dev/pubsub/kafkapubsub" // kafka://TOPIC, brokers from KAFKA_BROKERS
	_ "gocloud.dev/pubsub/mempubsub"   // mem://NAME, in-process
	_ "gocloud.dev/pubsub/natspubsub"  // nats://SUBJECT, server from NATS_SERVER_URL

	"github.com/pedigree-ml/pedigree/outbox"
	"github.com/pedigree-ml/pedigree/publish"
	"github.com/pedigree-ml/pedigree/webhook"
)

// eventConfig is how serve sends committed events out: webhooks and a
// pub/sub topic. The subscriptions need no configuration.
type eventConfig struct {
	EventsURL           string
	WebhookAllowPrivate bool
	WebhookTimeout      time.Duration
	WebhookRetryWindow  time.Duration
}

func eventConfigFromEnv() eventConfig {
	return eventConfig{
		EventsURL:           env("PEDIGREE_EVENTS_URL", "mem://events"),
		WebhookAllowPrivate: envBool("PEDIGREE_WEBHOOK_ALLOW_PRIVATE"),
		WebhookTimeout:      envDuration("PEDIGREE_WEBHOOK_TIMEOUT", 10*time.Second),
		WebhookRetryWindow:  envDuration("PEDIGREE_WEBHOOK_RETRY_WINDOW", 24*time.Hour),
	}
}

func (c *eventConfig) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.EventsURL, "events-url", c.EventsURL, "pub/sub topic for events: mem://NAME, nats://SUBJECT?natsv2 (NATS_SERVER_URL), kafka://TOPIC (KAFKA_BROKERS); empty: none (PEDIGREE_EVENTS_URL)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.WebhookAllowPrivate, "allow webhooks to loopback and private networks, for on-premises receivers; cloud metadata addresses stay refused (PEDIGREE_WEBHOOK_ALLOW_PRIVATE)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", c.WebhookTimeout, "time limit of one webhook attempt (PEDIGREE_WEBHOOK_TIMEOUT)")
	fs.DurationVar(&c.WebhookRetryWindow, "webhook-retry-window", c.WebhookRetryWindow, "how long a failing webhook delivery is retried, with exponential backoff and jitter (PEDIGREE_WEBHOOK_RETRY_WINDOW)")
}

func (c *eventConfig) validate() error {
	if c.WebhookTimeout <= 0 {
		return errors.New("--webhook-timeout: must be a positive duration such as 10s")
	}
	if c.WebhookRetryWindow <= 0 {
		return errors.New("--webhook-retry-window: must be a positive duration such as 24h")
	}
	return nil
}

// leaseTTL is how long a crashed replica's event workers hold others off.
const leaseTTL = 15 * time.Second

// startEvents starts the webhook dispatcher and the pub/sub publisher
// until ctx is done; stopEvents stops every background worker.
func (m *Main) startEvents(ctx context.Context) error {
	if err := m.Events.validate(); err != nil {
		return err
	}
	m.Webhooks = webhook.New(m.Service, webhook.Options{
		AllowPrivate: m.Events.WebhookAllowPrivate,
		Timeout:      m.Events.WebhookTimeout,
		RetryWindow:  m.Events.WebhookRetryWindow,
		Logger:       m.Logger,
	})
	// On a shared store (Neo4j replicas) one process at a time delivers.
	m.goWorker(func() { outbox.Lead(ctx, m.Store, "webhooks", leaseTTL, m.Webhooks.Run) })
	if m.Events.EventsURL == "" {
		return nil
	}
	topic, err := publish.Open(ctx, m.Events.EventsURL)
	if err != nil {
		return fmt.Errorf("--events-url: %w", err)
	}
	m.topic = topic
	p := publish.New(m.Service, topic, publish.Options{Logger: m.Logger})
	m.goWorker(func() { outbox.Lead(ctx, m.Store, publish.Consumer, leaseTTL, p.Run) })
	return nil
}

func (m *Main) goWorker(fn func()) {
	if m.workers == nil {
		m.workers = &sync.WaitGroup{}
	}
	m.workers.Go(fn)
}

func (m *Main) stopEvents() error {
	if m.stopWorkers == nil {
		return nil
	}
	m.stopWorkers()
	if m.workers != nil {
		m.workers.Wait()
	}
	m.stopWorkers = nil
	if m.topic == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := m.topic.Shutdown(ctx)
	m.topic = nil
	return err
}

// envDuration reads a duration variable; an unparsable one gives -1, which
// validate reports.
func envDuration(key string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}
