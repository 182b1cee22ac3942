"""Exceptions raised by the Pedigree client.

Every error the server reports carries ``extensions.code`` (and, for bad
input, ``extensions.field``); the client raises the subclass of
:class:`PedigreeError` registered for that code, so callers can catch
``NotFound`` or ``Conflict`` without comparing strings.
"""

from typing import Any, Dict, List, Optional, Sequence, Union

__all__ = [
    "PedigreeError",
    "BadUserInput",
    "InvalidQuery",
    "NotFound",
    "Conflict",
    "Unauthenticated",
    "Forbidden",
    "PedigreeUnavailable",
    "Unavailable",
    "Internal",
    "PedigreeTimeout",
    "error_for",
]


class PedigreeError(Exception):
    """An error reported by the Pedigree server (or on the way to it).

    Attributes:
        message: the server's message.
        code: ``extensions.code``, e.g. ``BAD_USER_INPUT`` or ``NOT_FOUND``.
        field: ``extensions.field`` when the server names the offending input.
        path: the GraphQL response path of the failing field, if any.
        errors: every error object of the response (a request can fail in more than one place).
        data: the partial ``data`` of the response, if any.
    """

    default_code = ""

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        field: Optional[str] = None,
        path: Optional[Sequence[Union[str, int]]] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.path = list(path) if path else None
        self.errors = errors or []
        self.data = data

    def __str__(self) -> str:
        s = self.message
        if self.code:
            s = "%s [%s" % (s, self.code)
            if self.field:
                s += ", field %s" % self.field
            s += "]"
        return s

    def __repr__(self) -> str:
        return "%s(%r, code=%r, field=%r)" % (type(self).__name__, self.message, self.code, self.field)


class BadUserInput(PedigreeError, ValueError):
    """The input broke a rule (``BAD_USER_INPUT``); ``field`` names the input."""

    default_code = "BAD_USER_INPUT"


class InvalidQuery(PedigreeError):
    """The request itself was refused: parse or validation failure, or a request limit."""

    default_code = "GRAPHQL_VALIDATION_FAILED"


class NotFound(PedigreeError, LookupError):
    """What was asked for does not exist (``NOT_FOUND``)."""

    default_code = "NOT_FOUND"


class Conflict(PedigreeError):
    """The change conflicts with the current state (``CONFLICT``), e.g. a lost compare-and-swap."""

    default_code = "CONFLICT"


class Unauthenticated(PedigreeError):
    """No valid token was sent (``UNAUTHENTICATED``)."""

    default_code = "UNAUTHENTICATED"


class Forbidden(PedigreeError):
    """The token may not do this (``FORBIDDEN``)."""

    default_code = "FORBIDDEN"


class PedigreeUnavailable(PedigreeError, ConnectionError):
    """The server (or its store) cannot be reached now; retrying later may succeed."""

    default_code = "UNAVAILABLE"


Unavailable = PedigreeUnavailable


class Internal(PedigreeError):
    """The server failed (``INTERNAL``); the message carries a request id for its log."""

    default_code = "INTERNAL"


class PedigreeTimeout(PedigreeError, TimeoutError):
    """The server's execution time limit passed (``TIMEOUT``)."""

    default_code = "TIMEOUT"


_BY_CODE = {
    "BAD_USER_INPUT": BadUserInput,
    "NOT_FOUND": NotFound,
    "CONFLICT": Conflict,
    "UNAUTHENTICATED": Unauthenticated,
    "FORBIDDEN": Forbidden,
    "UNAVAILABLE": PedigreeUnavailable,
    "INTERNAL": Internal,
    "TIMEOUT": PedigreeTimeout,
}

_REQUEST_CODES = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "COMPLEXITY_LIMIT_EXCEEDED",
    "DEPTH_LIMIT_EXCEEDED",
    "ALIAS_LIMIT_EXCEEDED",
    "ROOT_FIELD_LIMIT_EXCEEDED",
    "FIELD_LIMIT_EXCEEDED",
    "OPERATION_NOT_ALLOWED",
    "BAD_REQUEST",
}


def error_for(
    message: str,
    code: Optional[str] = None,
    field: Optional[str] = None,
    path: Optional[Sequence[Union[str, int]]] = None,
    errors: Optional[List[Dict[str, Any]]] = None,
    data: Any = None,
) -> PedigreeError:
    """Returns the exception for an error code (PedigreeError for codes it does not know)."""
    code = code or ""
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = InvalidQuery if code in _REQUEST_CODES else PedigreeError
    return cls(message, code=code or None, field=field, path=path, errors=errors, data=data)
