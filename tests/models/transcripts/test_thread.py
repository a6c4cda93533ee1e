"""Threads: conversation order from uuid/parentUuid links, API messages folded, usage counted once."""
import json

from models.transcripts.thread import Entry, conversation_order, read_thread
from models.transcripts.tree import TranscriptTree
from tests.transcripts import T0, SessionWriter, usage


def entry(uuid, parent=None, line=0):
    return Entry(type="user", uuid=uuid, parent_uuid=parent, timestamp_ms=None, line=line)


def order(entries):
    return [e.uuid for e in conversation_order(entries)]


def test_children_follow_their_parent_whatever_the_file_order():
    assert order([entry("c", "b"), entry("a"), entry("b", "a")]) == ["a", "b", "c"]


def test_a_rewind_branch_comes_after_the_abandoned_one():
    # The user went back to "a" and asked again: "b" and "b2" are siblings in file order.
    assert order([entry("a"), entry("b", "a"), entry("c", "b"), entry("b2", "a"), entry("c2", "b2")]) == [
        "a", "b", "c", "b2", "c2"]


def test_several_roots_and_unknown_parents_keep_file_order():
    assert order([entry("a"), entry("x", "gone"), entry("b", "a")]) == ["a", "b", "x"]


def test_cycles_and_self_parents_lose_nothing():
    assert sorted(order([entry("a", "b"), entry("b", "a"), entry("c", "c")])) == ["a", "b", "c"]


def test_a_chain_thousands_deep():
    chain = [entry("n0")] + [entry(f"n{i}", f"n{i - 1}") for i in range(1, 20_000)]
    assert order(list(reversed(chain)))[-1] == "n19999"


def session_files(tmp_path, session):
    session.write()
    return TranscriptTree(str(tmp_path)).session(session.folder, session.session_id)


def test_a_compaction_boundary_keeps_its_logical_parent(tmp_path):
    session = SessionWriter(tmp_path, "/p", "s", T0)
    session.prompt("before")
    session.assistant()
    boundary = session.line("system", parent=None, subtype="compact_boundary", logicalParentUuid=session.parent)
    session.user("This session is being continued from a previous conversation...", isCompactSummary=True)
    session.prompt("after")
    thread = read_thread(session_files(tmp_path, session).main)
    assert [e.type for e in thread.entries] == ["user", "assistant", "system", "user", "user"]
    assert thread.entries[2].uuid == boundary["uuid"]


def test_usage_once_per_api_message_even_when_its_lines_are_apart(tmp_path):
    session = SessionWriter(tmp_path, "/p", "s", T0)
    session.prompt("go")
    first, second = session.assistant({"type": "text", "text": "a"}, {"type": "tool_use", "id": "t1", "name": "Bash",
                                                                       "input": {}}, tokens=usage(5, 7, 0, 0))
    session.user([{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}])
    again = dict(second, uuid="late", parentUuid=session.parent)  # a line of the same message after the result
    session.lines.append(again)
    thread = read_thread(session_files(tmp_path, session).main)
    assert thread.request_count == 1
    assert thread.usage == {"input_tokens": 5, "output_tokens": 7, "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0}
    assert [len(e.content) for e in thread.entries] == [2, 2, 1, 1]


def test_synthetic_messages_are_not_api_calls(tmp_path):
    session = SessionWriter(tmp_path, "/p", "s", T0)
    session.prompt("go")
    session.assistant({"type": "text", "text": "API Error: overloaded"}, model="<synthetic>")
    thread = read_thread(session_files(tmp_path, session).main)
    assert thread.request_count == 0 and thread.entries[-1].model == "<synthetic>"


def test_a_line_without_uuid_is_an_event(tmp_path):
    session = SessionWriter(tmp_path, "/p", "s", T0)
    session.prompt("go")
    session.raw(json.dumps({"type": "queue-operation", "operation": "enqueue"}))
    thread = read_thread(session_files(tmp_path, session).main)
    assert thread.events == [{"type": "queue-operation", "operation": "enqueue"}]
