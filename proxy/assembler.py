"""Rebuilds an Anthropic message from its stream events: content blocks, usage, stop reason, errors."""
import json
from typing import ClassVar

import msgspec

from proxy.sse import Event
from proxy.usage import USAGE_KEYS, merge_usage

__all__ = ["USAGE_KEYS", "MessageAssembler", "json_value", "usage_of"]
# Delta type -> the block field its string is appended to.
TEXT_DELTAS = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}


# The deltas of `content_block_delta`, most of a stream's events, read straight into these types by
# `add_raw`; an event they do not fit (another delta, a wrong type, a missing field...) goes
# through `add` instead, which reads any JSON. Each holds its string as `value`, its field `field`.
class _TextDelta(msgspec.Struct, tag="text_delta", rename={"value": "text"}):
    value: str = ""
    field: ClassVar[str] = "text"


class _ThinkingDelta(msgspec.Struct, tag="thinking_delta", rename={"value": "thinking"}):
    value: str = ""
    field: ClassVar[str] = "thinking"


class _SignatureDelta(msgspec.Struct, tag="signature_delta", rename={"value": "signature"}):
    value: str = ""
    field: ClassVar[str] = "signature"


class _JsonDelta(msgspec.Struct, tag="input_json_delta", rename={"value": "partial_json"}):
    value: str = ""
    field: ClassVar[None] = None


class _ContentBlockDelta(msgspec.Struct, tag="content_block_delta"):
    delta: _TextDelta | _ThinkingDelta | _SignatureDelta | _JsonDelta
    index: int = 0


_content_block_delta = msgspec.json.Decoder(_ContentBlockDelta).decode


class MessageAssembler:
    """Accumulates `message_start` ... `message_stop` into the message a non-streaming call returns."""

    def __init__(self):
        self.message: dict | None = None
        self.usage: dict = {}
        self.error: str | None = None
        self.stopped = False
        self._blocks: dict[int, dict] = {}
        self._json_parts: dict[int, list[str]] = {}
        # (block index, field) -> the deltas' strings, joined once in `result`: adding each one
        # to the string so far copied a long reply thousands of times over.
        self._text_parts: dict[tuple[int, str], list[str]] = {}

    def add(self, event: Event) -> None:
        """Apply one event; malformed data is ignored (the client got it verbatim anyway)."""
        if event.event == "ping":
            return
        try:
            data = json_value(event.data) if event.data else {}
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        kind = data.get("type") or event.event
        handler = getattr(self, "_on_" + str(kind), None)
        if handler is not None:
            try:
                handler(data)
            except (TypeError, AttributeError, KeyError, ValueError):
                # Wrong types inside an event ("text": null): this copy is bookkeeping, and the
                # client already has the bytes; skip the event rather than fail the stream.
                return

    def add_raw(self, events: list[tuple[bytes, bytes]]) -> None:
        """Apply events given as undecoded (event name, data) bytes: the same as `add` on each."""
        blocks, text_parts, json_parts = self._blocks, self._text_parts, self._json_parts
        last = parts = None  # the (index, field) of the delta before, and the list its string went to
        for name, data in events:
            if name == b"content_block_delta":
                try:
                    event = _content_block_delta(data)
                except msgspec.DecodeError:  # or its ValidationError: `add` reads it its own way
                    pass
                else:
                    delta = event.delta
                    if (event.index, delta.field) != last:
                        last = index, field = event.index, delta.field
                        if index not in blocks:
                            blocks[index] = {}
                        if field is None:
                            parts = json_parts.setdefault(index, [])
                        else:
                            parts = text_parts.setdefault(last, [])
                    parts.append(delta.value)
                    continue
            elif name == b"ping":
                continue
            last = None  # `add` may end a block (content_block_stop takes its JSON parts away)
            self.add(Event(name.decode("utf-8", "replace") or "message", data.decode("utf-8", "replace")))

    def _on_message_start(self, data):
        self.message = dict(data.get("message") or {})
        merge_usage(self.usage, self.message.get("usage"))

    def _on_content_block_start(self, data):
        index = data.get("index", len(self._blocks))
        self._blocks[index] = dict(data.get("content_block") or {})

    def _on_content_block_delta(self, data):
        index = data.get("index", 0)
        block = self._blocks.setdefault(index, {})
        delta = data.get("delta") or {}
        kind = delta.get("type")
        field = TEXT_DELTAS.get(kind)
        if field is not None:
            text = delta.get(field, "")
            if not isinstance(text, str):
                raise TypeError(f"{kind} without a string {field}")
            self._text_parts.setdefault((index, field), []).append(text)
        elif kind == "input_json_delta":
            self._json_parts.setdefault(data.get("index", 0), []).append(delta.get("partial_json", ""))
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))

    def _on_content_block_stop(self, data):
        index = data.get("index", 0)
        parts = self._json_parts.pop(index, None)
        if parts is not None:
            raw = "".join(parts)
            try:
                self._blocks.setdefault(index, {})["input"] = json_value(raw) if raw else {}
            except ValueError:
                self._blocks.setdefault(index, {})["input"] = raw

    def _on_message_delta(self, data):
        delta = data.get("delta") or {}
        if self.message is None:
            self.message = {}
        for key in ("stop_reason", "stop_sequence"):
            if key in delta:
                self.message[key] = delta[key]
        # message_delta carries cumulative counts; a null must not erase message_start's figure.
        merge_usage(self.usage, data.get("usage"))

    def _on_message_stop(self, data):
        self.stopped = True

    def _on_error(self, data):
        error = data.get("error") or {}
        self.error = f"{error.get('type', 'error')}: {error.get('message', '')}".strip()

    @property
    def stop_reason(self) -> str | None:
        """The stop reason from `message_delta`, if one arrived."""
        return (self.message or {}).get("stop_reason")

    def result(self) -> dict | None:
        """The reassembled message (None if the stream never started one)."""
        if self.message is None:
            return None
        for index in list(self._json_parts):  # tool input cut off before content_block_stop
            self._on_content_block_stop({"index": index})
        for (index, field), parts in self._text_parts.items():
            block = self._blocks.setdefault(index, {})
            start = block.get(field)  # what content_block_start said, normally ""
            block[field] = (start if isinstance(start, str) else "") + "".join(parts)
        self._text_parts.clear()
        message = dict(self.message)
        message["content"] = [self._blocks[i] for i in sorted(self._blocks)]
        message["usage"] = dict(self.usage)
        return message


def json_value(text: str):
    """json.loads(text), faster (msgspec) for the strict JSON an event carries."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)  # NaN, lone surrogates...: json's own reading, or its ValueError


def usage_of(message: dict) -> dict:
    """The usage figures of a non-streaming response body."""
    usage = message.get("usage") if isinstance(message, dict) else None
    return usage if isinstance(usage, dict) else {}
