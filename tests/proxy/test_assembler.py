"""Reassembling a streamed message: blocks, tool input, usage merge, stop reason, errors."""
import json

import pytest

from proxy.assembler import MessageAssembler, json_value
from proxy.sse import SSEParser
from tests.fake_upstream import FINAL_OUTPUT_TOKENS, USAGE, message_events, sse


def assemble(chunks) -> MessageAssembler:
    parser, assembler = SSEParser(), MessageAssembler()
    for chunk in chunks:
        for event in parser.feed(chunk):
            assembler.add(event)
    return assembler


def test_text_thinking_and_tool_use_blocks_are_rebuilt():
    tool_input = {"file_path": "/src/app.py", "limit": 20, "nested": {"a": [1, 2]}}
    assembler = assemble(message_events("claude-x", text="Let me read it.", thinking="Reading first.",
                                        tool={"name": "Read", "input": tool_input}))
    message = assembler.result()
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
    assert message["content"][0]["thinking"] == "Reading first."
    assert message["content"][0]["signature"] == "c2lnbmF0dXJl"
    assert message["content"][1]["text"] == "Let me read it."
    assert message["content"][2]["input"] == tool_input
    assert message["content"][2]["name"] == "Read"
    assert assembler.stop_reason == "tool_use"
    assert assembler.stopped


def test_usage_merges_message_start_and_message_delta():
    assembler = assemble(message_events("claude-x"))
    assert assembler.usage["input_tokens"] == USAGE["input_tokens"]
    assert assembler.usage["cache_read_input_tokens"] == USAGE["cache_read_input_tokens"]
    assert assembler.usage["output_tokens"] == FINAL_OUTPUT_TOKENS


def test_null_usage_in_delta_keeps_the_start_figure():
    events = message_events("claude-x")[:1] + [sse("message_delta", {
        "type": "message_delta", "delta": {"stop_reason": "max_tokens"},
        "usage": {"output_tokens": 7, "input_tokens": None}})]
    assembler = assemble(events)
    assert assembler.usage["input_tokens"] == USAGE["input_tokens"]
    assert assembler.usage["output_tokens"] == 7
    assert assembler.stop_reason == "max_tokens"


def test_error_event_is_reported():
    events = message_events("claude-x")[:3] + [sse("error", {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    assembler = assemble(events)
    assert assembler.error == "overloaded_error: Overloaded"
    assert not assembler.stopped


def test_malformed_data_is_ignored():
    assembler = assemble([b"event: content_block_delta\ndata: {not json\n\n"] + message_events("m"))
    assert assembler.result()["content"][0]["text"].startswith("Hello")


def test_tool_input_cut_before_block_stop_is_kept_as_text():
    start = message_events("m")[:1]
    partial = [sse("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "tool_use", "name": "Bash", "input": {}}}),
               sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "input_json_delta", "partial_json": '{"comm'}})]
    message = assemble(start + partial).result()
    assert message["content"][0]["input"] == '{"comm'
    json.dumps(message)  # still serialisable for the record


def test_deltas_join_what_the_block_started_with_and_a_wrong_typed_one_is_skipped():
    start = [sse("message_start", {"type": "message_start", "message": {"id": "m", "role": "assistant"}}),
             sse("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": "Hel"}})]
    deltas = [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": text}})
              for text in ("lo", None, 5, ", world")]
    assembler = assemble(start + deltas)
    assert assembler.result()["content"] == [{"type": "text", "text": "Hello, world"}]
    assert assembler.result()["content"][0]["text"] == "Hello, world", "a second call adds nothing twice"


@pytest.mark.parametrize("text", ['{"a": [1, 2.5, -0.0, 1e300, 123456789012345678901234567890]}', '{"a": 1, "a": 2}',
                                  '{"t": "\\ud83d\\ude00 caf\\u00e9"}', '{"x": NaN}', '{"s": "\\ud800"}', '"plain"'])
def test_event_json_reads_as_json_loads_reads_it(text):
    assert json.dumps(json_value(text)) == json.dumps(json.loads(text))  # dumps: NaN equals itself


@pytest.mark.parametrize("text", ['{"a": 1,}', "{", '{"a": 1} x', ""])
def test_malformed_event_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        json_value(text)
