"""A captures file read back into calls: the proxy's own answers of GET /api/requests/<id>, in recorded order.

The file is a JSON array of those answers (what bench.capture_export writes) or one answer a line
(NDJSON); an answer may be the whole `{"request": ..., "fullId": ...}` or its `request` alone. The
API embeds a stored JSON body as the bytes stored, so its bytes are read raw, not decoded and encoded
again; a body stored as text (an SSE stream) is a JSON string.
"""
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from bench.claude_session import Call


class CapturesError(ValueError):
    """The captures file cannot be replayed; the message says where and why."""


class _Response(msgspec.Struct):
    headers: msgspec.Raw = msgspec.Raw()
    body: msgspec.Raw = msgspec.Raw()
    message: msgspec.Raw = msgspec.Raw()


class _Record(msgspec.Struct):
    timestamp: str
    headers: msgspec.Raw = msgspec.Raw()
    body: msgspec.Raw = msgspec.Raw()
    requestBodyTruncated: bool | None = None  # noqa: N815 - the API's field names
    response: _Response = msgspec.field(default_factory=_Response)


class _Answer(msgspec.Struct):
    request: msgspec.Raw = msgspec.Raw()


@dataclass(frozen=True)
class Captures:
    """The calls to replay, oldest first, and the records left out or cut short."""

    calls: list[Call]
    without_body: int  # records whose request body was not stored (bodyCapture, retention)
    truncated: int     # records whose request body was stored cut at bodyMaxBytes


def _bytes(raw: msgspec.Raw) -> bytes:
    """A body as relayed: embedded JSON as it is, a JSON string as its text's UTF-8 bytes."""
    data = bytes(raw)
    if data in (b"", b"null"):
        return b""
    if data[:1] == b'"':
        return json.loads(data).encode("utf-8", "surrogatepass")  # stored text may hold lone surrogates
    return data


def _value_bytes(value) -> bytes:
    """A body json.loads decoded, as bytes again: a string as its text, other JSON compact."""
    if value is None or isinstance(value, str):
        return (value or "").encode("utf-8", "surrogatepass")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _fields(data: bytes) -> tuple[str, bool, list[bytes]]:
    """(timestamp, request body truncated, FIELDS as relayed) of one detail answer."""
    try:
        answer = msgspec.json.decode(data, type=_Answer)
        record = msgspec.json.decode(bytes(answer.request) if answer.request else data, type=_Record)
        response = record.response
        return record.timestamp, bool(record.requestBodyTruncated), [_bytes(raw) for raw in (
            record.headers, record.body, response.headers, response.body, response.message)]
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError:
        pass
    # msgspec refuses a lone surrogate, which an older record's stored text may hold and json.loads
    # takes; that record's JSON bodies come back compact, not as their exact bytes.
    value = json.loads(data)
    record = value.get("request", value) if isinstance(value, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("timestamp"), str) \
            or not isinstance(record.get("response", {}), dict):
        raise msgspec.ValidationError("a detail answer is an object with a timestamp and a response object")
    response = record.get("response", {})
    return record["timestamp"], bool(record.get("requestBodyTruncated")), [_value_bytes(value) for value in (
        record.get("headers"), record.get("body"), response.get("headers"), response.get("body"),
        response.get("message"))]


def _text(data: bytes) -> str:
    """Stored JSON text (headers, a rebuilt message) as text again; stored text may hold lone surrogates."""
    return data.decode("utf-8", "surrogatepass")


def _record(data: bytes, where: str) -> tuple[datetime, bool, list[bytes]]:
    try:
        timestamp, truncated, fields = _fields(data)
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)), truncated, fields  # the API writes UTC
    except msgspec.ValidationError as exc:
        raise CapturesError(f"{where}: not a recorded request as GET /api/requests/<id> answers it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CapturesError(f"{where}: not JSON ({exc})") from None
    except ValueError as exc:
        raise CapturesError(f"{where}: timestamp is not ISO 8601 ({exc})") from None


def _items(path: Path) -> list[tuple[str, bytes]]:
    """(where, JSON text) of each answer in the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CapturesError(f"{path}: cannot read it ({exc.strerror})") from None
    if data.lstrip()[:1] == b"[":
        try:
            items = msgspec.json.decode(data, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            raise CapturesError(f"{path}: starts as a JSON array but is not one ({exc})") from None
        return [(f"{path} item {n}", bytes(item)) for n, item in enumerate(items, 1)]
    return [(f"{path} line {n}", line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]


def read_captures(path: str | Path) -> Captures:
    """The file's recorded calls in recorded order (by timestamp); CapturesError if it cannot be read."""
    path = Path(path)
    records = [_record(data, where) for where, data in _items(path)]
    if not records:
        raise CapturesError(f"{path}: holds no recorded requests")
    records.sort(key=lambda item: item[0])  # a stable sort: records of one millisecond keep the file's order
    calls, without_body, truncated = [], 0, 0
    for _, cut, (request_headers, body, response_headers, response_body, message) in records:
        if not body:
            without_body += 1
            continue
        truncated += cut
        calls.append(Call(request_headers=_text(request_headers) or "{}", request_body=body,
                          response_headers=_text(response_headers) or None, response_body=response_body,
                          response_message=_text(message) or None))
    if not calls:
        raise CapturesError(f"{path}: none of its {len(records)} records kept its request body")
    return Captures(calls, without_body, truncated)
