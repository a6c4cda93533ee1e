"""What the load client sends and what the fake upstream answers: a Claude Code-like request and its events.

Both sides import this module, so the client knows exactly which events a stream must carry.
"""
import hashlib
import json
import random
import uuid

MODEL = "claude-sonnet-4-5-20250929"
# Headers the upstream reads to shape its answer; the proxy forwards them like any end-to-end header.
EVENTS_HEADER = "x-bench-events"
INTERVAL_HEADER = "x-bench-interval-ms"
# Every event's data carries its sequence number and the upstream's CLOCK_MONOTONIC send time
# (system-wide on Linux, so the client in another process can subtract it from its own clock).
SEQ_KEY = "bench_seq"
STAMP_KEY = "bench_ns"
# message_start, content_block_start, (deltas...), content_block_stop, message_delta, message_stop
FIXED_EVENTS = 5
USAGE = {"input_tokens": 1843, "cache_creation_input_tokens": 412, "cache_read_input_tokens": 48211,
         "output_tokens": 1, "service_tier": "standard"}
DELTA_TEXT = "Let me look at the relay code fir"

_WORDS = ("the proxy relays each event as it arrives and records the exchange without blocking "
          "stream client upstream gevent worker request response header body token cache usage "
          "function return value error test file path line change commit branch review").split()


def body_digest(data: bytes = b""):
    """The hash bodies are compared by (`.hexdigest()`): the client's, the upstream's and the records'."""
    return hashlib.blake2b(data, digest_size=16)


def event_names(events: int) -> list[str]:
    """The event names, in order, of a stream of `events` events (at least FIXED_EVENTS + 1)."""
    deltas = max(events - FIXED_EVENTS, 1)
    return (["message_start", "content_block_start"] + ["content_block_delta"] * deltas
            + ["content_block_stop", "message_delta", "message_stop"])


def event_templates(events: int) -> list[tuple[bytes, str]]:
    """Per event, its `event:` line and its data JSON minus the closing brace (stamps go there)."""
    message = {"id": "msg_bench01", "type": "message", "role": "assistant", "model": MODEL,
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": USAGE}
    data = {
        "message_start": {"type": "message_start", "message": message},
        "content_block_start": {"type": "content_block_start", "index": 0,
                                "content_block": {"type": "text", "text": ""}},
        "content_block_delta": {"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": DELTA_TEXT}},
        "content_block_stop": {"type": "content_block_stop", "index": 0},
        "message_delta": {"type": "message_delta",
                          "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                          "usage": {"output_tokens": 27 * events}},
        "message_stop": {"type": "message_stop"},
    }
    return [(f"event: {name}\n".encode(), json.dumps(data[name], separators=(",", ":"))[:-1])
            for name in event_names(events)]


def message_json() -> bytes:
    """The body of a non-streaming answer."""
    return json.dumps({
        "id": "msg_bench02", "type": "message", "role": "assistant", "model": MODEL,
        "content": [{"type": "text", "text": DELTA_TEXT * 20}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {**USAGE, "output_tokens": 540},
    }).encode()


def _prose(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def request_body(stream: bool, size: int = 50_000, seed: int = 1) -> bytes:
    """A Claude Code-shaped Messages request of about `size` bytes: system blocks, tools, a long history."""
    rng = random.Random(seed)
    session = str(uuid.UUID(int=rng.getrandbits(128)))
    tools = [{"name": name, "description": _prose(rng, 60), "input_schema": {
        "type": "object", "properties": {"file_path": {"type": "string", "description": _prose(rng, 12)},
                                         "content": {"type": "string"}},
        "required": ["file_path"]}} for name in ("Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task")]
    body = {
        "model": MODEL,
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                   {"type": "text", "text": _prose(rng, 600), "cache_control": {"type": "ephemeral"}}],
        "messages": [],
        "tools": tools,
        "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": str(uuid.UUID(int=7)),
                                            "session_id": session})},
        "thinking": {"type": "enabled", "budget_tokens": 16000},
        "stream": stream,
    }
    turn = 0
    # The whole history is resent every turn: grow it until the body reaches the wanted size.
    while len(json.dumps(body)) < size:
        body["messages"].append({"role": "user", "content": [{"type": "text", "text": _prose(rng, 80)}]})
        body["messages"].append({"role": "assistant", "content": [
            {"type": "text", "text": _prose(rng, 40)},
            {"type": "tool_use", "id": f"toolu_{turn:04d}", "name": "Read",
             "input": {"file_path": f"/home/dev/project/src/module_{turn}.py"}}]})
        body["messages"].append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{turn:04d}", "content": _prose(rng, 150)}]})
        turn += 1
    body["messages"].append({"role": "user", "content": [{"type": "text", "text": "Now benchmark it."}]})
    return json.dumps(body).encode()


def request_headers(events: int, interval_ms: float) -> dict[str, str]:
    """Headers as Claude Code sends them, plus the two that shape the upstream's stream."""
    return {
        "x-api-key": "sk-ant-api03-bench-not-a-real-key",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": ("claude-code-20250219,interleaved-thinking-2025-05-14,"
                           "context-management-2025-06-27"),
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": "claude-cli/2.1.0 (external, cli)",
        "x-app": "cli",
        "x-claude-code-session-id": "7c0b8a52-1f7e-4c55-9a51-6f3f3c0e0a11",
        "x-stainless-lang": "js",
        "x-stainless-retry-count": "0",
        EVENTS_HEADER: str(events),
        INTERVAL_HEADER: str(interval_ms),
    }
