"""The routing suite: CPU the routing stages add per request and per streamed chunk, on Claude Code sized bodies.

In-process timings (one core, no I/O) of each stage a routed request goes through: the rule
facts read from the parsed body, the rule decision, the in-place model swap of an Anthropic-kind
route, the OpenAI translation of the request, and the translation of an OpenAI stream. They are
set against the relay's own measured cost (about 1.3 ms CPU a request, 25-30 µs an event).
"""
import json
import time

from bench import report
from proxy.routing.providers.model_field import replace_model
from proxy.routing.providers.openai_request import to_openai_request
from proxy.routing.providers.openai_stream import StreamTranslator
from proxy.request_info import request_info
from proxy.routing.rules import Match, Router, Rule

RULES = (
    Rule("reviewer", Match(subagent=True, headers=(("x-claude-code-agent-id", "review*"),)), "local", "qwen3"),
    Rule("subagents", Match(subagent=True), model="claude-haiku-4-5"),
    Rule("long", Match(input_tokens_above=150_000), model="claude-sonnet-4-6", sticky=False),
    Rule("thinking-tools", Match(thinking=True, tool_names=("WebFetch",)), "local", "qwen3"),
    Rule("haiku", Match(models=("*haiku*",)), model="claude-haiku-4-5"),
)
HEADERS = {"x-claude-code-session-id": "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"}


def claude_code_body(turns: int) -> dict:
    """A body shaped like Claude Code's: system blocks, ~20 tools, a tool-using history, thinking on."""
    tools = [{"name": f"Tool{n}", "description": "Does one thing well. " * 20,
              "input_schema": {"type": "object", "properties": {"path": {"type": "string"}, "n": {"type": "integer"}},
                               "required": ["path"]}} for n in range(20)]
    messages = [{"role": "user", "content": [{"type": "text", "text": "Fix the failing test in tests/ please. " * 10}]}]
    for n in range(turns):
        messages.append({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Look at the file first. " * 8, "signature": "c2ln" * 60},
            {"type": "text", "text": "Reading the file."},
            {"type": "tool_use", "id": f"toolu_{n:04d}", "name": "Tool1", "input": {"path": f"src/m{n}.py"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{n:04d}", "content": "def f(x):\n    return x + 1\n" * 25}]})
    return {"model": "claude-sonnet-4-6", "max_tokens": 32000, "stream": True, "thinking": {"type": "adaptive"},
            "system": [{"type": "text", "text": "You are Claude Code. " * 200, "cache_control": {"type": "ephemeral"}}],
            "tools": tools, "messages": messages, "metadata": {"user_id": json.dumps({"session_id": "s"})}}


def openai_stream(chunks: int) -> list[bytes]:
    """An OpenAI stream of text chunks then a tool call in pieces, as the provider writes it."""
    def line(delta, finish=None):
        return ("data: " + json.dumps({"id": "c1", "model": "qwen3", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n").encode()
    half = chunks // 2
    out = [line({"content": "word "}) for _ in range(half)]
    out.append(line({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "Tool1", "arguments": ""}}]}))
    out += [line({"tool_calls": [{"index": 0, "function": {"arguments": '{"pa'}}]}) for _ in range(chunks - half)]
    out += [line({}, "tool_calls"), b"data: [DONE]\n\n"]
    return out


def timed(function, repeat: int) -> list[float]:
    """Microseconds of CPU per call, `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.process_time_ns()
        function()
        samples.append((time.process_time_ns() - start) / 1000)
    return samples


def measure(turns: int, repeat: int) -> dict:
    body = claude_code_body(turns)
    raw = json.dumps(body).encode()
    router = Router(RULES)
    info = request_info(body, HEADERS["x-claude-code-session-id"], len(raw))
    stream = openai_stream(300)

    def translate_stream():
        translator = StreamTranslator("qwen3")
        for chunk in stream:
            translator.feed(chunk)
        translator.finish()

    return {
        "body KB": len(raw) / 1024,
        "parse (baseline, json.loads)": report.summary(timed(lambda: json.loads(raw), repeat)),
        "rule facts": report.summary(timed(lambda: request_info(body, None, len(raw)), repeat)),
        "facts without routing": report.summary(timed(lambda: request_info(body, None), repeat)),
        "rule decision (5 rules)": report.summary(timed(lambda: router.route(info, {}), repeat)),
        "model swap (Anthropic kind)": report.summary(timed(lambda: replace_model(raw, "claude-haiku-4-5"), repeat)),
        "OpenAI request (translate + dump)": report.summary(
            timed(lambda: json.dumps(to_openai_request(body, "qwen3")), repeat)),
        "OpenAI stream, per chunk": report.summary([s / len(stream) for s in timed(translate_stream, repeat)]),
    }


def main(quick: bool = False) -> int:
    """Run the suite and print its table and targets; 0 when every target passed."""
    repeat = 20 if quick else 200
    results = {turns: measure(turns, repeat) for turns in (10, 40)}
    rows = []
    for turns, stages in results.items():
        for stage, stats in stages.items():
            if stage != "body KB":
                rows.append([f"{stages['body KB']:.0f} KB body", stage, report.triple(stats, 1)])
    big = results[40]
    routed = big["rule facts"]["p50"] - big["facts without routing"]["p50"] + big["rule decision (5 rules)"]["p50"]
    targets = [
        ("rule facts + decision added to a request, p50", routed, 100.0, "µs"),
        ("Anthropic-kind model swap, p50", big["model swap (Anthropic kind)"]["p50"], 1300.0, "µs"),
        ("OpenAI stream translation per chunk, p50", big["OpenAI stream, per chunk"]["p50"], 30.0, "µs"),
    ]
    print("CPU per call in µs, p50 / p95 / p99")
    print(report.table(["body", "stage", "µs"], rows))
    print("\nTargets:")
    for name, value, limit, unit in targets:
        print(f"  {'PASS' if value <= limit else 'FAIL'}  {name}: {value:.1f} {unit} (limit {limit:.0f} {unit})")
    return 0 if all(value <= limit for _, value, limit, _ in targets) else 1
