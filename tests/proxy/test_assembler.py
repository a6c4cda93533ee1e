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


def raw_delta(data) -> bytes:
    return b"event: content_block_delta\ndata: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) \
        + b"\n\n"


ODD_STREAMS = {
    "tool and thinking": message_events("m", thinking="Hmm.", tool={"name": "Read", "input": {"a": [1]}}),
    "malformed and pings": [b"event: content_block_delta\ndata: {not json\n\n", b"event: ping\ndata: x\n\n"]
    + message_events("m"),
    "odd deltas": message_events("m")[:2] + [raw_delta(data) for data in (
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": None}},
        {"type": "content_block_delta", "index": 0, "delta": {"text": "untyped"}},
        {"type": "content_block_delta", "index": 0, "delta": None},
        {"type": "content_block_delta", "index": True, "delta": {"type": "text_delta", "text": "bool"}},
        {"type": "content_block_delta", "index": 1.0, "delta": {"type": "text_delta", "text": "float"}},
        {"type": "message_stop"},
        {"index": 2, "delta": {"type": "text_delta", "text": "no type"}},
        {"type": "content_block_delta", "delta": {"type": "text_delta"}},
        {"type": "content_block_delta", "index": 0, "index ": 3, "delta": {"type": "text_delta", "text": "a",
                                                                           "text": "twice"}},
        {"type": "content_block_delta", "index": 4, "delta": {"type": "citations_delta", "citation": {"x": 1}}},
        {"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": 7}},
        {"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": '{"a'}},
        {"type": "content_block_stop", "index": 5},
        {"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": '1'}},
    )] + [raw_delta(b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\xff\\ud800"}}'),
          raw_delta(b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":NaN}}'),
          b"event:content_block_delta\ndata:{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tight\"}}\n\n",
          b"event: content_block_delta\r\ndata: {\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"cr\"}}\r\n\r\n",
          b"data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"unnamed\"}}\n\n",
          b"event: content_block_delta\ndata: {\"delta\":\ndata: {\"type\":\"text_delta\",\"text\":\"two lines\"}}\n\n"]
    + message_events("m")[-2:],
}


@pytest.mark.parametrize("name", ODD_STREAMS)
@pytest.mark.parametrize("split", [None, 1, 7, 64])
def test_undecoded_events_in_bulk_read_as_one_by_one(name, split):
    stream = b"".join(ODD_STREAMS[name])
    chunks = [stream] if split is None else [stream[i:i + split] for i in range(0, len(stream), split)]
    one_by_one, parser = assemble(chunks), SSEParser()
    bulk = MessageAssembler()
    for chunk in chunks:
        bulk.add_raw(parser.feed_raw(chunk))
    assert json.dumps(bulk.result()) == json.dumps(one_by_one.result())
    assert (bulk.usage, bulk.error, bulk.stopped) == (one_by_one.usage, one_by_one.error, one_by_one.stopped)
