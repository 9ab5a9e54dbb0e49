"""The error hierarchy: one exception class per failure a client should hear about."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """A failure the client should hear about, with its HTTP status."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequestError(AppError):
    status = 400
    title = "Bad request"


class ReadOnlyError(AppError):
    status = 403
    title = "Read-only service"


class NotFoundError(AppError):
    status = 404
    title = "Not found"


class MethodNotAllowedError(AppError):
    status = 405
    title = "Method not allowed"


class NotAcceptableError(AppError):
    status = 406
    title = "Not acceptable"


class PayloadTooLargeError(AppError):
    status = 413
    title = "Request body too large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    title = "Unsupported media type"


class UnprocessableError(AppError):
    """A well-formed query this service will not finish: too large a result, or an engine crash."""

    status = 422
    title = "Query not answered"


class TooManyRequestsError(AppError):
    """A client past its share of the service (its concurrent queries or query time)."""

    status = 429
    title = "Too many requests"


class BadGatewayError(AppError):
    """The SPARQL endpoint behind the service answered with something unusable."""

    status = 502
    title = "Bad gateway"


class BackendUnavailableError(AppError):
    status = 503
    title = "Service unavailable"


class QueryTimeoutError(BackendUnavailableError):
    title = "Query timed out"
