package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// gqlClient is the small GraphQL client of the client commands: queries
// and mutations over POST, subscriptions over websockets with the
// graphql-transport-ws protocol (the one the server speaks; see
// resolvers.NewHandler).
type gqlClient struct {
	endpoint string // http(s)://host/graphql
	wsURL    string // ws(s)://host/graphql
	token    string // sent as Authorization: Bearer when set
	http     *http.Client
}

// newGQLClient returns a client of the server at base, e.g.
// http://127.0.0.1:8080 (a trailing /graphql is accepted too).
func newGQLClient(base, token string) (*gqlClient, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--server: %q is not an http:// or https:// URL", base)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("--server: %q must be a plain base URL, without credentials, query or fragment", base)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/graphql") + "/graphql"
	endpoint := u.String()
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	return &gqlClient{endpoint: endpoint, wsURL: u.String(), token: token,
		http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// gqlErr is one entry of a response's errors.
type gqlErr struct {
	Message    string `json:"message"`
	Extensions struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"extensions"`
}

// gqlErrors are the errors of a response the server answered: the request
// was understood and refused (or failed) as a whole or in part.
type gqlErrors []gqlErr

func (e gqlErrors) Error() string {
	if len(e) == 0 {
		return "unknown GraphQL error"
	}
	msg := e[0].Message
	// The server's messages start with the field they concern; add it if not.
	if f := e[0].Extensions.Field; f != "" && !strings.HasPrefix(msg, f+":") {
		msg = f + ": " + msg
	}
	if len(e) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(e)-1)
	}
	return msg
}

// Code is the first error's extensions.code.
func (e gqlErrors) Code() string {
	if len(e) == 0 {
		return ""
	}
	return e[0].Extensions.Code
}

// transportError is a failure to reach the server or to get an answer from
// it; unlike gqlErrors, trying again later may succeed.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// temporary reports whether an error is worth retrying: the server could
// not be reached, or answered that it failed inside or ran out of time.
func temporary(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ge gqlErrors
	if errors.As(err, &ge) {
		switch ge.Code() {
		case "INTERNAL", "TIMEOUT":
			return true
		}
	}
	return false
}

func (c *gqlClient) header(h http.Header) {
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
}

// do runs a query or mutation and decodes its data into out (if not nil).
// Any error in the response fails the call with gqlErrors.
func (c *gqlClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c.header(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transportError{err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &transportError{err: fmt.Errorf("%s: reading the response: %w", c.endpoint, err)}
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlErrors       `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || (len(r.Errors) == 0 && resp.StatusCode != http.StatusOK) {
		err := fmt.Errorf("%s answered %s", c.endpoint, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return &transportError{err: err}
		}
		return err
	}
	if len(r.Errors) > 0 {
		return r.Errors
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return fmt.Errorf("decoding the response: %w", err)
		}
	}
	return nil
}

// unwrapURLError drops url.Error's "Post "http://…/graphql":" prefix, which
// says nothing the caller doesn't, and keeps the cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.TrimSuffix(ue.URL, "/graphql"), ue.Err)
	}
	return err
}

// Subscriptions: graphql-transport-ws
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).

// wsMessage is one message of the protocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

const (
	// wsPingEvery is how often the client pings: gqlgen sends no keep-alive
	// over graphql-transport-ws, so silence is only noticed by asking.
	wsPingEvery = 10 * time.Second
	// wsDeadAfter is how long a connection may be silent (no pong, no
	// event) before it is given up as dead.
	wsDeadAfter = 3 * wsPingEvery
)

// errCompleted ends a subscription that the server completed, e.g. because
// it is shutting down.
var errCompleted = errors.New("the server ended the subscription")

