"""A synthetic Claude Code session, turn by turn: the bytes each call sends and receives.

Shaped like Claude Code's traffic (FIELD-NOTES): a 17 KB system prompt, 16 tools, about 2.5 KB of
new history a turn, the whole history re-sent every turn, and the cache_control marker on the
newest message only (so the previous newest message changes between two turns). Texts are cut
from this repository's own sources, so they compress like real code and prose, not like a
repeated word list.
"""
import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-sonnet-4-5-20250929"
CACHE = {"type": "ephemeral", "ttl": "1h"}


@dataclass
class Call:
    """One model call: what the client sent and what the upstream answered (all as relayed)."""

    request_headers: str
    request_body: bytes
    response_headers: str
    response_body: bytes
    response_message: str


def _corpus() -> str:
    files = sorted(p for folder in ("proxy", "models", "api", "bench") for p in (ROOT / folder).rglob("*.py"))
    return "\n".join(p.read_text() for p in files)


class _Texts:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.corpus = _corpus()

    def cut(self, size: int) -> str:
        start = self.rng.randrange(0, len(self.corpus) - size)
        return self.corpus[start:start + size]


def _tools(texts: _Texts) -> list[dict]:
    names = ("Task", "Bash", "Glob", "Grep", "ExitPlanMode", "Read", "Edit", "MultiEdit", "Write",
             "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell", "SlashCommand")
    return [{"name": name, "description": texts.cut(1500), "input_schema": {
        "type": "object", "$schema": "http://json-schema.org/draft-07/schema#", "additionalProperties": False,
        "properties": {"file_path": {"type": "string", "description": texts.cut(120)},
                       "content": {"type": "string", "description": texts.cut(80)}},
        "required": ["file_path"]}} for name in names]


def _with_marker(message: dict, marked: bool) -> dict:
    """`message` with cache_control on its last block (marked) or on none."""
    blocks = [dict(block) for block in message["content"]]
    for block in blocks:
        block.pop("cache_control", None)
    if marked:
        blocks[-1]["cache_control"] = CACHE
    return {"role": message["role"], "content": blocks}


def _sse(message: dict) -> bytes:
    """The stream that delivers `message`: text in small deltas, tool input as JSON deltas."""
    events = [("message_start", {"type": "message_start", "message": {
        **{k: v for k, v in message.items() if k != "content"}, "content": [], "stop_reason": None}})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
            text = block["text"]
            events += [("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "text_delta", "text": text[i:i + 40]}})
                       for i in range(0, len(text), 40)]
        else:
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {**block, "input": {}}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                                     "usage": message["usage"]}))
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
                   for name, data in events).encode()


def session(turns: int = 120, seed: int = 7, result_bytes: int = 1600) -> list[Call]:
    """The calls of a `turns`-turn session, oldest first; each tool result holds `result_bytes`."""
    texts = _Texts(seed)
    rng = texts.rng
    session_id = str(uuid.UUID(int=rng.getrandbits(128)))
    system = [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
               "cache_control": CACHE},
              {"type": "text", "text": texts.cut(17_000), "cache_control": CACHE}]
    tools = _tools(texts)
    headers = json.dumps({"anthropic-version": "2023-06-01", "x-api-key": "fp:3f9c2a1b",
                          "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,"
                                            "context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14",
                          "content-type": "application/json", "user-agent": "claude-cli/2.1.0 (external, cli)",
                          "x-app": "cli", "x-claude-code-session-id": session_id, "x-stainless-lang": "js",
                          "x-stainless-package-version": "0.60.0", "x-stainless-os": "Linux",
                          "x-stainless-arch": "x64", "x-stainless-runtime": "node",
                          "x-stainless-runtime-version": "v22.11.0", "x-stainless-retry-count": "0",
                          "x-stainless-timeout": "600", "accept": "application/json"})
    history: list[dict] = []
    user = {"role": "user", "content": [{"type": "text", "text": texts.cut(600)}]}
    calls = []
    for turn in range(turns):
        history.append(user)
        messages = [_with_marker(m, i == len(history) - 1) for i, m in enumerate(history)]
        body = {"model": MODEL, "messages": messages, "system": system, "tools": tools,
                "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": str(uuid.UUID(int=7)),
                                                    "session_id": session_id})},
                "max_tokens": 32000, "thinking": {"type": "adaptive"}, "stream": True}
        tool_id = f"toolu_01{rng.getrandbits(64):016x}"
        reply = {"id": f"msg_01{rng.getrandbits(64):016x}", "type": "message", "role": "assistant",
                 "model": MODEL, "content": [
                     {"type": "text", "text": texts.cut(500)},
                     {"type": "tool_use", "id": tool_id, "name": "Read",
                      "input": {"file_path": f"/home/dev/project/src/module_{turn}.py"}}],
                 "stop_reason": "tool_use", "stop_sequence": None,
                 "usage": {"input_tokens": 4, "output_tokens": 180, "cache_read_input_tokens": 9000 + 600 * turn,
                           "cache_creation_input_tokens": 640}}
        response_headers = json.dumps({"content-type": "text/event-stream; charset=utf-8",
                                       "request-id": f"req_011C{rng.getrandbits(80):020x}",
                                       "date": f"Tue, 01 Dec 2026 10:{turn // 60:02d}:{turn % 60:02d} GMT",
                                       "anthropic-organization-id": str(uuid.UUID(int=9)),
                                       "anthropic-ratelimit-unified-5h-utilization": f"0.{turn:03d}",
                                       "anthropic-ratelimit-unified-status": "allowed",
                                       "via": "1.1 google", "cf-ray": f"{rng.getrandbits(64):016x}-LHR"})
        calls.append(Call(headers, json.dumps(body).encode(), response_headers, _sse(reply), json.dumps(reply)))
        history.append({"role": "assistant", "content": reply["content"]})
        user = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id,
                                             "content": texts.cut(result_bytes)}]}
    return calls
