"""One conversation in full: thread order, API messages, tool calls, subagents, usage, record links."""
import json

import pytest
from openapi_schema_validator import OAS30Validator, validate

import models
from tests.records import log_row
from tests.transcripts import HAIKU, OPUS, T0, SessionWriter, usage


def get(client, session_id, project="-home-ada-shop"):
    response = client.get(f"/api/conversations/{session_id}?project={project}")
    assert response.status_code == 200, response.json
    return response.json


def texts(messages):
    return [block.get("text") or block.get("name") or block.get("type") for message in messages
            for block in message["content"]]


def shop_session(root):
    shop = SessionWriter(root, "/home/ada/shop", "s1", T0)
    shop.prompt("Fix the login bug")
    shop.assistant({"type": "thinking", "thinking": "Look first."}, {"type": "text", "text": "Looking."},
                   tokens=usage(10, 5, 100, 20), request_id="req_first")
    shop.tool_call("Task", {"description": "callers", "prompt": "Find the callers"}, "done", agent_id="ag1",
                   tokens=usage(3, 3, 3, 3), request_id="req_task")
    sub = shop.subagent("ag1", "Find the callers")
    sub.assistant({"type": "text", "text": "Two callers."}, model=HAIKU, tokens=usage(1, 1, 0, 0))
    shop.tool_call("Task", {"description": "tests", "prompt": "Run the tests"}, "Tests pass.\nagentId: ag2",
                   tokens=usage(3, 3, 3, 3))
    shop.subagent("ag2", "Run the tests").assistant(model=HAIKU, tokens=usage(2, 2, 0, 0))
    shop.subagent("warm", "Warmup").assistant(model=HAIKU, tokens=usage(0, 1, 0, 0))  # spawned by no call
    shop.assistant({"type": "text", "text": "Fixed."}, tokens=usage(1, 1, 1, 1))
    return shop


def test_the_thread_follows_the_chain_with_one_entry_per_api_message(client, config):
    shop_session(config.claude_projects_dir).write()
    body = get(client, "s1")
    kinds = [(m["type"], m["role"]) for m in body["messages"]]
    assert kinds == [("user", "user"), ("assistant", "assistant"), ("assistant", "assistant"), ("user", "user"),
                     ("assistant", "assistant"), ("user", "user"), ("assistant", "assistant")]
    first = body["messages"][1]
    assert [block["type"] for block in first["content"]] == ["thinking", "text"], "two lines, one API message"
    assert len(first["uuids"]) == 2 and first["uuid"] == first["uuids"][0]
    assert first["usage"] == {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 20,
                              "cache_read_input_tokens": 100}
    assert (first["model"], first["stopReason"], first["upstreamRequestId"]) == (OPUS, "end_turn", "req_first")
    assert body["messages"][2]["content"][0]["type"] == "tool_use"
    assert body["messages"][3]["content"][0]["type"] == "tool_result"
    assert body["apiMessageCount"] == 4
    assert body["requestCount"] == 7


def test_usage_is_summed_once_per_api_message_across_subagents(client, config):
    shop_session(config.claude_projects_dir).write()
    body = get(client, "s1")
    # main: (10,5,20,100) + 2 x (3,3,3,3) + (1,1,1,1); subagents: (1,1,0,0) + (2,2,0,0) + (0,1,0,0)
    assert body["usage"] == {"input_tokens": 20, "output_tokens": 16, "cache_creation_input_tokens": 27,
                             "cache_read_input_tokens": 107}


def test_subagents_hang_on_the_call_that_spawned_them(client, config):
    shop_session(config.claude_projects_dir).write()
    body = get(client, "s1")
    calls = [m for m in body["messages"] if m.get("subagents")]
    assert len(calls) == 2
    by_structured, by_text = calls[0]["subagents"][0], calls[1]["subagents"][0]
    assert (by_structured["agentId"], by_structured["toolUseId"]) == ("ag1", calls[0]["content"][0]["id"])
    assert texts(by_structured["messages"]) == ["Find the callers", "Two callers."]
    assert by_structured["requestCount"] == 1 and by_structured["usage"]["input_tokens"] == 1
    assert by_text["agentId"] == "ag2", "matched by the agentId the tool result text names"
    assert [sub["agentId"] for sub in body["subagents"]] == ["warm"], "unmatched subagents are listed apart"


def test_a_subagent_is_matched_by_its_prompt_when_no_result_names_it(client, config):
    session = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "s2", T0)
    session.prompt("Go")
    session.tool_call("Task", {"description": "x", "prompt": "Survey the repo"}, "Survey done.")
    session.subagent("quiet", "Survey the repo").assistant(model=HAIKU)
    session.write()
    spawned = [m for m in get(client, "s2")["messages"] if m.get("subagents")]
    assert spawned and spawned[0]["subagents"][0]["agentId"] == "quiet"


def test_chain_order_wins_over_file_order_and_timestamps(client, config):
    session = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "s3", T0)
    root = session.prompt("first")
    answer = session.assistant({"type": "text", "text": "second"})[0]
    followup = session.user("third")
    # Written out of order, with a clock that went backwards.
    session.lines = [root, followup, answer]
    followup["timestamp"] = "2026-11-18T10:00:00.000Z"
    session.write()
    assert texts(get(client, "s3")["messages"]) == ["<system-reminder>\nThe date is today.\n</system-reminder>",
                                                    "first", "second", "third"]


