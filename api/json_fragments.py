"""JSON answers that embed stored JSON as it is: a 1 MB body is neither parsed nor encoded again.

A stored text is embedded only when json.loads (bounded_json) would read it as JSON, so callers
parse the same values as when it was decoded and encoded again; only key order and spacing differ.
"""
import re
import secrets

import msgspec
from flask import Response, current_app

from models import bounded_json


class Fragment:
    """JSON text (UTF-8 bytes) to be written into an answer as it is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


def fragment(data: bytes | None) -> Fragment | None:
    """`data` as a Fragment when it is UTF-8 JSON that bounded_json.loads reads; None otherwise."""
    if not data:
        return None
    try:
        if not data.isascii():
            data.decode("utf-8")
        # msgspec takes no NaN, lone surrogates or a BOM (json.loads does): those take the slow way.
        value = msgspec.json.decode(data)
    except (UnicodeDecodeError, msgspec.MsgspecError, RecursionError):
        return None
    return None if bounded_json.deeper_than(value, bounded_json.MAX_DEPTH) else Fragment(data)


def json_response(payload) -> Response:
    """What jsonify(payload) answers (compact), each Fragment in it written as its bytes."""
    provider = current_app.json
    marker, fragments = secrets.token_hex(16), []

    def default(value):
        if isinstance(value, Fragment):
            fragments.append(value.data)
            return f"{marker}{len(fragments) - 1}"
        return provider.default(value)

    text = provider.dumps(payload, default=default, separators=(",", ":"))
    parts = re.split(f'"{marker}([0-9]+)"', text)  # text, index, text, index, ..., text
    body = b"".join(fragments[int(part)] if odd else part.encode()
                    for odd, part in ((n % 2, part) for n, part in enumerate(parts)))
    return current_app.response_class(body + b"\n", mimetype=provider.mimetype)
