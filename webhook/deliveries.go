package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
	"github.com/pedigree-ml/pedigree/outbox"
)

// DeliveryQuery selects a webhook's deliveries, newest first.
type DeliveryQuery struct {
	Webhook string // required
	Status  Status // optional
	First   int    // page size: default lineage.DefaultPageSize, at most lineage.MaxPageSize
	After   string // EndCursor of the previous page
}

// Deliveries returns a page of a webhook's delivery log, newest event
// first. ENOTFOUND (field webhook) if the webhook does not exist.
func (d *Dispatcher) Deliveries(ctx context.Context, q DeliveryQuery) (items []Delivery, endCursor string, hasNext bool, err error) {
	if err := checkID("webhook", q.Webhook); err != nil {
		return nil, "", false, err
	}
	switch q.Status {
	case "", Pending, Delivered, Failed:
	default:
		return nil, "", false, lineage.Invalid("status", "must be PENDING, DELIVERED or FAILED")
	}
	first := q.First
	if first <= 0 {
		first = lineage.DefaultPageSize
	}
	first = min(first, lineage.MaxPageSize)
	after := ""
	if q.After != "" {
		seq, err := decodeCursor(q.After)
		if err != nil {
			return nil, "", false, err
		}
		after = deliveryKey(q.Webhook, seq)
	}
	err = d.store.View(ctx, func(tx lineage.ReadTx) error {
		items, hasNext = nil, false
		if _, err := tx.Doc(collWebhooks, q.Webhook); lineage.ErrorCode(err) == lineage.ENOTFOUND {
			return notFound("webhook", "webhook")
		} else if err != nil {
			return err
		}
		for {
			docs, err := tx.Docs(lineage.DocQuery{Collection: collDeliveries, Prefix: q.Webhook + "/", After: after, Desc: true, Limit: pageSize})
			if err != nil {
				return err
			}
			for _, doc := range docs {
				var dl Delivery
				if err := json.Unmarshal(doc.Value, &dl); err != nil {
					return fmt.Errorf("webhook: decode delivery %s: %w", doc.Key, err)
				}
				if q.Status != "" && dl.Status != q.Status {
					continue
				}
				if len(items) == first {
					hasNext = true
					return nil
				}
				items = append(items, dl)
			}
			if len(docs) < pageSize {
				return nil
			}
			after = docs[len(docs)-1].Key
		}
	})
	if err != nil {
		return nil, "", false, err
	}
	if len(items) > 0 {
		endCursor = encodeCursor(items[len(items)-1].EventSeq)
	}
	return items, endCursor, hasNext, nil
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("d:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	bad := lineage.Invalid("after", "is not a cursor of this list")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, bad
	}
	s, ok := strings.CutPrefix(string(b), "d:")
	if !ok {
		return 0, bad
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 0 {
		return 0, bad
	}
	return seq, nil
}

// eventIDPattern bounds what may reach a store key as an event ID.
var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// Redeliver sends an event again: to one webhook, or with webhookID "" to
// every webhook that had it. Each delivery becomes PENDING with a fresh
// retry window; its attempts are kept and the webhook-id (the event ID) is
// the same. ENOTFOUND (field event) if there is no such delivery.
func (d *Dispatcher) Redeliver(ctx context.Context, eventID, webhookID string) ([]Delivery, error) {
	if eventID == "" {
		return nil, lineage.Invalid("event", "is required")
	}
	if !eventIDPattern.MatchString(eventID) {
		return nil, notFound("event", "delivery of this event")
	}
	if webhookID != "" {
		if err := checkID("webhook", webhookID); err != nil {
			return nil, err
		}
	}
	now := d.now().UTC()
	var out []Delivery
	err := d.store.Update(ctx, func(tx lineage.Tx) error {
		out = nil
		var keys []string
		if webhookID != "" {
			if _, err := loadWebhook(tx, webhookID); lineage.ErrorCode(err) == lineage.ENOTFOUND {
				return notFound("webhook", "webhook")
			} else if err != nil {
				return err
			}
			var key string
			if ok, err := getJSON(tx, collIndex, indexKey(eventID, webhookID), &key); err != nil {
				return err
			} else if ok {
				keys = append(keys, key)
			}
		} else if err := eachDoc(tx, collIndex, eventID+"/", func(doc lineage.Doc) (bool, error) {
			var key string
			if err := json.Unmarshal(doc.Value, &key); err != nil {
				return false, fmt.Errorf("webhook: decode index %s: %w", doc.Key, err)
			}
			keys = append(keys, key)
			return true, nil
		}); err != nil {
			return err
		}
		for _, key := range keys {
			var dl Delivery
			if ok, err := getJSON(tx, collDeliveries, key, &dl); err != nil {
				return err
			} else if !ok {
				continue
			}
			if _, err := loadWebhook(tx, dl.Webhook); lineage.ErrorCode(err) == lineage.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			dl.Status, dl.NextAttemptAt, dl.DeliveredAt, dl.UpdatedAt = Pending, &now, nil, now
			if err := putJSON(tx, collDeliveries, key, &dl); err != nil {
				return err
			}
			if err := putJSON(tx, collQueue, key, &queued{EventID: dl.EventID, EventSeq: dl.EventSeq, NextAttemptAt: now}); err != nil {
				return err
			}
			out = append(out, dl)
		}
		if len(out) == 0 {
			return notFound("event", "delivery of this event")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, dl := range out {
		d.log.Info("webhook redelivery", "webhook", dl.Webhook, "event", dl.EventID)
		d.wakeWorker(dl.Webhook)
	}
	return out, nil
}

// TestResult is the outcome of Test: never the response body.
type TestResult struct {
	StatusCode int           `json:"statusCode,omitempty"` // 0 if no response
	Latency    time.Duration `json:"latency"`
	Error      string        `json:"error,omitempty"` // coarse, "" on a 2xx
}

// Test sends a signed synthetic WEBHOOK_TEST event to a webhook, enabled or
// not, and reports the status and latency of the answer. The delivery log
// is not touched.
func (d *Dispatcher) Test(ctx context.Context, id string) (TestResult, error) {
	if err := checkID("id", id); err != nil {
		return TestResult{}, err
	}
	var w *stored
	if err := d.store.View(ctx, func(tx lineage.ReadTx) error {
		var err error
		w, err = loadWebhook(tx, id)
		return err
	}); err != nil {
		return TestResult{}, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	now := d.now().UTC()
	data, _ := json.Marshal(map[string]string{"webhook": id})
	msgID := "test_" + hex.EncodeToString(b)
	body, err := json.Marshal(outbox.Message{ID: msgID, Type: TestEventType, Timestamp: now, Data: data})
	if err != nil {
		return TestResult{}, err
	}
	att := d.send(ctx, w, msgID, body)
	if err := ctx.Err(); err != nil {
		return TestResult{}, lineage.Errorf(lineage.EUNAVAILABLE, "webhook test cancelled")
	}
	d.log.Info("webhook test", "webhook", id, "code", att.StatusCode, "latency", att.Latency, "err", att.Error)
	return TestResult{StatusCode: att.StatusCode, Latency: att.Latency, Error: att.Error}, nil
}
