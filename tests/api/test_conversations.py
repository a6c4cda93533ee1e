"""Conversations from a realistic transcript tree: every list field, ordering, filters, paging, projects."""
import os
from datetime import timedelta

import pytest

from tests.transcripts import HAIKU, OPUS, T0, SessionWriter, usage

FIELDS = {"id", "requestCount", "startTime", "lastActivity", "duration", "firstMessage", "projectPath",
          "projectName", "model"}


@pytest.fixture
def tree(config):
    """Three projects: subagents, a resumed session, a copy-on-resume session, haiku-only, one being
    written, an old-style folder name, and files with nothing to list."""
    root = config.claude_projects_dir
    shop = SessionWriter(root, "/home/ada/shop", "shop-main", T0)
    shop.command("/clear")
    shop.prompt("Fix the login bug.\nIt fails for emails with a plus sign.")
    shop.assistant({"type": "thinking", "thinking": "Let me look."}, {"type": "text", "text": "Looking."},
                   tokens=usage(10, 5, 100, 20), request_id="req_shop_first")
    shop.tool_call("Read", {"file_path": "/home/ada/shop/auth.py"}, "def login(): ...")
    shop.tool_call("Task", {"description": "Find callers", "prompt": "Find every caller of login()",
                            "subagent_type": "Explore"}, "agentId: a1b2c3 (use it to resume)", agent_id="a1b2c3")
    sub = shop.subagent("a1b2c3", "Find every caller of login()")
    sub.assistant({"type": "text", "text": "Searching."}, model=HAIKU, tokens=usage(1, 1, 0, 0))
    sub.assistant({"type": "text", "text": "Two callers."}, model=HAIKU, tokens=usage(2, 2, 0, 0))
    shop.assistant({"type": "text", "text": "Fixed."})
    shop.summary("Login fix for plus-sign emails")
    shop.write()

    resumed = SessionWriter(root, "/home/ada/shop", "shop-resumed", T0 + timedelta(days=1))
    resumed.prompt("Add a dark mode")
    resumed.assistant(tokens=usage(1, 1, 1, 1))
    resumed.clock += timedelta(hours=3)  # `claude --resume` the same evening: same file, same chain
    resumed.prompt("Continue with the dark mode")
    resumed.assistant(tokens=usage(1, 1, 1, 1))
    resumed.write()
    # Older versions resumed into a new file that starts with a copy of the history.
    copied = SessionWriter(root, "/home/ada/shop", "shop-copied", T0 + timedelta(days=1, hours=5))
    copied.lines = [dict(line) for line in resumed.lines]
    copied.parent = resumed.parent
    copied.prompt("One more dark mode tweak")
    copied.assistant()
    copied.write()

    blog = SessionWriter(root, "/home/ada/blog.v2", "blog-haiku", T0 + timedelta(days=2))
    blog.prompt("Write a post about caching " + "é" * 300)
    blog.assistant(model=HAIKU)
    blog.write()
    live = SessionWriter(root, "/home/ada/blog.v2", "blog-live", T0 + timedelta(days=3))
    live.prompt("Draft the next post")
    live.assistant()
    live.write()
    with open(live.path, "a") as file:  # Claude Code is writing the next line right now
        file.write('{"parentUuid": "' + live.parent + '", "type": "assistant", "message": {"id": "msg_')

    legacy = SessionWriter(root, "/srv/my app (old)", "legacy", T0 - timedelta(days=30), folder="-srv-my app (old)")
    legacy.prompt("Old times")
    legacy.assistant(model="claude-3-5-sonnet-20241022")
    legacy.write()

    empty = shop.path.parent / "empty-session.jsonl"
    empty.write_text("")
    only_summary = SessionWriter(root, "/home/ada/shop", "only-summary")
    only_summary.summary("Nothing happened")
    only_summary.write()
    return {"shop": shop, "resumed": resumed, "copied": copied, "blog": blog, "live": live, "legacy": legacy}


def listing(client, query=""):
    response = client.get("/api/conversations" + query)
    assert response.status_code == 200, response.json
    return response.json


def by_id(body):
    return {row["id"]: row for row in body["conversations"]}


def test_every_session_with_messages_is_listed_newest_activity_first(client, tree):
    body = listing(client, "?limit=100")
    assert [row["id"] for row in body["conversations"]] == [
        "blog-live", "blog-haiku", "shop-copied", "shop-resumed", "shop-main", "legacy"]
    assert (body["total"], body["page"], body["limit"], body["hasMore"]) == (6, 1, 100, False)
    assert all(FIELDS <= set(row) for row in body["conversations"])


def test_the_fields_of_a_session_with_a_subagent(client, tree):
    row = by_id(listing(client))["shop-main"]
    assert row["requestCount"] == 6, "4 API messages in the main thread, 2 in the subagent; lines do not count"
    assert row["startTime"] == "2026-11-18T11:00:02.000Z"
    assert row["lastActivity"] == "2026-11-18T11:00:26.000Z", "the subagent ran last"
    assert row["duration"] == 24_000
    assert row["firstMessage"] == "Fix the login bug. It fails for emails with a plus sign."
    assert (row["projectPath"], row["projectName"], row["project"]) == ("/home/ada/shop", "shop", "-home-ada-shop")
    assert row["model"] == OPUS
    assert row["models"] == [OPUS, HAIKU]
    assert (row["title"], row["subagentCount"], row["source"]) == ("Login fix for plus-sign emails", 1, "transcript")


