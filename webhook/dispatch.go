package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/netguard"
	"github.com/pedigree-ml/pedigree/outbox"
)

// Pauses of the background loops.
const (
	reconcileEvery = 5 * time.Second  // supervisor: also picks up other replicas' changes
	idleRescan     = 10 * time.Second // worker: rescan its queue at least this often
	errorPause     = time.Second      // after a store failure
)

type worker struct {
	cancel context.CancelFunc
	wake   chan struct{}
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Wake makes Run look again at webhooks and queues now rather than at its
// next periodic check. Methods that change webhooks or deliveries call it.
func (d *Dispatcher) Wake() {
	poke(d.supWake)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		poke(w.wake)
	}
}

func (d *Dispatcher) wakeWorker(id string) {
	d.mu.Lock()
	w := d.workers[id]
	d.mu.Unlock()
	if w != nil {
		poke(w.wake)
	} else {
		poke(d.supWake)
	}
}

// Run delivers events until ctx is done: it fans committed events out to
// matching webhooks' queues and runs one worker per enabled webhook. Run
// returns when ctx is done and every worker has stopped; an attempt cut
// short by that is not recorded and is made again by the next Run. One
// Run per Dispatcher at a time; one Dispatcher running per store.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		d.log.Error("webhook dispatcher already running")
		return
	}
	d.running = true
	d.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		d.mu.Lock()
		d.running = false
		clear(d.workers)
		d.mu.Unlock()
		d.client.CloseIdleConnections()
	}()
	wg.Go(func() { outbox.Follow(ctx, d.svc, consumer, 0, d.fanout) })
	tick := time.NewTicker(reconcileEvery)
	defer tick.Stop()
	for {
		if err := d.reconcile(ctx, &wg); err != nil && ctx.Err() == nil {
			d.log.Warn("webhook reconcile failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.supWake:
		case <-tick.C:
		}
	}
}

