"""A few turns recorded by a real server, exported, read back and replayed through the storage path.

This shows the replay's path works end to end; the figure (b) of the storage suite comes from real
Claude Code captures (bench/claude_code_capture.py, which needs the claude CLI).
"""
import json
import os

import pytest
import requests

import models
from bench import capture_export, storage_suite
from bench.captures import read_captures
from bench.claude_session import session
from bench.procs import free_port
from tests.fake_upstream import session_reply
from tests.gunicorn_server import GunicornServer
from tests.postgres import create_database, drop_database

TURNS = 6


@pytest.fixture
def replay_url(request, tmp_path):
    """A second fresh database of the kind under test, for the replay."""
    if os.environ.get("TEST_DATABASE") != "postgres":
        yield f"sqlite:///{tmp_path}/replay.db"
        return
    url = create_database(request.getfixturevalue("postgres_server"))
    yield url
    drop_database(url)


def _turns(url: str, upstream) -> list[tuple[bytes, bytes]]:
    """A growing Claude Code conversation through the proxy, the last turn not streamed; (sent, answered)."""
    exchanged = []
    for turn, call in enumerate(session(TURNS, seed=5)):
        stream = turn < TURNS - 1
        body = call.request_body if stream else call.request_body.replace(b'"stream": true', b'"stream": false')
        reply = session_reply(call, stream)
        upstream.reply(reply)
        answer = requests.post(url + "/v1/messages?beta=true", data=body, timeout=10,
                               headers={"x-api-key": "sk-ant-replay", "content-type": "application/json",
                                        "anthropic-version": "2023-06-01"})
        assert answer.content == b"".join(reply.chunks)
        exchanged.append((body, answer.content))
    return exchanged


def test_recorded_turns_export_and_replay_byte_for_byte(database_url, replay_url, _upstream_server, upstream,
                                                        tmp_path):
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": database_url}).start()
    try:
        exchanged = _turns(server.url, upstream)
        assert len(server.wait_for_records("TRUE", count=TURNS)) == TURNS
        out = tmp_path / "captures.json"
        assert capture_export.export(server.url, out) == TURNS
    finally:
        assert server.stop() == 0
    assert json.loads(out.read_bytes())[0]["request"]["body"]["model"]  # the proxy's own detail answers

    captures = read_captures(out)
    assert [(c.request_body, c.response_body) for c in captures.calls] == exchanged, "oldest first, bytes as relayed"
    assert (captures.without_body, captures.truncated) == (0, 0)

    previous = models.database.obj
    try:
        replayed = storage_suite.replay_ratio(replay_url, captures.calls)
    finally:
        models.database.initialize(previous)
    relayed = sum(len(sent) + len(answered) for sent, answered in exchanged)
    assert replayed["records"] == TURNS and replayed["byte_exact"]
    assert replayed["relayed_mb"] == relayed / 1e6
    assert 0 < replayed["stored_mb"] < replayed["relayed_mb"]


def test_an_unreachable_proxy_is_reported_without_a_traceback(tmp_path, capsys):
    assert capture_export.main([f"http://127.0.0.1:{free_port()}", str(tmp_path / "out.json")]) == 1
    assert "capture_export: cannot export from http://127.0.0.1:" in capsys.readouterr().err
