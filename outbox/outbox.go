// Package outbox carries committed events out of the store: the one JSON
// form every consumer sends (webhooks, pub/sub, the watch command) and the
// loop that follows the outbox from a persisted cursor, so that a consumer
// sees every committed event at least once across restarts.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Message is an event as consumers receive it, in the Standard Webhooks
// payload shape (type, timestamp, data) plus the outbox's own ids.
type Message struct {
	ID        string            `json:"id"`
	Seq       int64             `json:"seq"`
	Type      lineage.EventType `json:"type"`
	Model     string            `json:"model,omitempty"`
	ModelSeq  int64             `json:"modelSeq,omitempty"`
	Timestamp time.Time         `json:"timestamp"`
	Data      json.RawMessage   `json:"data"`
}

// Encode returns the JSON body of an event.
func Encode(e lineage.Event) []byte {
	data := e.Payload
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	b, err := json.Marshal(Message{ID: e.ID, Seq: e.Seq, Type: e.Type, Model: e.Model, ModelSeq: e.ModelSeq, Timestamp: e.CreatedAt.UTC(), Data: data})
	if err != nil { // only a payload that is not JSON, which emit never writes
		panic(fmt.Sprintf("outbox: event %s: %v", e.ID, err))
	}
	return b
}

// Cursors is the Doc collection holding each consumer's last handled Seq.
const Cursors = "cursors"

// Cursor returns a consumer's persisted position; ok is false if it has none.
func Cursor(ctx context.Context, s lineage.Store, name string) (seq int64, ok bool, err error) {
	err = s.View(ctx, func(tx lineage.ReadTx) error {
		d, err := tx.Doc(Cursors, name)
		if lineage.ErrorCode(err) == lineage.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		ok = true
		seq, err = strconv.ParseInt(string(d.Value), 10, 64)
		return err
	})
	return seq, ok, err
}

// SetCursor records a consumer's position in tx.
func SetCursor(tx lineage.Tx, name string, seq int64) error {
	return tx.PutDoc(lineage.Doc{Collection: Cursors, Key: name, Value: json.RawMessage(strconv.FormatInt(seq, 10))})
}

// MaxBatch bounds the events handed to a consumer at once.
const MaxBatch = 100

// Follow hands committed events to handle, oldest first, in batches of up
// to MaxBatch, starting after the consumer's cursor (name). handle must
// advance the cursor with SetCursor in the same transaction as its own
// writes, or after its effects are done: a crash before that replays the
// batch, so delivery is at least once. Without a cursor the consumer starts
// after start (negative: at the newest event). Follow returns when ctx is
// done; store failures are logged and retried after a pause.
func Follow(ctx context.Context, svc *lineage.Service, name string, start int64, handle func(context.Context, []lineage.Event) error) {
	for ctx.Err() == nil {
		if err := follow(ctx, svc, name, start, handle); err != nil && ctx.Err() == nil {
			slog.Warn("outbox consumer paused", "consumer", name, "err", err)
			sleep(ctx, time.Second)
		}
	}
}

// begin persists a new consumer's starting point, so that events committed
// while the process is down are not skipped after a restart.
func begin(ctx context.Context, s lineage.Store, name string, start int64) error {
	if start < 0 {
		head, err := s.LastEventSeq(ctx)
		if err != nil {
			return err
		}
		start = head
	}
	return s.Update(ctx, func(tx lineage.Tx) error {
		if _, err := tx.Doc(Cursors, name); lineage.ErrorCode(err) != lineage.ENOTFOUND {
			return err // another replica began first (nil), or a failure
		}
		return SetCursor(tx, name, start)
	})
}

func follow(ctx context.Context, svc *lineage.Service, name string, start int64, handle func(context.Context, []lineage.Event) error) error {
	after, ok, err := Cursor(ctx, svc.Store(), name)
	if err != nil {
		return err
	}
	if !ok {
		if err := begin(ctx, svc.Store(), name, start); err != nil {
			return err
		}
		return nil // and start over from the cursor just written
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := svc.Subscribe(ctx, "", nil, after)
	if err != nil {
		return err
	}
	for {
		e, ok := <-events
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return errors.New("event stream ended") // the store failed
		}
		batch := []lineage.Event{e}
	drain: // what has already arrived goes in the same batch
		for len(batch) < MaxBatch {
			select {
			case e, ok := <-events:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		if err := handle(ctx, batch); err != nil {
			return err // resubscribes from the persisted cursor
		}
	}
}