// reconcile starts a worker for each enabled webhook without one and stops
// the workers of webhooks deleted or disabled.
func (d *Dispatcher) reconcile(ctx context.Context, wg *sync.WaitGroup) error {
	var hooks []*stored
	if err := d.store.View(ctx, func(tx lineage.ReadTx) error {
		var err error
		hooks, err = loadWebhooks(tx)
		return err
	}); err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, w := range hooks {
		if w.Enabled {
			enabled[w.ID] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	for id, w := range d.workers {
		if !enabled[id] {
			w.cancel()
			delete(d.workers, id)
		}
	}
	for id := range enabled {
		if d.workers[id] != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{cancel: cancel, wake: make(chan struct{}, 1)}
		d.workers[id] = w
		wg.Go(func() {
			defer cancel()
			d.work(wctx, id, w.wake)
			d.mu.Lock()
			if d.workers[id] == w {
				delete(d.workers, id)
			}
			d.mu.Unlock()
			poke(d.supWake) // it may have been re-enabled meanwhile
		})
	}
	return nil
}

// fanout turns a batch of events into PENDING deliveries, one per matching
// enabled webhook, and advances the cursor in the same transaction. A
// delivery that already exists (a replayed batch) is left alone.
func (d *Dispatcher) fanout(ctx context.Context, events []lineage.Event) error {
	now := d.now().UTC()
	var touched map[string]bool
	err := d.store.Update(ctx, func(tx lineage.Tx) error {
		touched = map[string]bool{}
		hooks, err := loadWebhooks(tx)
		if err != nil {
			return err
		}
		for _, e := range events {
			for _, w := range hooks {
				if !w.Enabled || e.Seq <= w.StartSeq || !w.matches(e) {
					continue
				}
				key := deliveryKey(w.ID, e.Seq)
				if _, err := tx.Doc(collDeliveries, key); err == nil {
					continue
				} else if lineage.ErrorCode(err) != lineage.ENOTFOUND {
					return err
				}
				dl := Delivery{
					Webhook: w.ID, EventID: e.ID, EventSeq: e.Seq, EventType: e.Type, Model: e.Model,
					Status: Pending, Attempts: []Attempt{}, CreatedAt: now, UpdatedAt: now, NextAttemptAt: &now,
				}
				if err := putJSON(tx, collDeliveries, key, &dl); err != nil {
					return err
				}
				if err := putJSON(tx, collQueue, key, &queued{EventID: e.ID, EventSeq: e.Seq, NextAttemptAt: now}); err != nil {
					return err
				}
				// An event ID too odd for a key (none the Service makes)
				// costs only redelivery by event ID, never the fan-out.
				if ik := indexKey(e.ID, w.ID); len(ik) <= maxKeyLen && utf8.ValidString(ik) {
					if err := putJSON(tx, collIndex, ik, key); err != nil {
						return err
					}
				}
				touched[w.ID] = true
			}
		}
		return outbox.SetCursor(tx, consumer, events[len(events)-1].Seq)
	})
	if err != nil {
		return err
	}
	for id := range touched {
		d.wakeWorker(id)
	}
	return nil
}

// work delivers one webhook's queue, one delivery at a time, until ctx is
// done or the webhook is deleted or disabled.
func (d *Dispatcher) work(ctx context.Context, id string, wake <-chan struct{}) {
	for ctx.Err() == nil {
		due, next, live, err := d.scan(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("webhook queue scan failed", "webhook", id, "err", err)
				sleep(ctx, nil, errorPause)
			}
			continue
		}
		if !live {
			return
		}
		for _, q := range due {
			if ctx.Err() != nil {
				return
			}
			if !d.attempt(ctx, id, q) {
				break // the webhook changed; rescan
			}
		}
		if len(due) > 0 {
			continue
		}
		wait := idleRescan
		if !next.IsZero() {
			wait = min(wait, max(0, next.Sub(d.now())))
		}
		sleep(ctx, wake, wait)
	}
}

func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// scan returns up to dueBatch queue entries due now, in Seq order, and the
// earliest time one falls due otherwise. live is false if the webhook is
// gone or disabled.
func (d *Dispatcher) scan(ctx context.Context, id string) (due []queued, next time.Time, live bool, err error) {
	now := d.now()
	err = d.store.View(ctx, func(tx lineage.ReadTx) error {
		due, next, live = nil, time.Time{}, false
		w, err := loadWebhook(tx, id)
		if lineage.ErrorCode(err) == lineage.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if live = w.Enabled; !live {
			return nil
		}
		return eachDoc(tx, collQueue, id+"/", func(doc lineage.Doc) (bool, error) {
			var q queued
			if err := json.Unmarshal(doc.Value, &q); err != nil {
				return false, fmt.Errorf("webhook: decode queue entry %s: %w", doc.Key, err)
			}
			if !q.NextAttemptAt.After(now) {
				due = append(due, q)
			} else if next.IsZero() || q.NextAttemptAt.Before(next) {
				next = q.NextAttemptAt
			}
			return len(due) < dueBatch, nil
		})
	})
	return due, next, live, err
}

// attempt makes one delivery attempt and records it. It returns false if
// the worker should rescan before going on (the webhook was disabled, or
// the store failed).
func (d *Dispatcher) attempt(ctx context.Context, id string, q queued) bool {
	var w *stored
	err := d.store.View(ctx, func(tx lineage.ReadTx) error {
		var err error
		w, err = loadWebhook(tx, id)
		return err
	})
	if err != nil || !w.Enabled {
		return false
	}
	evs, err := d.store.Events(ctx, "", q.EventSeq-1, 1)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook event load failed", "webhook", id, "event", q.EventID, "err", err)
			sleep(ctx, nil, errorPause)
		}
		return false
	}
	var att Attempt
	gone := false
	if len(evs) == 0 || evs[0].Seq != q.EventSeq || evs[0].ID != q.EventID {
		att = Attempt{At: d.now().UTC(), Error: "event no longer stored"}
		gone = true
	} else {
		att = d.send(ctx, w, evs[0].ID, outbox.Encode(evs[0]))
		if ctx.Err() != nil {
			return false // shutting down or stopped: not the receiver's doing
		}
	}
	if err := d.record(ctx, id, q, att, gone); err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook attempt not recorded", "webhook", id, "event", q.EventID, "err", err)
			sleep(ctx, nil, errorPause)
		}
		return false
	}
	return att.StatusCode != http.StatusGone
}

