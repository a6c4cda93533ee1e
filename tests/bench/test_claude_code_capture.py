"""The capture driver without Claude Code: its message when claude is missing, its fake API, its resend check."""
import json

import pytest
import requests

from bench import claude_code_capture
from bench.claude_code_capture import CaptureError, ScriptedClaude, duplicates, find_claude
from bench.claude_code_replies import Session, Step
from tests.fake_upstream import Seen


def test_a_missing_claude_says_what_to_install(tmp_path):
    with pytest.raises(CaptureError, match="npm install -g @anthropic-ai/claude-code"):
        find_claude(str(tmp_path / "claude"))


def test_main_exits_2_with_the_install_hint_and_no_traceback(tmp_path, capsys):
    status = claude_code_capture.main([str(tmp_path / "out.json"), "--claude", str(tmp_path / "nowhere")])
    assert status == 2
    assert "@anthropic-ai/claude-code" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


@pytest.fixture
def scripted():
    upstream = ScriptedClaude().start()
    upstream.sessions["abc"] = Session("s", "go", [Step("", "reading", [("Read", {"file_path": "/x"})]),
                                                   Step("", "done")])
    yield upstream
    upstream.stop()


def _post(upstream, body, path="/v1/messages"):
    return requests.post(upstream.url + path + "?beta=true", json=body, timeout=10,
                         headers={"x-claude-code-session-id": "abc"})


def test_a_streamed_call_gets_chunked_sse_of_its_step(scripted):
    answer = _post(scripted, {"model": "m", "messages": [{"role": "user", "content": "go"}],
                              "tools": [{"name": "Read"}], "stream": True})
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["transfer-encoding"] == "chunked"
    assert '"name":"Read"' in answer.text
    assert '"stop_reason":"tool_use"' in answer.text
    assert answer.text.rstrip().endswith('data: {"type":"message_stop"}')


def test_a_call_without_stream_gets_the_message_as_json(scripted):
    answer = _post(scripted, {"model": "m", "messages": [{"role": "user", "content": "go"}],
                              "tools": [{"name": "Read"}]})
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["content"][-1]["name"] == "Read"


def test_count_tokens_gets_the_fake_apis_own_answer(scripted):
    answer = _post(scripted, {"model": "m", "messages": []}, path="/v1/messages/count_tokens")
    assert answer.json() == {"input_tokens": 1234}
    assert [s.path for s in scripted.seen] == ["/v1/messages/count_tokens"]


def test_a_call_sent_again_without_stream_counts_as_a_duplicate():
    def seen(body):
        return Seen("POST", "/v1/messages", "beta=true", {}, json.dumps(body).encode())

    first = {"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True}
    later = {"model": "m", "messages": [{"role": "user", "content": "go on"}], "stream": True}
    assert duplicates([seen(first), seen(later)]) == 0
    assert duplicates([seen(first), seen({**first, "stream": False}), seen(later)]) == 1
