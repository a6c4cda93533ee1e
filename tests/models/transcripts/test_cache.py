"""The transcript cache: files read once, appends read alone, rewrites re-read, threads bounded."""
import os

from models.transcripts.cache import TranscriptCache
from models.conversations import ConversationStore
from models.transcripts.tree import prefetch
from tests.transcripts import T0, SessionWriter


def session(root, session_id="s1", turns=3):
    writer = SessionWriter(root, "/home/ada/shop", session_id, T0)
    for turn in range(turns):
        writer.prompt(f"turn {turn}")
        writer.assistant()
    writer.write()
    return writer


def test_unchanged_files_are_not_read_again(tmp_path):
    session(tmp_path)
    store = ConversationStore(str(tmp_path))
    first = store.transcript_sessions()
    read = store.cache.parsed_bytes
    assert read == os.path.getsize(tmp_path / "-home-ada-shop" / "s1.jsonl")
    assert store.transcript_sessions() == first
    assert store.cache.parsed_bytes == read


def test_an_append_is_read_alone(tmp_path):
    writer = session(tmp_path)
    store = ConversationStore(str(tmp_path))
    [before] = store.transcript_sessions()
    size = writer.path.stat().st_size
    writer.lines = []
    writer.prompt("and one more")
    writer.assistant()
    with open(writer.path, "a") as file:
        file.write(writer.text())
    [after] = store.transcript_sessions()
    assert store.cache.parsed_bytes == writer.path.stat().st_size, "only the new lines were read"
    assert store.cache.parsed_bytes - size == len(writer.text().encode())
    assert after.request_count == before.request_count + 1
    assert after.first_message == "turn 0" and after.last_ms > before.last_ms


def test_a_rewritten_file_is_read_from_the_start(tmp_path):
    session(tmp_path, turns=3)
    store = ConversationStore(str(tmp_path))
    assert store.transcript_sessions()[0].request_count == 3
    replacement = tmp_path / "new.jsonl"
    writer = SessionWriter(tmp_path, "/home/ada/shop", "s1", T0)
    writer.prompt("different start")
    for _ in range(4):
        writer.assistant()
    replacement.write_text(writer.text())
    os.replace(replacement, tmp_path / "-home-ada-shop" / "s1.jsonl")  # a new inode, as an editor saves
    [summary] = store.transcript_sessions()
    assert (summary.request_count, summary.first_message) == (4, "different start")


def test_deleted_files_leave_the_cache(tmp_path):
    for name in ("a", "b"):
        session(tmp_path, name)
    store = ConversationStore(str(tmp_path))
    store.transcript_sessions()
    os.remove(tmp_path / "-home-ada-shop" / "a.jsonl")
    assert [s.id for s in store.transcript_sessions()] == ["b"]
    assert len(store.cache._summaries) == 1


def test_whole_threads_are_kept_for_a_few_sessions_only(tmp_path, migrated):
    for index in range(5):
        session(tmp_path, f"s{index}")
    store = ConversationStore(str(tmp_path), TranscriptCache(max_threads=2))
    for index in range(5):
        store.conversation("-home-ada-shop", f"s{index}")
    assert list(key[1] for key in store.cache._threads) == ["s3", "s4"]
    size = (tmp_path / "-home-ada-shop" / "s0.jsonl").stat().st_size
    small = ConversationStore(str(tmp_path), TranscriptCache(max_thread_bytes=size - 1))
    assert small.conversation("-home-ada-shop", "s0").thread.request_count == 3
    assert not small.cache._threads, "a thread bigger than the budget is served, not kept"


def test_a_cached_thread_is_rebuilt_when_a_subagent_file_changes(tmp_path, migrated):
    writer = session(tmp_path)
    sub = writer.subagent("ag", "look around")
    sub.assistant()
    writer.write()
    store = ConversationStore(str(tmp_path))
    assert store.conversation("-home-ada-shop", "s1").subagents[0].request_count == 1
    sub.assistant()
    sub.write()
    assert store.conversation("-home-ada-shop", "s1").subagents[0].request_count == 2


def test_prefetching_a_file_that_vanished_or_changed_kind_is_harmless(tmp_path):
    writer = session(tmp_path)
    [files] = ConversationStore(str(tmp_path)).tree.sessions()
    prefetch(files.main)
    os.remove(writer.path)
    prefetch(files.main)
    os.mkfifo(writer.path)  # a FIFO in its place: opened without blocking, then refused
    prefetch(files.main)
    assert ConversationStore(str(tmp_path)).transcript_sessions() == []