def test_unknown_line_types_and_lines_outside_the_chain_are_kept(client, config):
    session = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "s4", T0)
    session.prompt("hi")
    session.line("cost-state", costUsd=0.02)
    session.assistant()
    session.raw(json.dumps({"type": "file-history-snapshot", "messageId": "m1", "snapshot": {}}))
    session.raw(json.dumps({"type": "api-request", "model": OPUS}))
    session.raw("{broken")
    session.raw("[1, 2]")
    session.summary("Greeting")
    session.write()
    body = get(client, "s4")
    assert [m["type"] for m in body["messages"]] == ["user", "cost-state", "assistant"]
    assert body["messages"][1]["data"]["costUsd"] == 0.02
    assert [event["type"] for event in body["events"]] == ["file-history-snapshot", "api-request", "summary"]
    assert body["skippedLines"] == 2
    assert body["title"] == "Greeting"


def test_each_api_message_links_to_the_proxys_record(client, config):
    shop_session(config.claude_projects_dir).write()
    models.save_records([
        log_row("rec-b", session_id="s1", timestamp_ms=1_795_000_000_000 + 500, upstream_request_id="req_task"),
        log_row("rec-a", session_id="s1", timestamp_ms=1_795_000_000_000, upstream_request_id="req_first",
                input_tokens=10),
        log_row("rec-count", session_id="s1", endpoint="/v1/messages/count_tokens"),
        log_row("rec-other", session_id="another")], [])
    body = get(client, "s1")
    assert body["requestIds"] == ["rec-a", "rec-b"]
    assert body["records"][0]["upstreamRequestId"] == "req_first"
    assert body["records"][0]["usage"]["input_tokens"] == 10
    linked = {m["upstreamRequestId"]: m["requestId"] for m in body["messages"] if m["type"] == "assistant"}
    assert linked["req_first"] == "rec-a" and linked["req_task"] == "rec-b"
    assert list(linked.values()).count(None) == 2


def test_a_missing_session_is_a_404_in_the_error_shape(client, config):
    shop_session(config.claude_projects_dir).write()
    for path in ("/api/conversations/nope?project=-home-ada-shop", "/api/conversations/s1?project=-elsewhere",
                 "/api/conversations/s1?project=/home/ada/elsewhere"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json) == {"error", "details"}
    assert client.get("/api/conversations/s1").status_code == 400, "project is required"


def test_found_by_working_directory_and_served_from_cache_until_the_file_changes(client, config):
    session = shop_session(config.claude_projects_dir)
    session.write()
    first = get(client, "s1", project="/home/ada/shop")
    assert get(client, "s1") == first
    session.assistant({"type": "text", "text": "One more thing."})
    session.write()
    assert texts(get(client, "s1")["messages"])[-1] == "One more thing."


def test_answers_match_their_schemas_in_the_served_spec(client, config):
    shop = shop_session(config.claude_projects_dir)
    shop.line("cost-state", costUsd=0.5)
    shop.summary("Fixing login")
    shop.write()
    models.save_records([log_row("rec-a", session_id="s1", upstream_request_id="req_first")], [])
    components = client.get("/openapi.json").json["components"]
    for path, name in (("/api/conversations/s1?project=-home-ada-shop", "Conversation"),
                       ("/api/conversations", "ConversationList"),
                       ("/api/conversations/project?project=-home-ada-shop", "ProjectConversations")):
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        validate(client.get(path).json, schema, cls=OAS30Validator)


def test_the_session_and_each_subagent_show_their_cost_from_the_transcript(client, config):
    session = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "costly", T0)
    session.prompt("Refactor")
    # Opus 4.5 ($5 in, $25 out, $0.50 read, $6.25 5m, $10 1h): two lines of one message, priced once.
    split = {**usage(1_000, 2_000, 100_000, 10_000),
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 10_000}}
    session.assistant({"type": "text", "text": "Plan."}, {"type": "text", "text": "Go."}, tokens=split)
    session.tool_call("Task", {"description": "scan", "prompt": "Scan"}, "done", agent_id="ag9",
                      tokens=usage(100, 100, 0, 4_000))  # no split: 4,000 5-minute writes, estimated
    sub = session.subagent("ag9", "Scan")
    sub.assistant({"type": "text", "text": "Clean."}, model=HAIKU, tokens=usage(10_000, 1_000, 0, 0))
    session.write()
    body = get(client, "costly", "-home-ada-shop")
    main = 0.005 + 0.05 + 0.05 + 0.1 + (0.0005 + 0.0025 + 0.025)
    haiku = 0.01 + 0.005
    assert body["threadCost"]["total"] == pytest.approx(main)
    assert body["threadCost"]["estimatedRequests"] == 1
    [subagent] = [sub for message in body["messages"] for sub in message.get("subagents", ())]
    assert subagent["cost"]["total"] == pytest.approx(haiku)
    assert body["cost"]["total"] == pytest.approx(main + haiku)
    # The list row shows the same figure, read from the file summaries (each message priced once).
    [row] = client.get("/api/conversations").json["conversations"]
    assert row["cost"]["total"] == pytest.approx(main + haiku)
    assert row["cost"]["estimatedRequests"] == 1


def test_a_token_count_too_large_for_any_column_is_not_priced_and_breaks_nothing(client, config):
    session = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "huge", T0)
    session.prompt("Count")
    session.assistant({"type": "text", "text": "Many."}, tokens=usage(10 ** 400, 2_000, 0, 0))
    session.write()
    [row] = client.get("/api/conversations").json["conversations"]
    assert row["cost"]["total"] == pytest.approx(2_000 * 25 / 1e6)  # the output alone, at Opus 4.5's $25
    assert get(client, "huge", "-home-ada-shop")["cost"]["total"] == pytest.approx(row["cost"]["total"])
