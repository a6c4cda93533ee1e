"""The scripted answers that walk Claude Code through a session: the plan, the step taken, the stream."""
import json

import pytest

from bench.claude_code_replies import Session, Step, answer, plan_sessions, sse_events, step_number
from proxy.assembler import MessageAssembler
from proxy.sse import SSEParser


@pytest.fixture
def project(tmp_path):
    """A throwaway project of 30 modules, each with a top-level function."""
    files = []
    for n in range(30):
        name = f"pkg/module_{n}.py"
        (tmp_path / "pkg").mkdir(exist_ok=True)
        (tmp_path / name).write_text(f'"""Module {n}."""\n\n\ndef work_{n}(value):\n    return value + {n}\n')
        files.append(name)
    return tmp_path, files


def _session(steps):
    return Session("s", "do it", steps)


def _body(assistant_turns: int, tools=True) -> dict:
    messages = [{"role": "user", "content": "do it"}]
    for n in range(assistant_turns):
        messages += [{"role": "assistant", "content": [{"type": "text", "text": f"step {n}"}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "ok"}]}]
    return {"model": "claude-opus-4-8", "messages": messages, "tools": [{"name": "Read"}] if tools else [],
            "stream": True}


def test_sessions_have_the_sizes_asked_and_end_with_a_text_answer(project):
    root, files = project
    sessions = plan_sessions(root, files, sizes=(12, 20))
    assert [len(s.steps) for s in sessions] == [12, 20]
    for session in sessions:
        assert all(step.tools for step in session.steps[:-1])
        assert session.steps[-1].tools == []


def test_each_edit_follows_a_read_of_its_file_and_its_old_string_occurs_once(project):
    root, files = project
    edits = 0
    for session in plan_sessions(root, files, sizes=(24,)):
        read = set()
        for step in session.steps:
            for name, arguments in step.tools:
                if name == "Read":
                    read.add(arguments["file_path"])
                if name == "Edit":
                    edits += 1
                    assert arguments["file_path"] in read
                    text = open(arguments["file_path"]).read()
                    assert text.count(arguments["old_string"]) == 1
                    assert arguments["new_string"].endswith(arguments["old_string"])
    assert edits >= 3


def test_the_step_answered_is_the_count_of_assistant_messages_in_the_history():
    session = _session([Step("", "first", [("Bash", {"command": "ls"})]),
                        Step("", "second", [("Read", {"file_path": "/a"})]), Step("", "done")])
    assert step_number(_body(1)) == 1
    first, second = answer(_body(0), session, 1000), answer(_body(1), session, 2000)
    assert [b["name"] for b in first["content"] if b["type"] == "tool_use"] == ["Bash"]
    assert [b["name"] for b in second["content"] if b["type"] == "tool_use"] == ["Read"]
    assert first["stop_reason"] == second["stop_reason"] == "tool_use"
    assert first["content"][-1]["id"] != second["content"][-1]["id"]
    assert answer(_body(2), session, 3000)["stop_reason"] == "end_turn"


def test_a_session_that_runs_past_its_steps_or_a_side_call_gets_a_text_answer():
    session = _session([Step("", "first", [("Bash", {"command": "ls"})]), Step("", "done")])
    for message in (answer(_body(9), session, 100), answer(_body(0), None, 100),
                    answer(_body(0, tools=False), session, 100)):
        assert message["stop_reason"] == "end_turn"
        assert [b["type"] for b in message["content"]] == ["text"]


def test_the_same_request_gets_the_same_answer():
    session = _session([Step("think", "first", [("Bash", {"command": "ls"})]), Step("", "done")])
    assert answer(_body(0), session, 500) == answer(_body(0), session, 500)


def test_the_stream_rebuilds_the_message_and_is_framed_as_the_api_frames_it():
    session = _session([Step("Look first.", "Läuft 👋 " * 5, [("Read", {"file_path": "/ä.py"}),
                                                            ("Bash", {"command": "ls -la"})]), Step("", "done")])
    message = answer(_body(0), session, 80_000)
    events = sse_events(message)
    assert all(e.startswith(b"event: ") and b"\ndata: " in e and e.endswith(b"\n\n") for e in events)
    parser, assembler = SSEParser(), MessageAssembler()
    for event in events:
        for parsed in parser.feed(event):
            assembler.add(parsed)
    names = [e.split(b"\n", 1)[0] for e in events]
    assert names[:2] == [b"event: message_start", b"event: ping"]
    assert names[-2:] == [b"event: message_delta", b"event: message_stop"]
    rebuilt = assembler.result()
    assert rebuilt["content"] == message["content"]
    assert rebuilt["stop_reason"] == "tool_use"
    assert rebuilt["usage"]["output_tokens"] == message["usage"]["output_tokens"]
    assert json.loads(events[0].split(b"data: ", 1)[1])["message"]["usage"]["cache_read_input_tokens"] > 0
