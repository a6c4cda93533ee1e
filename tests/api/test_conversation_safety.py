"""Nothing outside CLAUDE_PROJECTS_DIR is ever read, and no transcript content fails a request."""
import json
import os
from pathlib import Path

import pytest

from models.bounded_json import MAX_DEPTH
from tests.nesting import DEPTHS, arrays, objects
from tests.transcripts import T0, SessionWriter

SECRET = "TOP-SECRET-CONTENT-OUTSIDE-THE-TREE"


@pytest.fixture
def outside(tmp_path):
    """A folder beside the transcript tree holding a valid-looking session with a secret."""
    folder = tmp_path / "outside"
    session = SessionWriter(tmp_path / "unused", "/home/eve/x", "stolen", T0)
    session.prompt(SECRET)
    session.assistant()
    folder.mkdir()
    (folder / "stolen.jsonl").write_text(session.text())
    (folder / "passwd").write_text(SECRET)
    return folder


@pytest.fixture
def root(config):
    path = Path(config.claude_projects_dir)
    session = SessionWriter(path, "/home/ada/shop", "ok", T0)
    session.prompt("fine")
    session.assistant()
    session.write()
    return path


def assert_no_secret(response):
    assert SECRET not in response.get_data(as_text=True)


def test_paths_that_could_leave_the_tree_are_400(client, root):
    for project in ("..", "../outside", "a/b", "-home-ada-shop/../..", "x\\y", "%00", "." * 3 + "/", "x" * 1100):
        response = client.get(f"/api/conversations/ok?project={project}")
        assert response.status_code == 400, project
        assert set(response.json) == {"error", "details"}
        assert client.get(f"/api/conversations/project?project={project}").status_code == 400, project
    for session_id in ("..", ".hidden", "a%5Cb", "%2E%2E", "x" * 200):
        response = client.get(f"/api/conversations/{session_id}?project=-home-ada-shop")
        assert response.status_code == 400, session_id


def test_dot_dot_in_the_url_path_never_reaches_a_file(client, root, outside):
    for path in ("/api/conversations/..%2F..%2Foutside%2Fstolen?project=-home-ada-shop",
                 "/api/conversations/../../outside/stolen?project=-home-ada-shop"):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert_no_secret(response)


def test_absolute_paths_are_working_directories_not_files(client, root, outside):
    for project in (str(outside), "/etc", str(outside.parent)):
        response = client.get(f"/api/conversations/stolen?project={project}")
        assert response.status_code == 404, project
        assert_no_secret(response)