def test_resumed_sessions_span_both_parts(client, tree):
    rows = by_id(listing(client))
    resumed, copied = rows["shop-resumed"], rows["shop-copied"]
    assert resumed["requestCount"] == 2
    assert resumed["duration"] == 3 * 3600_000 + 6_000
    assert resumed["firstMessage"] == "Add a dark mode"
    assert copied["firstMessage"] == "Add a dark mode", "the copied history comes first"
    assert copied["requestCount"] == 3
    assert copied["startTime"] == resumed["startTime"]


def test_first_message_is_cut_at_a_character_boundary(client, tree):
    first = by_id(listing(client))["blog-haiku"]["firstMessage"]
    assert len(first) == 200 and first.endswith("é…")
    assert by_id(listing(client))["blog-haiku"]["projectName"] == "blog.v2"


def test_a_file_being_written_is_listed_without_its_partial_line(client, tree):
    row = by_id(listing(client))["blog-live"]
    assert (row["requestCount"], row["skippedLines"], row["models"]) == (1, 0, [OPUS])
    detail = client.get("/api/conversations/blog-live?project=-home-ada-blog-v2").json
    assert (detail["partialLastLine"], detail["skippedLines"], len(detail["messages"])) == (True, 0, 2)
    with open(tree["live"].path, "a") as file:  # the writer finishes the line
        file.write('next", "model": "' + HAIKU + '"}, "timestamp": "2026-11-21T12:00:00Z"}\n')
    row = by_id(listing(client))["blog-live"]
    assert (row["requestCount"], row["skippedLines"], row["models"]) == (2, 0, [OPUS, HAIKU])
    assert row["lastActivity"] == "2026-11-21T12:00:00.000Z"
    with open(tree["live"].path, "a") as file:
        file.write('{"type": "user", "uuid": \n')  # a line that stays broken is counted, not fatal
    assert by_id(listing(client))["blog-live"]["skippedLines"] == 1


def test_a_session_grows_while_listed(client, tree):
    live = tree["live"]
    before = by_id(listing(client))["blog-live"]
    live.lines = []
    live.prompt("And another one")
    live.assistant(model=HAIKU)
    with open(live.path, "r+") as file:  # drop the partial line, then append two finished ones
        text = file.read()
        file.seek(0)
        file.write(text[:text.rindex("\n") + 1] + live.text())
        file.truncate()
    after = by_id(listing(client))["blog-live"]
    assert after["requestCount"] == before["requestCount"] + 1
    assert after["lastActivity"] > before["lastActivity"]
    assert set(after["models"]) == {OPUS, HAIKU}


def test_model_filter_is_a_case_insensitive_substring_of_any_model_used(client, tree):
    ids = lambda model: sorted(row["id"] for row in listing(client, f"?model={model}&limit=100")["conversations"])
    assert ids("HAIKU") == ["blog-haiku", "shop-main"], "shop-main's subagent ran on haiku"
    assert ids("sonnet") == ["legacy"]
    assert len(ids("all")) == 6
    assert listing(client, "?model=sonnet")["total"] == 1


def test_pages(client, tree):
    first, second = listing(client, "?limit=4"), listing(client, "?limit=4&page=2")
    assert (first["hasMore"], second["hasMore"]) == (True, False)
    assert len(first["conversations"]) == 4 and len(second["conversations"]) == 2
    assert not set(by_id(first)) & set(by_id(second))
    assert listing(client, "?page=9")["conversations"] == []
    for query in ("?page=0", "?limit=0", "?limit=101", "?page=x"):
        response = client.get("/api/conversations" + query)
        assert response.status_code == 400 and set(response.json) == {"error", "details"}, query


def test_one_project_by_folder_or_working_directory(client, tree):
    for project in ("-home-ada-shop", "/home/ada/shop"):
        body = client.get(f"/api/conversations/project?project={project}").json
        assert body["project"] == "-home-ada-shop"
        assert (body["projectPath"], body["projectName"]) == ("/home/ada/shop", "shop")
        assert [row["id"] for row in body["conversations"]] == ["shop-copied", "shop-resumed", "shop-main"]
        assert body["total"] == 3
    legacy = client.get("/api/conversations/project?project=/srv/my app (old)").json
    assert [row["id"] for row in legacy["conversations"]] == ["legacy"], "the older folder naming is found too"
    row = by_id(listing(client, "?limit=100"))["legacy"]
    assert (row["project"], row["projectName"]) == ("-srv-my app (old)", "my app (old)")
    assert client.get("/api/conversations/legacy", query_string={"project": row["project"]}).status_code == 200


def test_the_project_route_is_not_shadowed_by_the_id_route(client, tree):
    response = client.get("/api/conversations/project?project=-home-ada-blog-v2")
    assert response.status_code == 200
    assert "conversations" in response.json and "messages" not in response.json
    assert client.get("/api/conversations/project").status_code == 400
    assert client.get("/api/conversations/project?project=-nope").status_code == 404


def test_no_transcript_folder_lists_nothing(client):
    assert listing(client) == {"conversations": [], "hasMore": False, "total": 0, "page": 1, "limit": 10}


def test_sessions_vanishing_between_calls_are_dropped(client, tree):
    assert "legacy" in by_id(listing(client, "?limit=100"))
    os.remove(tree["legacy"].path)
    assert "legacy" not in by_id(listing(client, "?limit=100"))


def test_every_listed_session_opens_with_its_project(client, tree):
    for row in listing(client, "?limit=100")["conversations"]:
        response = client.get(f"/api/conversations/{row['id']}", query_string={"project": row["project"]})
        assert response.status_code == 200, row
        body = response.json
        assert (body["id"], body["requestCount"], body["firstMessage"]) == (row["id"], row["requestCount"],
                                                                            row["firstMessage"])
