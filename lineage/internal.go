package lineage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// update runs fn in one store transaction with the transaction's time, and
// wakes event subscribers after a commit that appended events.
func (s *Service) update(ctx context.Context, fn func(tx Tx, now time.Time) error) error {
	now := s.now().UTC()
	var emitted bool
	err := s.store.Update(ctx, func(tx Tx) error {
		etx := &eventTx{Tx: tx} // fresh per attempt: a retried fn starts over
		err := fn(etx, now)
		emitted = etx.emitted
		return err
	})
	if err == nil && emitted {
		s.broker.notify()
	}
	return err
}

// eventTx notes whether a transaction appended to the outbox.
type eventTx struct {
	Tx
	emitted bool
}

func (t *eventTx) AddEvent(e *Event) error {
	t.emitted = true
	return t.Tx.AddEvent(e)
}

func (s *Service) view(ctx context.Context, fn func(tx ReadTx) error) error {
	return s.store.View(ctx, fn)
}

// idempotent looks up a mutation's idempotency key. It returns the ID the
// first call produced (or "" for a new key) and the payload digest to store
// with remember. A key reused with another payload is a CONFLICT.
func idempotent(tx ReadTx, key, op string, payload any) (ID, string, error) {
	if key == "" {
		return "", "", nil
	}
	if err := checkLine("idempotencyKey", key, 200); err != nil {
		return "", "", err
	}
	digest := digestJSON(payload)
	rec, err := tx.Idempotency(op + ":" + key)
	if ErrorCode(err) == ENOTFOUND {
		return "", digest, nil
	} else if err != nil {
		return "", "", err
	}
	if rec.Digest != digest {
		return "", "", &Error{Code: ECONFLICT, Field: "idempotencyKey", Message: "idempotencyKey: already used with a different request"}
	}
	return rec.Result, digest, nil
}

func remember(tx Tx, key, op, digest string, result ID, now time.Time) error {
	if key == "" {
		return nil
	}
	return tx.PutIdempotency(IdempotencyRecord{Key: op + ":" + key, Operation: op, Digest: digest, Result: result, CreatedAt: now})
}

// Natural keys that are not IDs (a dataset's digest, a feature set's
// definition) are remembered with idempotency records under a reserved
// prefix, so every backend gets the lookup from one mechanism.
func lookupNatural(tx ReadTx, key string) (ID, error) {
	rec, err := tx.Idempotency("natural:" + key)
	if ErrorCode(err) == ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return rec.Result, nil
}

func rememberNatural(tx Tx, key string, id ID, now time.Time) error {
	return tx.PutIdempotency(IdempotencyRecord{Key: "natural:" + key, Operation: "natural", Result: id, CreatedAt: now})
}

// emit appends an event to the outbox, in the caller's transaction.
func emit(tx Tx, model string, typ EventType, payload any, now time.Time) error {
	model = strings.ToLower(model) // names are unique in their lower-case form
	seq, err := tx.LastModelSeq(model)
	if err != nil {
		return err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("event payload: %w", err)
	}
	return tx.AddEvent(&Event{ID: newUUIDv7(now), Model: model, ModelSeq: seq + 1, Type: typ, Payload: body, CreatedAt: now})
}

// digestJSON is the sha256 of v's JSON encoding (map keys are sorted by
// encoding/json, so equal values give equal digests).
func digestJSON(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// newUUIDv7 returns a time-ordered RFC 9562 UUID.
func newUUIDv7(t time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[6:])
	binary.BigEndian.PutUint64(u[0:8], uint64(t.UnixMilli())<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// exists checks that a referenced node exists and is not soft-deleted.
func exists(tx ReadTx, field string, id ID, kinds ...Kind) (*Node, error) {
	n, err := tx.Node(id)
	if ErrorCode(err) == ENOTFOUND || (err == nil && n.DeletedAt != nil) {
		return nil, &Error{Code: ENOTFOUND, Field: field, Message: fmt.Sprintf("%s: %s not found", field, id)}
	} else if err != nil {
		return nil, err
	}
	if len(kinds) > 0 {
		for _, k := range kinds {
			if n.Kind == k {
				return n, nil
			}
		}
		return nil, Invalid(field, "%s is a %s, expected %v", id, n.Kind, kinds)
	}
	return n, nil
}

// ensure creates a logical node (dataset, model, experiment, …) if it does
// not exist yet.
func ensure(tx Tx, e Entity, now time.Time) error {
	_, err := tx.Node(EntityID(e))
	if ErrorCode(err) != ENOTFOUND {
		return err
	}
	return create(tx, e, "", now)
}

// broker wakes subscribers after commits; they then read the outbox.
type broker struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroker() *broker { return &broker{ch: make(chan struct{})} }

// wait returns a channel closed at the next notify.
func (b *broker) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broker) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
