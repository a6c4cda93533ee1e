"""Seeded records for the browser tests: a realistic day of Claude Code traffic, written directly."""
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import models
from tests.dashboard.conftest import TIME_ZONE
from tests.records import body_row, log_row

ZONE = ZoneInfo(TIME_ZONE)
DAY = "2026-11-18"


def at(day: str, hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch ms of a local time of `day` in the browser's zone."""
    moment = datetime.combine(datetime.fromisoformat(day).date(), time(hour, minute, second), ZONE)
    return int(moment.timestamp() * 1000)


def usage(**tokens) -> dict:
    return {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0, **tokens}


REQUEST_BODY = {
    "model": "claude-opus-4-1",
    "max_tokens": 32000,
    "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
               {"type": "text", "text": "Work in /home/dev/app.", "cache_control": {"type": "ephemeral"}}],
    "tools": [{"name": "Read", "description": "Reads a file from the local filesystem.",
               "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                                "required": ["file_path"]}},
              {"name": "Bash", "description": "Runs a shell command.",
               "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>As you answer, use the TodoWrite tool.</system-reminder>"},
            {"type": "text", "text": "Fix the failing test in tests/test_app.py"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should read the test first.", "signature": "c2ln"},
            {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "tests/test_app.py"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "def test_add():\n    assert add(1, 2) == 4"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                          "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="}}]},
    ],
}
RESPONSE_MESSAGE = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
                    "content": [{"type": "text", "text": "The expected value is wrong: 1 + 2 is 3."}],
                    "stop_reason": "end_turn", "usage": usage(input_tokens=12, output_tokens=30)}


def seed_day(day: str = DAY) -> list[str]:
    """Six requests on `day` (routed, in flight, errors, three families, two orgs); returns ids newest first."""
    rows = [
        log_row("req0000000001", timestamp_ms=at(day, 9, 0, 5), original_model="claude-opus-4-1",
                routed_model="claude-opus-4-1", status_code=200, response_time_ms=4200, ttfb_ms=850,
                is_streaming=True, stop_reason="tool_use", input_tokens=12, output_tokens=30,
                cache_read_input_tokens=9000, cache_creation_input_tokens=988, organization_id="org-alpha",
                session_id="sess-1", message_count=3, unified_status="allowed", unified_5h_utilization=0.42,
                unified_5h_reset="1795010000", unified_7d_utilization=0.17, unified_7d_reset="1795400000"),
        log_row("req0000000002", timestamp_ms=at(day, 10, 15), original_model="claude-sonnet-4-5",
                routed_model="claude-haiku-4-5", provider="anthropic", routing_rule="cheap-sonnet",
                status_code=200, response_time_ms=900, ttfb_ms=300, stop_reason="end_turn", input_tokens=300,
                output_tokens=80, organization_id="org-alpha"),
        log_row("req0000000003", timestamp_ms=at(day, 11, 30), original_model="claude-haiku-4-5",
                routed_model="claude-haiku-4-5", status_code=429, response_time_ms=120, outcome="upstream_error",
                organization_id="org-beta"),
        log_row("req0000000004", timestamp_ms=at(day, 12, 45), original_model="claude-sonnet-4-5",
                routed_model="claude-sonnet-4-5", status_code=529, outcome="upstream_error", response_time_ms=80,
                organization_id="org-beta"),
        log_row("req0000000005", timestamp_ms=at(day, 14, 0), original_model="claude-opus-4-1",
                routed_model="claude-opus-4-1", status_code=200, outcome="stream_error", is_streaming=True,
                stream_error="overloaded_error: Overloaded", response_time_ms=15000, ttfb_ms=700,
                input_tokens=50, output_tokens=10, organization_id="org-alpha"),
        log_row("req0000000006", timestamp_ms=at(day, 15, 20), original_model="claude-opus-4-1",
                routed_model="claude-opus-4-1", status_code=None, outcome="in_flight", is_streaming=True,
                organization_id="org-alpha"),
    ]
    bodies = [body_row("req0000000001", request_body=json.dumps(REQUEST_BODY),
                       request_headers=json.dumps({"x-api-key": "sk-ant-…a1b2", "anthropic-version": "2023-06-01"}),
                       response_headers=json.dumps({"content-type": "text/event-stream", "request-id": "req_up_1"}),
                       response_message=json.dumps(RESPONSE_MESSAGE))]
    models.save_records(rows, bodies)
    return [row["id"] for row in reversed(rows)]


def seed_week(day: str = DAY) -> None:
    """A week of traffic ending on `day`: three models a day, more each day."""
    rows = []
    for back in range(7):
        current = (datetime.fromisoformat(day) - timedelta(days=back)).date().isoformat()
        for n, model in enumerate(("claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5")):
            rows.append(log_row(f"wk{back}{n}", timestamp_ms=at(current, 8 + n * 3), original_model=model,
                                routed_model=model, status_code=200, response_time_ms=1000 + n * 500,
                                input_tokens=1000 * (7 - back), output_tokens=200 * (n + 1),
                                cache_read_input_tokens=5000, organization_id="org-alpha"))
    models.save_records(rows, [])
