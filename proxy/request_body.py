"""Reading a client's request body whole: a size cap, a deadline, and a framing that must add up."""
import socket
from contextlib import nullcontext

from gevent import Timeout, monkey


class BodyTooLarge(ValueError):
    """The body is over the size limit."""


class BodyIncomplete(ValueError):
    """The body ended before its declared length, or its chunked framing is broken."""


class BodyTimeout(Exception):
    """The body did not arrive within its deadline."""


def read_body(request, max_bytes: int, deadline: float | None) -> bytes:
    """The whole body of a Flask request, at most `max_bytes`, received within `deadline` seconds."""
    declared = request.content_length
    if (declared or 0) > max_bytes:
        raise BodyTooLarge()
    try:
        with _deadline(deadline):
            if declared is not None:
                # The server's own stream, which stops at the declared length: werkzeug's wrapper
                # around it allocated max_bytes + 1 and copied the body through two more buffers.
                body = request.environ["wsgi.input"].read(declared)
            else:  # chunked: werkzeug's stream enforces the limit as the chunks come
                body = request.stream.read(max_bytes + 1)
    except BodyTimeout:
        _stop_reading(request)  # what the client still sends is not read: the connection ends
        raise
    except Exception as exc:  # gunicorn's parse errors for a broken chunk, a reset connection
        _stop_reading(request)
        raise BodyIncomplete(f"the body could not be read: {type(exc).__name__}") from None
    if len(body) > max_bytes:
        raise BodyTooLarge()
    if declared is not None and len(body) < declared:
        raise BodyIncomplete(f"Content-Length is {declared} but the body ended after {len(body)} bytes")
    return body


def _deadline(seconds: float | None):
    # Only a gevent worker's reads can be interrupted by a timer; a plain thread (the test server)
    # reads without a deadline.
    if not seconds or not monkey.is_module_patched("socket"):
        return nullcontext()
    return Timeout(seconds, BodyTimeout)


def _stop_reading(request) -> None:
    # gunicorn would otherwise read the rest of the body before it closes the connection; a client
    # that sends a byte every few seconds would hold it for as long again.
    client = request.environ.get("gunicorn.socket")
    if client is not None:
        try:
            client.shutdown(socket.SHUT_RD)
        except OSError:
            pass
