"""Facts the proxy needs from a request body, read without rewriting the bytes."""
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec

_LEGACY_SESSION = re.compile(r"_session_([0-9a-fA-F-]{36})")


class InvalidBody(ValueError):
    """The body is not the JSON object the endpoint expects."""


@dataclass(frozen=True)
class RequestInfo:
    # Only these facts are kept: the parsed body itself weighs several times its bytes,
    # and a stream can stay open for minutes.
    model: str | None = None
    stream: bool = False
    message_count: int | None = None
    conversation_hash: str | None = None
    session_id: str | None = None
    # What routing rules look at; filled only when rules are configured (see `routing_facts`).
    thinking: bool = False
    tool_names: tuple[str, ...] = ()
    input_tokens_estimate: int = 0


def parse_json_body(raw: bytes, required: bool) -> dict | None:
    """Decode a JSON object body. Where JSON is `required` (the Messages API), a missing or
    malformed body raises InvalidBody; elsewhere (files, batches) it just yields no facts."""
    if not raw.strip():
        if required:
            raise InvalidBody("Request body is empty; a JSON object is required")
        return None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if required:
            raise InvalidBody(f"Request body is not valid JSON: {exc}") from None
        return None
    if not isinstance(body, dict):
        if required:
            raise InvalidBody("Request body must be a JSON object")
        return None
    return body


class BodyHead(msgspec.Struct):
    """The top-level fields `request_info` reads; the messages stay encoded, one JSON value each."""

    model: Any = None
    stream: Any = None
    messages: list[msgspec.Raw] | None = None
    metadata: Any = None


_read_head = msgspec.json.Decoder(BodyHead).decode


def parse_json_head(raw: bytes, required: bool) -> dict | None:
    """What `parse_json_body` would give for the fields `request_info` reads, the messages still
    encoded: the body is checked whole, but only those fields become Python objects."""
    # json.loads built every object of a body of tens of KB (on the hub, before the first byte) to
    # read four fields; msgspec checks the same syntax while skipping the rest.
    try:
        head = _read_head(raw)
        if not raw.isascii():
            raw.decode("utf-8")  # msgspec passes over the bytes of skipped strings unchecked
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        # Not a plain JSON object of this shape (malformed, a BOM, NaN, `messages` not a list...):
        # the standard parser decides, and words any error.
        return parse_json_body(raw, required)
    return {"model": head.model, "stream": head.stream, "messages": head.messages, "metadata": head.metadata}


def request_info(body: dict | None, session_header: str | None = None,
                 routing_size: int | None = None) -> RequestInfo:
    """Model, stream, counts, conversation and session of a body; given its size, routing facts too."""
    if body is None:
        return RequestInfo(session_id=session_header or None)
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else None
    model = body.get("model")
    return RequestInfo(
        model=model if isinstance(model, str) else None,
        stream=body.get("stream") is True,
        message_count=len(messages) if messages is not None else None,
        conversation_hash=conversation_hash(messages or []),
        session_id=session_header or session_from_metadata(body.get("metadata")),
        **(routing_facts(body, routing_size) if routing_size is not None else {}),
    )


def routing_facts(body: dict, size: int) -> dict:
    """Thinking on, offered tool names and an input size estimate (about 4 bytes of JSON a token)."""
    thinking = body.get("thinking")
    tools = body.get("tools")
    names = tuple(tool["name"] for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)) \
        if isinstance(tools, list) else ()
    return {
        "thinking": isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"),
        "tool_names": names,
        "input_tokens_estimate": size // 4,
    }


def conversation_hash(messages: list) -> str | None:
    """A stable hash of the first user message's text, shared by every turn of one conversation."""
    try:
        first = next((m for m in _decoded(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
        if first is None:
            return None
        content = first.get("content")
        if isinstance(content, list):
            # Hash text only: Claude Code moves cache_control markers between turns.
            texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
            content = "\n".join(texts) if texts else json.dumps(
                [{k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b
                 for b in content], sort_keys=True)
    except RecursionError:  # nested close to the decoder's own limit: no conversation to tell
        return None
    return hashlib.sha256(str(content).encode("utf-8", "replace")).hexdigest()[:16]


def _decoded(messages: list):
    """The messages as Python objects, each decoded only when reached (see `parse_json_head`)."""
    for message in messages:
        yield msgspec.json.decode(message) if isinstance(message, msgspec.Raw) else message


def session_from_metadata(metadata) -> str | None:
    """The session id inside `metadata.user_id` (a JSON-encoded string, or the older flat form)."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("user_id"), str):
        return None
    user_id = metadata["user_id"]
    try:
        decoded = json.loads(user_id)
    except (ValueError, RecursionError):  # any string a client likes, nested JSON too
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("session_id"), str):
        return decoded["session_id"]
    match = _LEGACY_SESSION.search(user_id)
    return match.group(1) if match else None
