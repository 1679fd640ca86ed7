"""Errors of the worker and their gRPC code names.

A request that fails becomes an ``error`` reply with a code; the worker keeps serving. Only a
:class:`FatalError` (or a bug outside request handling) ends the process, after a ``fatal`` message.
"""

from __future__ import annotations

from typing import Final

# gRPC canonical code names (the same set as `Code` in src/common/errors.ts).
GRPC_CODES: Final = frozenset(
    {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)


class WorkerError(Exception):
    """A request failure with the gRPC code the supervisor should report."""

    def __init__(self, code: str, message: str) -> None:
        if code not in GRPC_CODES:
            raise ValueError(f"{code!r} is not a gRPC code name")
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"WorkerError({self.code!r}, {self.message!r})"


class FatalError(Exception):
    """The worker cannot serve any more (device lost, corrupted state): report ``fatal`` and exit."""


def load_error(exc: Exception) -> WorkerError:
    """The reply for a failed load: ValueError is INVALID_ARGUMENT, anything else INTERNAL."""
    if isinstance(exc, WorkerError):
        return exc
    if isinstance(exc, ValueError):
        return WorkerError("INVALID_ARGUMENT", str(exc))
    return WorkerError("INTERNAL", f"Loading error: {type(exc).__name__}: {exc}")


def method_error(method: str, exc: Exception) -> WorkerError:
    """The reply for a failed data call: ValueError is INVALID_ARGUMENT, anything else INTERNAL."""
    if isinstance(exc, WorkerError):
        return exc
    if isinstance(exc, ValueError):
        return WorkerError("INVALID_ARGUMENT", str(exc))
    return WorkerError("INTERNAL", f"{method} failed: {type(exc).__name__}: {exc}")