// subscription is one running subscription on its own websocket. Results
// arrive on C; once C is closed, Err says why.
type subscription struct {
	C <-chan json.RawMessage // the data of each "next" message

	conn   *websocket.Conn
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// subscribe opens a websocket, initialises it and starts one subscription.
// It returns once the server has acknowledged the connection; errors of
// the operation itself (e.g. a bad argument) arrive as Err.
func (c *gqlClient) subscribe(ctx context.Context, query string, vars map[string]any) (*subscription, error) {
	h := http.Header{}
	c.header(h)
	dialCtx, cancelDial := context.WithTimeout(ctx, 15*time.Second)
	defer cancelDial()
	conn, resp, err := websocket.Dial(dialCtx, c.wsURL, &websocket.DialOptions{
		HTTPHeader:   h,
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return nil, fmt.Errorf("%s refused the websocket: %s", c.wsURL, resp.Status)
		}
		return nil, &transportError{err: fmt.Errorf("%s: %w", c.wsURL, connError(err))}
	}
	if p := conn.Subprotocol(); p != "graphql-transport-ws" {
		conn.Close(websocket.StatusProtocolError, "graphql-transport-ws required")
		return nil, fmt.Errorf("%s does not speak graphql-transport-ws (got %q)", c.wsURL, p)
	}
	conn.SetReadLimit(16 << 20)
	fail := func(err error) (*subscription, error) {
		conn.Close(websocket.StatusNormalClosure, "")
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}

	var initPayload json.RawMessage
	if c.token != "" {
		// For servers that read credentials from connection_init, as
		// browsers cannot set headers on a websocket.
		initPayload, _ = json.Marshal(map[string]string{"Authorization": "Bearer " + c.token})
	}
	if err := writeWS(ctx, conn, wsMessage{Type: "connection_init", Payload: initPayload}); err != nil {
		return fail(&transportError{err: err})
	}
	for acked := false; !acked; {
		readCtx, cancelRead := context.WithTimeout(ctx, 15*time.Second)
		m, err := readWS(readCtx, conn)
		cancelRead()
		if err != nil {
			return fail(&transportError{err: fmt.Errorf("waiting for connection_ack: %w", err)})
		}
		switch m.Type {
		case "connection_ack":
			acked = true
		case "ping":
			if err := writeWS(ctx, conn, wsMessage{Type: "pong", Payload: m.Payload}); err != nil {
				return fail(&transportError{err: err})
			}
		case "pong":
		default:
			return fail(fmt.Errorf("unexpected %q message before connection_ack", m.Type))
		}
	}
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fail(err)
	}
	const id = "1"
	if err := writeWS(ctx, conn, wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		return fail(&transportError{err: err})
	}

	runCtx, cancel := context.WithCancel(ctx)
	ch := make(chan json.RawMessage, 64)
	s := &subscription{C: ch, conn: conn, cancel: cancel, done: make(chan struct{})}
	go s.ping(runCtx)
	go s.read(runCtx, id, ch)
	return s, nil
}

// read follows the connection until it ends, answering pings and passing
// results on; a connection silent for wsDeadAfter is closed as dead.
func (s *subscription) read(ctx context.Context, id string, ch chan<- json.RawMessage) {
	defer close(s.done)
	defer close(ch)
	defer s.conn.Close(websocket.StatusNormalClosure, "")
	for {
		// A read whose context ends closes the connection (coder/websocket).
		readCtx, cancel := context.WithTimeout(ctx, wsDeadAfter)
		m, err := readWS(readCtx, s.conn)
		timedOut := readCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		switch {
		case ctx.Err() != nil:
			s.setErr(ctx.Err())
			return
		case timedOut:
			s.setErr(&transportError{err: fmt.Errorf("the server sent nothing for %s", wsDeadAfter)})
			return
		case err != nil:
			s.setErr(&transportError{err: connError(err)})
			return
		}
		switch m.Type {
		case "ping":
			if err := writeWS(ctx, s.conn, wsMessage{Type: "pong", Payload: m.Payload}); err != nil {
				s.setErr(&transportError{err: err})
				return
			}
		case "pong":
		case "next":
			if m.ID != id {
				continue
			}
			var r struct {
				Data   json.RawMessage `json:"data"`
				Errors gqlErrors       `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				s.setErr(fmt.Errorf("decoding a subscription result: %w", err))
				return
			}
			if len(r.Errors) > 0 {
				// An error in a result ends the subscription: gqlgen sends
				// resolver errors this way, then completes.
				s.setErr(r.Errors)
				return
			}
			select {
			case ch <- r.Data:
			case <-ctx.Done():
				s.setErr(ctx.Err())
				return
			}
		case "error":
			var errs gqlErrors
			if err := json.Unmarshal(m.Payload, &errs); err != nil || len(errs) == 0 {
				errs = gqlErrors{{Message: "the server refused the subscription"}}
			}
			s.setErr(errs)
			return
		case "complete":
			if m.ID == id {
				s.setErr(errCompleted)
				return
			}
		default:
			s.setErr(fmt.Errorf("unexpected %q message", m.Type))
			return
		}
	}
}

// ping asks the server for a pong every wsPingEvery, so that read notices
// a dead connection.
func (s *subscription) ping(ctx context.Context) {
	t := time.NewTicker(wsPingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-t.C:
			// A failed write shows up in read as a closed connection.
			_ = writeWS(ctx, s.conn, wsMessage{Type: "ping"})
		}
	}
}

func (s *subscription) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// Err is why the subscription ended; valid once C is closed.
func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and its connection and waits for the reader.
func (s *subscription) Close() {
	s.cancel()
	<-s.done
}

// connError keeps what matters of a websocket error: the network error, or
// how the connection was closed.
func connError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	if st := websocket.CloseStatus(err); st != -1 {
		return fmt.Errorf("the server closed the connection (%v)", st)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the server closed the connection")
	}
	return err
}

func writeWS(ctx context.Context, conn *websocket.Conn, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}

func readWS(ctx context.Context, conn *websocket.Conn) (wsMessage, error) {
	var m wsMessage
	_, b, err := conn.Read(ctx)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("malformed message: %w", err)
	}
	return m, nil
}
