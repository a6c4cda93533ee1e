"""OpenAI chat completion chunks -> an Anthropic event stream, emitted as the chunks arrive. Pure, no I/O."""
import json
import uuid

from proxy.routing.providers.openai_response import anthropic_usage, message_id, stop_reason, without_key
from proxy.relay import sse_error_event
from proxy.sse import SSEParser

ZERO_USAGE = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def event(kind: str, data: dict) -> bytes:
    """One Anthropic SSE event."""
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


class StreamTranslator:
    """Feeds on the provider's SSE bytes, returns Anthropic SSE bytes.

    Blocks are numbered in the order they start: text opens a text block, each new tool call
    (OpenAI `tool_calls[].index`) a tool_use block whose argument fragments become
    `input_json_delta`s on its own index. A text block stops when a tool call starts; tool_use
    blocks stop when the choice finishes, because a provider may still send arguments for an
    earlier call after a later one began, and a client reads a block's input at its stop.
    """

    def __init__(self, model: str, api_key: str | None = None):
        self.model = model
        self._api_key = api_key  # blanked out of error events, which the record keeps
        self.done = False
        self._parser = SSEParser()
        self._started = False
        self._blocks = 0                      # blocks started so far
        self._text: int | None = None         # the index of the open text block
        self._open: list[int] = []            # every open block, in index order
        self._tools: dict[int | None, int] = {}  # OpenAI tool call index -> block of its latest call
        self._tool_ids: dict[int, str] = {}   # tool_use block index -> its call id
        self._stop_reason: str | None = None
        self._usage = dict(ZERO_USAGE)

    def feed(self, chunk: bytes) -> bytes:
        """Translate the events this chunk completes."""
        out = []
        for sse in self._parser.feed(chunk):
            if self.done:
                break
            if sse.data.strip() == "[DONE]":
                out.append(self._end())
                continue
            try:
                data = json.loads(sse.data)
            except ValueError:
                continue  # keep-alive comments and junk carry nothing to translate
            if isinstance(data, dict):
                out.extend(self._chunk(data))
        return b"".join(out)

    def finish(self) -> bytes:
        """The events that end the stream once the provider's body has ended."""
        if self.done:
            return b""
        if self._stop_reason is None:
            self.done = True
            return self._start() + sse_error_event("the provider's stream ended before the message finished", mid_event=False)
        return self._end()

    def _start(self, data: dict | None = None) -> bytes:
        if self._started:
            return b""
        self._started = True
        data = data or {}
        return event("message_start", {"message": {
            "id": message_id(data.get("id")), "type": "message", "role": "assistant",
            "model": data.get("model") or self.model, "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": dict(ZERO_USAGE)}})

    def _chunk(self, data: dict) -> list[bytes]:
        if isinstance(data.get("error"), (dict, str)):
            error = data["error"]
            self.done = True
            message = error.get("message", "provider error") if isinstance(error, dict) else error
            return [self._start(), sse_error_event(without_key(str(message), self._api_key), mid_event=False)]
        out = [self._start(data)]
        if isinstance(data.get("usage"), dict):
            self._usage = anthropic_usage(data["usage"])
        choices = data.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        if isinstance(delta.get("content"), str) and delta["content"]:
            out.append(self._text_delta(delta["content"]))
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                out.append(self._tool_call(call))
        if choice.get("finish_reason"):
            self._stop_reason = stop_reason(choice["finish_reason"], called_tools=bool(self._tools))
            out.append(self._close_all())
        return out

    def _text_delta(self, text: str) -> bytes:
        out = b""
        if self._text is None:
            out = self._start_block({"type": "text", "text": ""})
            self._text = self._open[-1]
        return out + event("content_block_delta", {"index": self._text,
                                                   "delta": {"type": "text_delta", "text": text}})

    def _tool_call(self, call: dict) -> bytes:
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        slot = call["index"] if isinstance(call.get("index"), int) else None
        call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else None
        block = self._tools.get(slot)
        out = b""
        # A new id is a new call even under a known index: some servers leave `index` out, or
        # give every call index 0; joining their arguments would make one broken input.
        if block is None or (call_id is not None and call_id != self._tool_ids[block]):
            if self._text is not None:  # text after this call is a new block
                out = event("content_block_stop", {"index": self._text})
                self._open.remove(self._text)
                self._text = None
            call_id = call_id or f"toolu_{uuid.uuid4().hex[:24]}"
            out += self._start_block({"type": "tool_use", "id": call_id, "name": function.get("name") or "", "input": {}})
            block = self._tools[slot] = self._open[-1]
            self._tool_ids[block] = call_id
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            out += event("content_block_delta", {"index": block,
                                                 "delta": {"type": "input_json_delta", "partial_json": arguments}})
        return out

    def _start_block(self, block: dict) -> bytes:
        index = self._blocks
        self._blocks += 1
        self._open.append(index)
        return event("content_block_start", {"index": index, "content_block": block})

    def _close_all(self) -> bytes:
        out = b"".join(event("content_block_stop", {"index": index}) for index in self._open)
        self._open, self._text = [], None
        return out

    def _end(self) -> bytes:
        self.done = True
        return b"".join([self._start(), self._close_all(), event("message_delta", {
            "delta": {"stop_reason": self._stop_reason or "end_turn", "stop_sequence": None},
            "usage": self._usage}), event("message_stop", {})])


def message_events(message: dict) -> bytes:
    """A whole Anthropic message as its event stream (a provider that answered a stream with JSON)."""
    out = [event("message_start", {"message": {**message, "content": [], "stop_reason": None,
                                                "usage": dict(ZERO_USAGE)}})]
    for index, block in enumerate(message.get("content") or []):
        if block.get("type") == "text":
            out += [event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}),
                    event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": block["text"]}})]
        else:
            out += [event("content_block_start", {"index": index, "content_block": {**block, "input": {}}}),
                    event("content_block_delta", {"index": index, "delta": {
                        "type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {})}})]
        out.append(event("content_block_stop", {"index": index}))
    out += [event("message_delta", {"delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": None},
                                    "usage": message.get("usage") or {}}), event("message_stop", {})]
    return b"".join(out)
