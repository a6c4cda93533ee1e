"""Scripted model answers that walk the real Claude Code CLI through a session: tool calls, then a text answer.

A session is a list of `Step`s planned from the files of a throwaway project. The answer to a
request is the step numbered by the assistant messages its history already holds, so every turn
re-sends the growing conversation and the session ends, whatever happens, once the steps run out.
Only the model's answers are synthetic; what Claude Code sends is its own.
"""
import base64
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """One model answer: a thought, a sentence, and the tool calls (name, input) it ends with."""

    thinking: str
    text: str
    tools: list[tuple[str, dict]] = field(default_factory=list)


@dataclass(frozen=True)
class Session:
    """A prompt for `claude -p` and the answers that follow it; the last step has no tool calls."""

    name: str
    prompt: str
    steps: list[Step]


def _def_line(text: str) -> str | None:
    """A top-level `def` line that occurs once in `text`: an Edit's old_string that always matches."""
    for line in text.splitlines():
        if line.startswith("def ") and text.count(line) == 1:
            return line
    return None


def plan_sessions(root: Path, files: list[str], sizes: tuple[int, ...] = (24, 36, 48, 60),
                  seed: int = 18) -> list[Session]:
    """Sessions of about `sizes` model calls each over the project's `files` (paths relative to `root`)."""
    rng = random.Random(seed)
    sessions = []
    for number, size in enumerate(sizes):
        chosen, read = rng.sample(files, min(len(files), size)), []
        steps = [Step("Start by looking at the layout of the project.", "Let me look at the project first.",
                      [("Bash", {"command": "git status --short && find . -name '*.py' | sort | head -80",
                                 "description": "List the project's Python files"})])]
        for n, name in enumerate(chosen):
            if len(steps) >= size - 2:
                break
            path = str(root / name)
            read.append(name)
            calls = [("Read", {"file_path": path})]
            if n % 3 == 1:
                calls.append(("Bash", {"command": f"grep -n 'def \\|class ' {name} | head -40",
                                       "description": f"List the functions of {name}"}))
            steps.append(Step(f"{name} may hold part of the answer; read it before deciding.",
                              f"Reading `{name}`.", calls))
            line = _def_line((root / name).read_text())
            if n % 4 == 2 and line and len(steps) < size - 2:
                steps.append(Step("The function is worth a marker comment for the reviewer.",
                                  f"Marking `{line[4:].split('(')[0]}` as checked.",
                                  [("Edit", {"file_path": path, "old_string": line,
                                             "new_string": f"# checked in session {number + 1}\n{line}"})]))
            if n % 6 == 5 and len(steps) < size - 2:
                steps.append(Step("Check the edited files still compile.", "Compiling what changed so far.",
                                  [("Bash", {"command": "git diff --name-only | xargs -r python3 -m py_compile "
                                                        "&& git diff --stat",
                                             "description": "Compile the edited files"})]))
        notes = "\n".join(f"- `{name}`: read" for name in read)
        steps.append(Step("Write down what was covered.", "Writing the review notes.",
                          [("Write", {"file_path": str(root / f"REVIEW-{number + 1}.md"),
                                      "content": f"# Review {number + 1}\n\n{notes}\n"})]))
        steps.append(Step("Summarise for the user.", f"Done: I read {len(read)} files, marked the "
                          "functions worth a second look with a `# checked` comment, checked that the edited files "
                          f"compile, and wrote `REVIEW-{number + 1}.md` with the list."))
        prompt = (f"Review session {number + 1}: read through this project's proxy code, mark functions worth a "
                  "second look with a comment, make sure everything still compiles, and write a short review file.")
        sessions.append(Session(f"review-{number + 1}", prompt, steps))
    return sessions


def _id(prefix: str, *parts) -> str:
    return prefix + hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def step_number(body: dict) -> int:
    """Which answer a request asks for: the assistant messages its history already holds."""
    return sum(1 for message in body.get("messages", []) if message.get("role") == "assistant")


def answer(body: dict, session: Session | None, body_bytes: int) -> dict:
    """The assistant message answering `body`: its step of `session`, or a short text (no session,
    no tools: a side call such as a title, or a session whose steps ran out)."""
    number = step_number(body)
    if session is None or not body.get("tools"):
        step = Step("", "Reviewing the proxy code")
    else:
        step = session.steps[min(number, len(session.steps) - 1)]
        if number >= len(session.steps) - 1:
            step = Step(step.thinking, step.text)  # the last answer never calls a tool
    key = (session.name if session else "side", number)
    rng = random.Random(repr(key))
    content = []
    if step.thinking:
        signature = base64.b64encode(rng.randbytes(300)).decode()  # real signatures are opaque base64
        content.append({"type": "thinking", "thinking": step.thinking, "signature": signature})
    content.append({"type": "text", "text": step.text})
    content += [{"type": "tool_use", "id": _id("toolu_01", *key, n), "name": name, "input": arguments}
                for n, (name, arguments) in enumerate(step.tools)]
    history = len(json.dumps(body.get("messages", [])[-2:]))  # the part the cache has not seen yet
    usage = {"input_tokens": 6, "cache_creation_input_tokens": history // 4,
             "cache_read_input_tokens": max(0, (body_bytes - history) // 4), "output_tokens": 40 + 12 * len(content),
             "service_tier": "standard"}
    return {"id": _id("msg_01", *key), "type": "message", "role": "assistant", "model": body.get("model", "claude"),
            "content": content, "stop_reason": "tool_use" if step.tools else "end_turn", "stop_sequence": None,
            "usage": usage}


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def sse_events(message: dict) -> list[bytes]:
    """The SSE events that stream `message` as the Messages API does, one event a list item."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [_event("message_start", {"type": "message_start", "message": start}), _event("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        empty = {"thinking": {"type": "thinking", "thinking": "", "signature": ""},
                 "text": {"type": "text", "text": ""}}.get(kind, {**block, "input": {}})
        events.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": empty}))
        if kind == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], 24)]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"], 16)]
        else:
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in _pieces(json.dumps(block["input"]), 40)]
        events += [_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                   for delta in deltas]
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(_event("message_delta", {"type": "message_delta", "delta": {
        "stop_reason": message["stop_reason"], "stop_sequence": None}, "usage": {
        key: usage[key] for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                    "output_tokens")}}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events
