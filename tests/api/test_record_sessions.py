"""Sessions the proxy saw but whose transcript is on another machine, built from the records."""
import json

import anthropic
import pytest

import models
from tests.nesting import DEPTHS, arrays, objects
from tests.records import body_row, log_row
from tests.transcripts import HAIKU, OPUS, T0, SessionWriter

START_MS = 1_795_000_000_000  # 2026-11-18T11:06:40Z
SYSTEM = [{"type": "text", "text": "You are Claude Code."},
          {"type": "text", "text": "<env>\nWorking directory: /srv/team/api\nIs directory a git repo: Yes\n</env>"}]


def claude_code_body(*messages, model=OPUS):
    return json.dumps({"model": model, "system": SYSTEM, "stream": True, "max_tokens": 32000,
                       "messages": [{"role": role, "content": content} for role, content in messages]})


def seed_remote_session():
    first = [("user", [{"type": "text", "text": "<system-reminder>Be brief.</system-reminder>"},
                       {"type": "text", "text": "Build the   orders API"}])]
    later = first + [("assistant", [{"type": "text", "text": "Started."}]), ("user", "Add paging")]
    reply = {"id": "msg_r3", "type": "message", "role": "assistant", "model": OPUS, "stop_reason": "end_turn",
             "content": [{"type": "text", "text": "Paging added."}],
             "usage": {"input_tokens": 4, "output_tokens": 6}}
    models.save_records([
        log_row("r1", session_id="remote-1", timestamp_ms=START_MS, completed_at_ms=START_MS + 900,
                original_model=OPUS, routed_model=OPUS, input_tokens=3, output_tokens=2),
        log_row("r2", session_id="remote-1", timestamp_ms=START_MS + 2_000, completed_at_ms=START_MS + 3_000,
                original_model=HAIKU, routed_model=HAIKU, agent_id="agent-7", input_tokens=1),
        log_row("r3", session_id="remote-1", timestamp_ms=START_MS + 60_000, completed_at_ms=START_MS + 65_000,
                original_model=OPUS, routed_model=OPUS, upstream_request_id="req_r3", input_tokens=4, output_tokens=6),
        log_row("r4", session_id="remote-1", endpoint="/v1/messages/count_tokens", timestamp_ms=START_MS + 99_000),
        log_row("r5", session_id=None, timestamp_ms=START_MS + 99_000),
    ], [body_row("r1", request_body=claude_code_body(*first)),
        body_row("r3", request_body=claude_code_body(*later), response_message=json.dumps(reply))])


def test_a_recorded_session_is_listed_with_every_field(client):
    seed_remote_session()
    [row] = client.get("/api/conversations").json["conversations"]
    assert row["id"] == "remote-1" and row["source"] == "record"
    assert row["requestCount"] == 3, "model calls, subagent calls included; count_tokens is not one"
    assert (row["startTime"], row["lastActivity"]) == ("2026-11-18T11:06:40.000Z", "2026-11-18T11:07:45.000Z")
    assert row["duration"] == 65_000
    assert row["firstMessage"] == "Build the orders API"
    assert (row["projectPath"], row["projectName"], row["project"]) == ("/srv/team/api", "api", "-srv-team-api")
    assert row["model"] == OPUS
    assert set(row["models"]) == {OPUS, HAIKU}
    # Opus 4.5 at $5 / $25 per million in / out: 3 + 4 in, 2 + 6 out; Haiku 4.5 at $1: 1 in.
    assert row["cost"]["total"] == pytest.approx((7 * 5 + 8 * 25 + 1 * 1) / 1e6)
    assert row["cost"]["priced"] and not row["cost"]["estimatedRequests"]


