package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Leases is the Doc collection of consumer leases.
const Leases = "leases"

type lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// Lead runs fn while this process holds the named lease, so that of several
// replicas on one store only one runs a consumer at a time (deliveries stay
// at least once without every replica sending each event). The lease lasts
// ttl and is renewed every ttl/3; fn's context is cancelled when it is lost
// or ctx is done. Lead returns when ctx is done.
func Lead(ctx context.Context, s lineage.Store, name string, ttl time.Duration, fn func(context.Context)) {
	holder := newHolder()
	for ctx.Err() == nil {
		if ok, err := acquire(ctx, s, name, holder, ttl); err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				slog.Warn("lease unavailable", "lease", name, "err", err)
			}
			sleep(ctx, ttl/3)
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn(lctx)
		}()
		for renewed := true; renewed; {
			select {
			case <-done:
				renewed = false
			case <-time.After(ttl / 3):
				ok, err := acquire(ctx, s, name, holder, ttl)
				renewed = ok && err == nil
			}
		}
		cancel()
		<-done
		release(s, name, holder)
	}
}

// acquire takes or renews the lease if it is free, expired or ours.
func acquire(ctx context.Context, s lineage.Store, name, holder string, ttl time.Duration) (bool, error) {
	var ok bool
	err := s.Update(ctx, func(tx lineage.Tx) error {
		ok = false
		now := time.Now()
		d, err := tx.Doc(Leases, name)
		switch {
		case lineage.ErrorCode(err) == lineage.ENOTFOUND:
		case err != nil:
			return err
		default:
			var l lease
			if err := json.Unmarshal(d.Value, &l); err == nil && l.Holder != holder && now.Before(l.Expires) {
				return nil
			}
		}
		ok = true
		b, _ := json.Marshal(lease{Holder: holder, Expires: now.Add(ttl)})
		return tx.PutDoc(lineage.Doc{Collection: Leases, Key: name, Value: b})
	})
	return ok, err
}

// release gives the lease up at shutdown, so another replica takes over at
// once rather than after ttl.
func release(s lineage.Store, name, holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.Update(ctx, func(tx lineage.Tx) error {
		d, err := tx.Doc(Leases, name)
		if err != nil {
			return nil
		}
		var l lease
		if json.Unmarshal(d.Value, &l) != nil || l.Holder != holder {
			return nil
		}
		return tx.DeleteDoc(Leases, name)
	})
}

func newHolder() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
