"""A fake OpenAI-compatible chat completions API: HTTP/1.1, chunked SSE `data:` lines ending in `[DONE]`.

Without a scripted reply it answers like a tool-using model: while the conversation has no tool
results it calls every offered tool (two calls when two tools are offered, their argument JSON
split across chunks), and once results are back it answers in text. Streamed bodies are cut
into small writes, so events and UTF-8 characters straddle chunk boundaries.
"""
import json

from tests.fake_upstream import FakeUpstream, Reply, Seen

MODEL = "gpt-4o-mini"
USAGE = {"prompt_tokens": 120, "completion_tokens": 17, "total_tokens": 137,
         "prompt_tokens_details": {"cached_tokens": 100}}
ANSWER = "It is sunny in Paris — 21 °C. ☀️"
PREAMBLE = "Let me check."
WRITE_SIZE = 23


def data_line(payload) -> bytes:
    """One SSE event as OpenAI frames it: a `data:` line and a blank line."""
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None) -> dict:
    """One chat.completion.chunk."""
    data = {"id": "chatcmpl-fake01", "object": "chat.completion.chunk", "created": 1764547200, "model": MODEL,
            "choices": [] if usage else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    if usage:
        data["usage"] = usage
    return data


def tool_calls_for(request: dict) -> list[dict]:
    """The calls the fake model makes: one per offered tool, with a city argument."""
    return [{"id": f"call_fake{number}", "name": tool["function"]["name"],
             "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}
            for number, tool in enumerate(request.get("tools") or [])]


def stream_events(request: dict) -> list[bytes]:
    """The events of a streamed reply; tool calls interleave in one chunk where one ends and the next begins."""
    events = [chunk({"role": "assistant", "content": ""})]
    calls = [] if any(m.get("role") == "tool" for m in request["messages"]) else tool_calls_for(request)
    text = PREAMBLE if calls else ANSWER
    events += [chunk({"content": text[i:i + 5]}) for i in range(0, len(text), 5)]
    for number, call in enumerate(calls):
        pieces = [call["arguments"][i:i + 6] for i in range(0, len(call["arguments"]), 6)]
        start = {"index": number, "id": call["id"], "type": "function",
                 "function": {"name": call["name"], "arguments": ""}}
        if number and events[-1]["choices"][0]["delta"].get("tool_calls"):
            events[-1]["choices"][0]["delta"]["tool_calls"].append(start)  # previous call's last piece, same chunk
        else:
            events.append(chunk({"tool_calls": [start]}))
        events += [chunk({"tool_calls": [{"index": number, "function": {"arguments": piece}}]}) for piece in pieces]
    events.append(chunk(finish="tool_calls" if calls else "stop"))
    events.append(chunk(usage=USAGE))
    return [data_line(event) for event in events] + [data_line("[DONE]")]


def completion(request: dict) -> dict:
    """A non-streamed chat.completion."""
    calls = [] if any(m.get("role") == "tool" for m in request["messages"]) else tool_calls_for(request)
    message = {"role": "assistant", "content": PREAMBLE if calls else ANSWER}
    if calls:
        message["tool_calls"] = [{"id": c["id"], "type": "function",
                                  "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]
    return {"id": "chatcmpl-fake02", "object": "chat.completion", "created": 1764547200, "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": USAGE}


def split_writes(events: list[bytes], size: int = WRITE_SIZE) -> list[bytes]:
    """The stream cut into writes of `size` bytes, regardless of event or character boundaries."""
    body = b"".join(events)
    return [body[i:i + size] for i in range(0, len(body), size)]


def error_reply(status: int, message: str) -> Reply:
    """An OpenAI-style error response."""
    body = {"error": {"message": message, "type": "requests", "param": None, "code": None}}
    return Reply(status=status, chunks=[json.dumps(body).encode()], content_type="application/json")


class FakeOpenAI(FakeUpstream):
    """The server; `seen` holds the requests, `reply()` scripts answers like the Anthropic fake's."""

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            scripted = self.queue.pop(0) if self.queue else Reply()
        if scripted.chunks is not None:
            return scripted
        request = seen.json()
        scripted.headers = {"x-request-id": f"req_openai_{len(self.seen)}", **scripted.headers}
        if request.get("stream"):
            scripted.chunks, scripted.content_type = split_writes(stream_events(request)), "text/event-stream"
        else:
            scripted.chunks = [json.dumps(completion(request)).encode()]
            scripted.content_type = "application/json"
        return scripted