def test_recorded_sessions_mix_with_transcripts_and_filter_by_model(client, config):
    seed_remote_session()
    local = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "local-1", T0)
    local.prompt("Local work")
    local.assistant(model="claude-sonnet-4-5")
    local.write()
    # The proxy also saw the local session: it is listed once, from its transcript.
    models.save_records([log_row("r9", session_id="local-1", timestamp_ms=START_MS)], [])
    rows = client.get("/api/conversations").json["conversations"]
    assert [(row["id"], row["source"]) for row in rows] == [("remote-1", "record"), ("local-1", "transcript")]
    assert [row["id"] for row in client.get("/api/conversations?model=haiku").json["conversations"]] == ["remote-1"]
    assert [row["id"] for row in client.get("/api/conversations?model=SONNET").json["conversations"]] == ["local-1"]


def test_a_recorded_session_in_full(client):
    seed_remote_session()
    for project in ("-srv-team-api", "unknown", "/srv/team/api"):
        response = client.get(f"/api/conversations/remote-1?project={project}")
        assert response.status_code == 200, project
    body = response.json
    assert body["requestIds"] == ["r1", "r2", "r3"]
    assert [(m["role"], m["content"][-1]["text"]) for m in body["messages"]] == [
        ("user", "Build the   orders API"), ("assistant", "Started."), ("user", "Add paging"),
        ("assistant", "Paging added.")]
    assert body["messages"][-1]["requestId"] == "r3"
    assert body["usage"]["input_tokens"] == 8
    assert client.get("/api/conversations/remote-2?project=unknown").status_code == 404


def test_a_session_through_the_proxy_shows_up(live_proxy, client, upstream, records):
    sdk = anthropic.Anthropic(api_key="sk-ant-test", base_url=live_proxy, max_retries=0,
                              default_headers={"X-Claude-Code-Session-Id": "sdk-session-1"})
    sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, system=SYSTEM,
                        messages=[{"role": "user", "content": "Hello through the proxy"}])
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=64, system=SYSTEM,
                             messages=[{"role": "user", "content": "Hello through the proxy"},
                                       {"role": "assistant", "content": "Hi"},
                                       {"role": "user", "content": "Again"}]) as stream:
        stream.get_final_message()
    records()
    [row] = client.get("/api/conversations").json["conversations"]
    assert (row["id"], row["requestCount"], row["model"]) == ("sdk-session-1", 2, "claude-haiku-4-5")
    assert (row["firstMessage"], row["projectName"]) == ("Hello through the proxy", "api")
    body = client.get("/api/conversations/sdk-session-1?project=-srv-team-api").json
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant"]
    assert body["messages"][-1]["content"][0]["text"] == "Hello from the fake upstream. Grüße! 👋"


def test_transcripts_are_listed_when_the_database_fails(client, config):
    seed_remote_session()
    local = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "local-2", T0)
    local.prompt("Still here")
    local.assistant()
    local.write()
    models.database.execute_sql("DROP TABLE request_body")
    models.database.execute_sql("DROP TABLE request_log")
    assert [row["id"] for row in client.get("/api/conversations").json["conversations"]] == ["local-2"]
    body = client.get("/api/conversations/local-2?project=-home-ada-shop").json
    assert (body["requestIds"], body["firstMessage"]) == ([], "Still here")


@pytest.mark.parametrize("depth", DEPTHS)
def test_recorded_bodies_nested_too_deep_are_left_unread(client, depth):
    models.save_records(
        [log_row("d1", session_id="deep-1", timestamp_ms=START_MS, original_model=OPUS, routed_model=OPUS),
         log_row("d2", session_id="deep-1", timestamp_ms=START_MS + 1_000, original_model=OPUS, routed_model=OPUS)],
        [body_row("d1", request_body=arrays(depth)),
         body_row("d2", request_body='{"messages": ' + objects(depth) + "}", response_message=arrays(depth),
                  response_body=objects(depth))])
    [row] = client.get("/api/conversations").json["conversations"]
    assert (row["id"], row["requestCount"], row["firstMessage"]) == ("deep-1", 2, "")
    response = client.get("/api/conversations/deep-1?project=unknown")
    assert response.status_code == 200
    assert (response.json["messages"], response.json["requestIds"]) == ([], ["d1", "d2"])
