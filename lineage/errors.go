package lineage

import (
	"errors"
	"fmt"
)

// Error codes. They are the values of a GraphQL error's extensions.code, so
// clients can branch on them; messages are for people.
const (
	EINVALID      = "BAD_USER_INPUT"
	ENOTFOUND     = "NOT_FOUND"
	ECONFLICT     = "CONFLICT"
	EUNAUTHORIZED = "UNAUTHENTICATED"
	EFORBIDDEN    = "FORBIDDEN"
	EUNAVAILABLE  = "UNAVAILABLE" // the store cannot be reached now; retrying later may succeed
	EINTERNAL     = "INTERNAL"
)

// Error is an application error: a code, the offending input field (for
// EINVALID) and a message safe to show a client.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("pedigree error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("pedigree error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an application error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the input field and the rule it broke.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorField returns the input field an EINVALID error names, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorMessage returns the client-safe message of an application error and
// "internal error" for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
