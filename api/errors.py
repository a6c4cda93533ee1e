"""The one error shape (the contract's ErrorResponse) for every error the proxy itself produces."""
import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException, default_exceptions

log = logging.getLogger(__name__)


def error_response(status: int, error: str, details: str | None = None):
    """A JSON ErrorResponse `{error, details}` with the given status."""
    body = {"error": error}
    if details:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def handle_http_error(exc: HTTPException):
    """Render any HTTP error raised anywhere in the app as an ErrorResponse (or the response it carries)."""
    if exc.response is not None:  # a shape chosen where it was raised (the Anthropic API's own, for /v1)
        return exc.response
    details = getattr(exc, "details", None)
    if details is None:  # werkzeug's own errors: the name is the short part, the description the long
        response = error_response(exc.code or 500, exc.name, exc.description)
    else:  # ours: a short description, and details saying exactly what is wrong
        response = error_response(exc.code or 500, exc.description or exc.name, details)
    allow = exc.get_headers() and dict(exc.get_headers()).get("Allow")
    if allow:  # a 405 says which methods would work
        response.headers["Allow"] = allow
    return response


def handle_unexpected_error(exc: Exception):
    """Log an unexpected exception; the client gets a generic ErrorResponse, never a traceback."""
    log.exception("unhandled error")
    return error_response(500, "Internal server error", "The error was logged by the proxy")


def register_error_handlers(app) -> None:
    """Make every error of `app` answer in the ErrorResponse shape."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def http_error(status: int, error: str, details: str) -> HTTPException:
    """The werkzeug HTTP error of `status` to raise, rendered as an ErrorResponse with `error` and `details`."""
    exc = default_exceptions[status](description=error)
    exc.details = details
    return exc