def test_symlinks_pointing_out_are_ignored(client, root, outside):
    (root / "-evil-project").symlink_to(outside, target_is_directory=True)
    (root / "-home-ada-shop" / "linked.jsonl").symlink_to(outside / "stolen.jsonl")
    subagents = root / "-home-ada-shop" / "ok" / "subagents"
    subagents.mkdir(parents=True)
    (subagents / "agent-spy.jsonl").symlink_to(outside / "stolen.jsonl")
    body = client.get("/api/conversations?limit=100").json
    assert [row["id"] for row in body["conversations"]] == ["ok"]
    assert body["conversations"][0]["subagentCount"] == 0
    for path in ("/api/conversations/stolen?project=-evil-project", "/api/conversations/linked?project=-home-ada-shop",
                 "/api/conversations/project?project=-evil-project"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_no_secret(response)
    assert_no_secret(client.get("/api/conversations/ok?project=-home-ada-shop"))


def test_a_root_that_is_itself_a_symlink_works(make_app, root, tmp_path):
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    client = make_app(claude_projects_dir=str(alias)).test_client()
    assert [row["id"] for row in client.get("/api/conversations").json["conversations"]] == ["ok"]
    assert client.get("/api/conversations/ok?project=-home-ada-shop").status_code == 200


def test_a_fifo_named_like_a_session_does_not_hang_the_worker(client, root):
    os.mkfifo(root / "-home-ada-shop" / "pipe.jsonl")
    assert [row["id"] for row in client.get("/api/conversations").json["conversations"]] == ["ok"]
    assert client.get("/api/conversations/pipe?project=-home-ada-shop").status_code == 404


def test_ten_megabyte_lines_and_garbage_never_fail_a_request(client, root):
    session = SessionWriter(root, "/home/ada/big", "big", T0)
    session.prompt("Read the log")
    tool = session.tool_call("Bash", {"command": "cat log"}, "x" * (10 * 1024 * 1024))
    session.raw('{"type": "user", "message": "' + "y" * (10 * 1024 * 1024))  # 10 MB, never closed
    session.assistant()
    session.write()
    with open(session.path, "ab") as file:
        file.write(b'{"type": "user", "text": "\xff\xfe"}\n\x00\x01 binary\n')
    row = client.get("/api/conversations/project?project=-home-ada-big").json["conversations"][0]
    assert (row["requestCount"], row["skippedLines"]) == (2, 3)
    body = client.get("/api/conversations/big?project=-home-ada-big").json
    result = [m for m in body["messages"] if m["content"] and m["content"][0]["type"] == "tool_result"][0]
    assert result["content"][0]["tool_use_id"] == tool
    assert len(result["content"][0]["content"]) == 10 * 1024 * 1024
    assert body["skippedLines"] == 3


def test_an_empty_transcript_is_not_listed_and_reads_as_empty(client, root):
    (root / "-home-ada-shop" / "blank.jsonl").write_text("")
    (root / "-home-ada-shop" / "spaces.jsonl").write_text("\n\n   \n")
    assert [row["id"] for row in client.get("/api/conversations").json["conversations"]] == ["ok"]
    body = client.get("/api/conversations/blank?project=-home-ada-shop").json
    assert (body["messages"], body["requestCount"], body["skippedLines"]) == ([], 0, 0)


def test_transcript_lines_of_every_json_type_are_handled(client, root):
    path = root / "-home-ada-shop" / "odd.jsonl"
    odd = [None, 1, "text", [], {"type": None}, {"type": "user", "uuid": 5}, {"type": "user", "uuid": "u",
           "message": "not an object"}, {"type": "assistant", "uuid": "v", "parentUuid": "u",
           "message": {"id": 7, "content": "plain", "usage": {"input_tokens": "lots"}}},
           {"type": "user", "uuid": "w", "parentUuid": "v", "timestamp": "0001-01-01T00:00:00+14:00",
            "message": {"content": "year zero in UTC"}}]
    path.write_text("".join(json.dumps(line) + "\n" for line in odd))
    body = client.get("/api/conversations/odd?project=-home-ada-shop").json
    assert [m["type"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [{"type": "text", "text": "plain"}]
    assert body["messages"][2]["timestamp"] is None
    assert body["skippedLines"] == 4


@pytest.mark.parametrize("depth", DEPTHS)
def test_lines_nested_too_deep_are_skipped_like_any_unreadable_line(client, root, depth):
    session = SessionWriter(root, "/home/ada/deep", "deep", T0)
    session.prompt("Read the nested file")
    session.raw(arrays(depth))
    session.raw('{"type": "user", "message": ' + objects(depth) + "}")
    # Decodes in Python, but deeper than any line should be: skipped before it can fail a response.
    session.user([{"type": "tool_result", "tool_use_id": "t1", "content": json.loads(arrays(MAX_DEPTH))}])
    session.assistant()
    session.write()
    subagent = session.subagent("d1", "Go deeper")
    subagent.raw(objects(depth))
    subagent.write()
    [row] = client.get("/api/conversations/project?project=-home-ada-deep").json["conversations"]
    assert (row["id"], row["requestCount"], row["skippedLines"], row["firstMessage"]) == (
        "deep", 1, 4, "Read the nested file"), "three lines of the session, one of its subagent"
    assert [r["id"] for r in client.get("/api/conversations").json["conversations"]] == ["deep", "ok"]
    response = client.get("/api/conversations/deep?project=-home-ada-deep")
    assert response.status_code == 200
    body = response.json
    assert [m["type"] for m in body["messages"]] == ["user", "assistant"]
    assert body["skippedLines"] == 4
    assert [sub["skippedLines"] for sub in body["subagents"]] == [1]
