"""Reading transcript lines: bounded, tolerant, cooperative; prompts told apart from what Claude Code adds."""
import io
import json

import gevent

from models.transcripts import lines as transcript_lines
from models.transcripts.lines import clip, prompt_text, read_lines, spawned_agent, timestamp_ms


def lines_of(data: bytes, start=0, end=None):
    return list(read_lines(io.BytesIO(data), start, len(data) if end is None else end))


def test_complete_lines_blank_lines_and_a_partial_tail():
    data = b'{"a": 1}\n\n   \n{"b": 2}\n{"c": '
    assert lines_of(data) == [(9, {"a": 1}, True), (23, {"b": 2}, True), (len(data), None, False)]


def test_lines_across_read_chunks(monkeypatch):
    monkeypatch.setattr(transcript_lines, "CHUNK", 5)
    data = b'{"a": 1}\n  \n{"b": "long enough to span chunks"}\n{"c": 3}'
    assert [line for _, line, _ in lines_of(data)] == [{"a": 1}, {"b": "long enough to span chunks"}, {"c": 3}]
    assert lines_of(data, start=9)[0][1] == {"b": "long enough to span chunks"}


def test_a_finished_last_line_without_newline_still_decodes():
    assert lines_of(b'{"a": 1}\n{"b": 2}')[-1] == (17, {"b": 2}, False)


def test_reading_stops_at_the_size_that_was_listed():
    data = b'{"a": 1}\n{"b": 2}\n'
    assert lines_of(data, end=9) == [(9, {"a": 1}, True)], "bytes appended after the stat are not read"
    assert lines_of(data, start=9) == [(18, {"b": 2}, True)]


def test_malformed_lines_decode_to_none():
    data = b'{"a": 1\n[1, 2]\n"text"\n\xff\xfe\n{"ok": true}\n'
    assert [line for _, line, _ in lines_of(data)] == [None, None, None, None, {"ok": True}]


def test_oversized_lines_are_skipped_without_being_held(monkeypatch):
    monkeypatch.setattr(transcript_lines, "MAX_LINE", 64)
    monkeypatch.setattr(transcript_lines, "CHUNK", 16)
    data = b'{"a": 1}\n{"big": "' + b"x" * 1000 + b'"}\n{"b": 2}\n'
    assert [(line, complete) for _, line, complete in lines_of(data)] == [({"a": 1}, True), (None, True),
                                                                            ({"b": 2}, True)]


def test_big_files_are_read_cooperatively(monkeypatch):
    # Under gunicorn's gevent worker time.sleep is gevent's; here the module's is swapped for it.
    monkeypatch.setattr(transcript_lines.time, "sleep", gevent.sleep)
    monkeypatch.setattr(transcript_lines, "CHUNK", 64 * 1024)
    data = (json.dumps({"type": "user", "text": "z" * 1000}) + "\n").encode() * 2000  # 2 MB
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0) for _ in range(10_000)])
    reader = gevent.spawn(lambda: len(lines_of(data)))
    reader.join()
    ticker.kill()
    assert reader.value == 2000
    assert len(ticks) >= 20, "other greenlets ran while the file was parsed"


def test_timestamps():
    assert timestamp_ms("2026-11-18T11:06:40.123Z") == 1_795_000_000_123
    assert timestamp_ms("2026-11-18T12:06:40.123+01:00") == 1_795_000_000_123
    assert timestamp_ms("2026-11-18T11:06:40.123") == 1_795_000_000_123
    assert timestamp_ms("yesterday") is None and timestamp_ms(17) is None
    assert timestamp_ms("0001-01-01T00:00:00+14:00") is None and timestamp_ms("3001-01-01T00:00:00Z") is None


def test_prompts_skip_reminders_caveats_commands_and_tool_results():
    assert prompt_text({"content": "Fix it"}) == "Fix it"
    assert prompt_text({"content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"},
                                    {"type": "text", "text": "  Real one  "}]}) == "Real one"
    assert prompt_text({"content": "<system-reminder>ctx</system-reminder>\nInline prompt"}) == "Inline prompt"
    for not_typed in ("<local-command-caveat>Caveat: ...</local-command-caveat>",
                      "<command-name>/clear</command-name>", "<local-command-stdout></local-command-stdout>",
                      "[Request interrupted by user]", "<system-reminder>unclosed"):
        assert prompt_text({"content": not_typed}) is None, not_typed
    assert prompt_text({"content": [{"type": "tool_result", "tool_use_id": "t", "content": "out"}]}) is None
    assert prompt_text({"content": [{"type": "image", "source": {}}]}) is None


def test_clip_cuts_at_a_character_boundary():
    assert clip("a  b\n\nc") == "a b c"
    assert clip("é" * 300) == "é" * 199 + "…"
    # A combining accent stays with its letter; a family emoji is not left with a dangling joiner.
    assert clip("e\u0301" * 150) == "e\u0301" * 99 + "…"
    assert clip("x" * 196 + "👨\u200d👩\u200d👧") == "x" * 196 + "👨…"


def test_the_subagent_a_tool_result_names():
    assert spawned_agent({"toolUseResult": {"agentId": "a1"}}) == "a1"
    text = {"message": {"content": [{"type": "tool_result", "content": [{"type": "text", "text": "ok\nagentId: b2"}]}]}}
    assert spawned_agent(text) == "b2"
    assert spawned_agent({"message": {"content": "agentId: not-a-result"}}) is None
