package resolvers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

type requestIDKey struct{}

// WithRequestID returns a context carrying the id of the HTTP request it
// belongs to; internal errors name it so a user can quote it and an operator
// can find the log line. Requests without one get a fresh id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id of a context, "" if none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// transportKind is how an operation arrived; some operations are only
// allowed on some transports.
type transportKind string

const (
	viaPOST      transportKind = "POST"
	viaMultipart transportKind = "multipart"
	viaGET       transportKind = "GET"
	viaWebsocket transportKind = "websocket"
)

// requestState is what one HTTP request (or one websocket connection)
// gathers for its log line, shared by the handler, the extensions and the
// error presenter through the context.
type requestState struct {
	transport transportKind

	mu        sync.Mutex
	operation string // operation name, or the root fields when anonymous
	opType    string // query, mutation, subscription
	codes     []string
	logged    map[string]bool
	subs      int // active subscriptions (websocket)
}

type stateKey struct{}

func withState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

func (s *requestState) setOperation(name, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.operation == "" {
		s.operation, s.opType = name, typ
	}
}

// noteErrors records the codes of a response's errors.
func (s *requestState) noteErrors(errs gqlerror.List) {
	if len(errs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range errs {
		c, _ := e.Extensions["code"].(string)
		if c == "" {
			c = "UNKNOWN"
		}
		s.codes = append(s.codes, c)
	}
}

// firstLog reports whether an internal error message is new to this request.
func (s *requestState) firstLog(msg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logged[msg] {
		return false
	}
	if s.logged == nil {
		s.logged = map[string]bool{}
	}
	s.logged[msg] = true
	return true
}

// addSubscription counts a subscription started on a websocket; it returns
// false when max are already active.
func (s *requestState) addSubscription(max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs >= max {
		return false
	}
	s.subs++
	return true
}

func (s *requestState) doneSubscription() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs--
}

func (s *requestState) summary() (operation, opType string, codes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.operation, s.opType, append([]string(nil), s.codes...)
}