// record applies the outcome of an attempt in one transaction: the attempt
// appended to the delivery, and the queue entry rescheduled or removed.
func (d *Dispatcher) record(ctx context.Context, id string, q queued, att Attempt, final bool) error {
	jitter := rand.Float64() // drawn outside: Update may run fn again
	key := deliveryKey(id, q.EventSeq)
	var logged Delivery
	err := d.store.Update(ctx, func(tx lineage.Tx) error {
		var dl Delivery
		if ok, err := getJSON(tx, collDeliveries, key, &dl); err != nil || !ok {
			return err // deleted meanwhile
		}
		dl.Attempts = append(dl.Attempts, att)
		if n := len(dl.Attempts); n > MaxAttemptsKept {
			dl.Attempts = dl.Attempts[n-MaxAttemptsKept:]
		}
		dl.AttemptCount++
		dl.UpdatedAt = att.At
		dl.LastError = att.Error
		var cur queued
		ok, err := getJSON(tx, collQueue, key, &cur)
		if err != nil {
			return err
		}
		if !ok { // decided meanwhile (webhook disabled or deleted): keep the history only
			logged = dl
			return putJSON(tx, collDeliveries, key, &dl)
		}
		first := att.At
		if cur.FirstAttemptAt != nil {
			first = *cur.FirstAttemptAt
		}
		switch {
		case att.Error == "" && att.StatusCode >= 200 && att.StatusCode < 300:
			dl.Status, dl.DeliveredAt, dl.NextAttemptAt = Delivered, &att.At, nil
			if err := tx.DeleteDoc(collQueue, key); err != nil {
				return err
			}
		case att.StatusCode == http.StatusGone:
			dl.Status, dl.NextAttemptAt = Failed, nil
			if err := tx.DeleteDoc(collQueue, key); err != nil {
				return err
			}
			if err := putJSON(tx, collDeliveries, key, &dl); err != nil {
				return err
			}
			logged = dl
			return d.disable(tx, id, DisabledGone, att.At)
		default:
			next := att.At.Add(d.backoff(dl.AttemptCount, jitter))
			if final || next.Sub(first) > d.opts.RetryWindow {
				dl.Status, dl.NextAttemptAt = Failed, nil
				if err := tx.DeleteDoc(collQueue, key); err != nil {
					return err
				}
			} else {
				dl.Status, dl.NextAttemptAt = Pending, &next
				cur.NextAttemptAt, cur.FirstAttemptAt = next, &first
				if err := putJSON(tx, collQueue, key, &cur); err != nil {
					return err
				}
			}
		}
		logged = dl
		return putJSON(tx, collDeliveries, key, &dl)
	})
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if logged.Status != Delivered {
		level = slog.LevelWarn
	}
	d.log.Log(ctx, level, "webhook attempt", "webhook", id, "event", q.EventID, "seq", q.EventSeq,
		"attempt", logged.AttemptCount, "status", logged.Status, "code", att.StatusCode,
		"latency", att.Latency, "err", att.Error)
	return nil
}

// disable turns a webhook off and fails its pending deliveries.
func (d *Dispatcher) disable(tx lineage.Tx, id, reason string, now time.Time) error {
	w, err := loadWebhook(tx, id)
	if err != nil {
		return err
	}
	w.Enabled, w.DisabledReason, w.UpdatedAt = false, reason, now
	if err := putJSON(tx, collWebhooks, id, w); err != nil {
		return err
	}
	var keys []string
	if err := eachDoc(tx, collQueue, id+"/", func(doc lineage.Doc) (bool, error) {
		keys = append(keys, doc.Key)
		return true, nil
	}); err != nil {
		return err
	}
	for _, key := range keys {
		var dl Delivery
		if ok, err := getJSON(tx, collDeliveries, key, &dl); err != nil {
			return err
		} else if ok {
			dl.Status, dl.NextAttemptAt, dl.UpdatedAt = Failed, nil, now
			dl.LastError = "webhook disabled: " + reason
			if err := putJSON(tx, collDeliveries, key, &dl); err != nil {
				return err
			}
		}
		if err := tx.DeleteDoc(collQueue, key); err != nil {
			return err
		}
	}
	return nil
}

// backoff is the delay before attempt n+1 after n failed ones: BaseDelay
// doubled per attempt up to MaxDelay, with equal jitter (half fixed, half
// random) so that receivers coming back are not hit in lockstep.
func (d *Dispatcher) backoff(n int, jitter float64) time.Duration {
	delay := d.opts.MaxDelay
	if shift := n - 1; shift < 40 {
		if b := d.opts.BaseDelay << shift; b > 0 && b < delay {
			delay = b
		}
	}
	half := delay / 2
	return half + time.Duration(jitter*float64(delay-half))
}

// send makes one signed request and reports its outcome; it never returns
// the response body, of which it reads at most 64 KiB and discards.
func (d *Dispatcher) send(ctx context.Context, w *stored, msgID string, body []byte) Attempt {
	at := d.now().UTC()
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return Attempt{At: at, Error: "invalid URL"}
	}
	sig, err := Sign(w.Secret, msgID, at, body)
	if err != nil {
		return Attempt{At: at, Error: "invalid secret"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	resp, err := d.client.Do(req)
	latency := time.Since(start)
	if err != nil {
		return Attempt{At: at, Latency: latency, Error: coarse(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	resp.Body.Close()
	a := Attempt{At: at, StatusCode: resp.StatusCode, Latency: latency}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = "redirect not followed"
	default:
		a.Error = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return a
}

// coarse names a transport failure without detail a receiver controls.
func coarse(err error) string {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.Is(err, netguard.ErrAddressNotAllowed):
		return "address not allowed"
	case errors.As(err, &dnsErr):
		return "name not resolved"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.As(err, &invErr), errors.As(err, &recErr), errors.As(err, &alert):
		return "TLS error"
	}
	return "connection failed"
}
