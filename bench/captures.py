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
        return json.loads(data).encode("utf-8", "surrogatepass")  # json.loads takes the lone surrogates msgspec refuses
    return data


def _record(data: bytes, where: str) -> tuple[datetime, _Record]:
    try:
        answer = msgspec.json.decode(data, type=_Answer)
        record = msgspec.json.decode(bytes(answer.request) if answer.request else data, type=_Record)
        when = datetime.fromisoformat(record.timestamp.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)), record  # the API writes UTC
    except msgspec.ValidationError as exc:
        raise CapturesError(f"{where}: not a recorded request as GET /api/requests/<id> answers it ({exc})") from None
    except msgspec.DecodeError as exc:
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
    for _, record in records:
        body = _bytes(record.body)
        if not body:
            without_body += 1
            continue
        truncated += bool(record.requestBodyTruncated)
        response = record.response
        calls.append(Call(request_headers=_bytes(record.headers).decode() or "{}", request_body=body,
                          response_headers=_bytes(response.headers).decode() or None,
                          response_body=_bytes(response.body),
                          response_message=_bytes(response.message).decode() or None))
    if not calls:
        raise CapturesError(f"{path}: none of its {len(records)} records kept its request body")
    return Captures(calls, without_body, truncated)
