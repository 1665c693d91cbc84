"""Errors the gateway turns into OpenAI-style bodies: {"error": {message, type, param, code}}."""

from __future__ import annotations


class GatewayError(Exception):
    status = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers: dict[str, str] = {}


class BadRequest(GatewayError):
    pass


class UnknownParameter(BadRequest):
    code = "unknown_parameter"


class UnsupportedParameter(BadRequest):
    code = "unsupported_parameter"


class UnsupportedValue(BadRequest):
    code = "unsupported_value"


class ContextLengthExceeded(BadRequest):
    code = "context_length_exceeded"


class InvalidText(BadRequest):
    """A string no tokenizer can take (not encodable as UTF-8)."""

    code = "invalid_text"


class Unauthorized(GatewayError):
    status = 401
    code = "invalid_api_key"


class ModelNotFound(GatewayError):
    status = 404
    code = "model_not_found"


def model_not_found(name: str) -> ModelNotFound:
    """The one answer for a model that does not exist and for one the key may not see, so that
    a key cannot tell which names exist."""
    return ModelNotFound(f"The model '{name}' does not exist or is not admitted", param="model")


class RouteNotFound(GatewayError):
    status = 404
    code = "not_found"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "method_not_allowed"


class TooLarge(GatewayError):
    status = 413
    code = "request_too_large"


class TooManyRequests(GatewayError):
    status = 429
    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: float, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.headers = {"Retry-After": str(max(1, round(retry_after + 0.499)))}


class Timeout(GatewayError):
    status = 504
    type = "timeout_error"
    code = "request_timeout"


class ModelLoadRefused(GatewayError):
    """The model's bytes no longer match its admitted manifest, or it cannot be loaded."""

    status = 503
    type = "model_load_error"

    def __init__(self, message: str, *, code: str = "model_integrity_mismatch") -> None:
        super().__init__(message)
        self.code = code


class InternalError(GatewayError):
    """An exception no handler expected: the client learns only that, the log gets the rest."""

    status = 500
    type = "server_error"
    code = "internal_error"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_unavailable"


class BodyTimeout(GatewayError):
    """The request body did not arrive in time (a slow or stalled client)."""

    status = 408
    type = "timeout_error"
    code = "request_body_timeout"


class Overloaded(GatewayError):
    """The server holds as many connections as it may."""

    status = 503
    type = "server_error"
    code = "server_overloaded"


class LimitsUnavailable(GatewayError):
    """Rate limits are kept in Redis, which does not answer, and the gateway fails closed."""

    status = 503
    type = "server_error"
    code = "rate_limits_unavailable"


class ClientClosed(GatewayError):
    """The client went away before the answer (nginx's 499): recorded in usage and metrics,
    never sent."""

    status = 499
    type = "client_closed_request"
    code = "client_closed_request"


class StreamFailed(GatewayError):
    """An unexpected failure after a stream started: its last event, in place of [DONE]."""

    status = 500
    type = "server_error"
    code = "internal_error"
