package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pedigree-ml/pedigree/lineage"
)

// Error codes the GraphQL layer adds to lineage's (which it passes through:
// BAD_USER_INPUT, NOT_FOUND, CONFLICT, UNAUTHENTICATED, FORBIDDEN, INTERNAL)
// and gqlgen's (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
// COMPLEXITY_LIMIT_EXCEEDED).
const (
	CodeTimeout             = "TIMEOUT"                     // the execution time limit passed
	CodeDepthLimit          = "DEPTH_LIMIT_EXCEEDED"        // selections nest too deep
	CodeAliasLimit          = "ALIAS_LIMIT_EXCEEDED"        // too many aliases in one selection set
	CodeRootFieldLimit      = "ROOT_FIELD_LIMIT_EXCEEDED"   // too many root fields
	CodeFieldLimit          = "FIELD_LIMIT_EXCEEDED"        // too many fields once fragments are expanded
	CodeOperationNotAllowed = "OPERATION_NOT_ALLOWED"       // e.g. a mutation over a websocket
	CodeBadRequest          = "BAD_REQUEST"                 // the HTTP request itself is malformed
	CodeComplexityLimit     = "COMPLEXITY_LIMIT_EXCEEDED"   // gqlgen's code, repeated for clients
	CodeSubscriptionLimit   = "SUBSCRIPTION_LIMIT_EXCEEDED" // too many subscriptions on one websocket
	codeParseFailed         = errcode.ParseFailed
	codeValidationFailed    = errcode.ValidationFailed
)

func init() {
	// Request-level rejections answer 422 like gqlgen's parse and validation
	// failures (and are sent as "error" messages over websockets).
	for _, c := range []string{CodeDepthLimit, CodeAliasLimit, CodeRootFieldLimit, CodeFieldLimit,
		CodeOperationNotAllowed, CodeComplexityLimit} {
		errcode.RegisterErrorType(c, errcode.KindProtocol)
	}
}

// requestError is an error the layer itself raises, with its code.
func requestError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// recovered is a panic caught in a resolver (gqlgen's RecoverFunc), kept
// with its stack until the presenter logs it.
type recovered struct {
	value any
	stack []byte
}

func (p *recovered) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func recoverFunc(_ context.Context, p any) error {
	return &recovered{value: p, stack: debug.Stack()}
}

// errorPresenter is the one place errors become what a client sees:
//   - lineage errors keep their code and client-safe message, and the input
//     they name as extensions.field (always for BAD_USER_INPUT; NOT_FOUND
//     and CONFLICT name one when an input caused them);
//   - errors that already carry a code (parse, validation, limits,
//     complexity) pass through unchanged;
//   - a passed deadline is TIMEOUT;
//   - everything else — EINTERNAL, unknown errors, panics — becomes
//     "internal error (request id X)" with code INTERNAL, and the original
//     is logged once with the request id.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var out *gqlerror.Error
		if !errors.As(err, &out) {
			out = gqlerror.WrapPath(graphql.GetPath(ctx), err)
		}
		var (
			le  *lineage.Error
			rec *recovered
		)
		switch {
		case errors.As(err, &rec):
			return internal(ctx, log, out, err, slog.String("stack", string(rec.stack)))
		case errors.Is(err, context.DeadlineExceeded):
			return withCode(out, CodeTimeout, "the request exceeded its execution time limit")
		case errors.As(err, &le) && le.Code != lineage.EINTERNAL && le.Code != "":
			out = withCode(out, le.Code, le.Message)
			field := le.Field
			if field == "" && le.Code == lineage.EINVALID {
				field = lastName(out.Path)
			}
			if field != "" {
				out.Extensions["field"] = field
			}
			return out
		case le == nil && out.Err == nil:
			// Raised by gqlgen or gqlparser themselves: their messages hold
			// no internal detail. Parse and validation failures already carry
			// their code; give the rest (e.g. "must not be null") INTERNAL.
			if _, ok := out.Extensions["code"].(string); !ok {
				errcode.Set(out, lineage.EINTERNAL)
			}
			return out
		default:
			return internal(ctx, log, out, err)
		}
	}
}

// withCode returns a copy of e with a message and code; the copy keeps
// path and locations but not the wrapped error.
func withCode(e *gqlerror.Error, code, msg string) *gqlerror.Error {
	out := &gqlerror.Error{Message: msg, Path: e.Path, Locations: e.Locations, Rule: e.Rule,
		Extensions: make(map[string]any, len(e.Extensions)+2)}
	for k, v := range e.Extensions {
		out.Extensions[k] = v
	}
	out.Extensions["code"] = code
	return out
}

// internal scrubs an error to a request id, logging the original once per
// request and message (a failing loader reaches every field that waited on it).
func internal(ctx context.Context, log *slog.Logger, e *gqlerror.Error, orig error, attrs ...slog.Attr) *gqlerror.Error {
	st := stateFrom(ctx)
	id := RequestID(ctx)
	if st == nil || st.firstLog(orig.Error()) {
		attrs = append([]slog.Attr{slog.String("request_id", id), slog.String("path", e.Path.String()),
			slog.String("err", orig.Error())}, attrs...)
		log.LogAttrs(ctx, slog.LevelError, "graphql internal error", attrs...)
	}
	return withCode(e, lineage.EINTERNAL, "internal error (request id "+id+")")
}

// lastName is the last field or argument name of a path: for an argument
// that failed to decode, the argument (or input field) that was wrong.
func lastName(p ast.Path) string {
	for i := len(p) - 1; i >= 0; i-- {
		if n, ok := p[i].(ast.PathName); ok {
			return strings.TrimSpace(string(n))
		}
	}
	return ""
}
