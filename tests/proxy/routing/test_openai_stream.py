"""OpenAI chunks become a real Anthropic event stream, as they arrive, whatever the chunk boundaries."""
import json

from proxy.assembler import MessageAssembler
from proxy.routing.providers.openai_stream import StreamTranslator, message_events
from proxy.sse import SSEParser
from tests.fake_openai import chunk, data_line, split_writes, stream_events

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}},
         {"type": "function", "function": {"name": "get_time", "parameters": {}}}]


def translate(writes: list[bytes]) -> tuple[list[tuple[str, dict]], list[bytes]]:
    """Events (name, data) of the translated stream, and the bytes emitted per write."""
    translator, parser, emitted = StreamTranslator("gpt-4o-mini"), SSEParser(), []
    for write in writes:
        emitted.append(translator.feed(write))
    emitted.append(translator.finish())
    events = [(e.event, json.loads(e.data)) for e in parser.feed(b"".join(emitted))]
    return events, emitted


def assembled(events) -> dict:
    assembler = MessageAssembler()
    parser = SSEParser()
    for event in parser.feed(b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)):
        assembler.add(event)
    return assembler.result()


def test_text_then_two_tool_calls_split_across_chunks_get_their_own_blocks():
    request = {"messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS}
    events, _ = translate(split_writes(stream_events(request), size=7))
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    blocks = [(name, data["index"]) for name, data in events if name in ("content_block_start", "content_block_stop")]
    # The text stops when the first call starts; calls stop when the choice finishes.
    assert blocks == [("content_block_start", 0), ("content_block_stop", 0), ("content_block_start", 1),
                      ("content_block_start", 2), ("content_block_stop", 1), ("content_block_stop", 2)]
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[1] == {"type": "tool_use", "id": "call_fake0", "name": "get_weather", "input": {}}
    assert all(data["delta"]["type"] == "input_json_delta" for name, data in events
               if name == "content_block_delta" and data["index"] > 0)
    message = assembled(events)
    assert [block.get("input") for block in message["content"][1:]] == [{"city": "Paris", "unit": "celsius"}] * 2
    assert message["content"][0]["text"] == "Let me check."
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 20, "output_tokens": 17, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 100}


def test_events_go_out_as_the_chunks_arrive():
    writes = [data_line(chunk({"role": "assistant", "content": ""})), data_line(chunk({"content": "Hel"})),
              data_line(chunk({"content": "lo"})), data_line(chunk(finish="stop")), data_line("[DONE]")]
    _, emitted = translate(writes)
    assert b"message_start" in emitted[0]
    assert b'"text": "Hel"' in emitted[1] and b"content_block_start" in emitted[1]
    assert b'"text": "lo"' in emitted[2]
    assert b"message_stop" in emitted[4] and emitted[5] == b""


def test_a_tool_fragment_after_the_next_call_started_keeps_its_index():
    writes = [data_line(chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]})),
              data_line(chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]})),
              data_line(chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]})),
              data_line(chunk(finish="tool_calls")), data_line("[DONE]")]
    events, _ = translate(writes)
    message = assembled(events)
    assert [(b["id"], b["input"]) for b in message["content"]] == [("a", {"x": 1}), ("b", {})]


def test_calls_without_an_index_or_all_at_index_0_are_told_apart_by_their_ids():
    for first, second in (({}, {}), ({"index": 0}, {"index": 0})):
        writes = [data_line(chunk({"tool_calls": [{**first, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]})),
                  data_line(chunk({"tool_calls": [{**first, "function": {"arguments": ": 1}"}}]})),
                  data_line(chunk({"tool_calls": [{**second, "id": "b", "function": {"name": "g", "arguments": "{}"}}]})),
                  data_line(chunk(finish="tool_calls")), data_line("[DONE]")]
        events, _ = translate(writes)
        message = assembled(events)
        assert [(b["id"], b["name"], b["input"]) for b in message["content"]] == [("a", "f", {"x": 1}), ("b", "g", {})]


def test_tool_calls_that_finish_with_stop_are_a_tool_use_turn():
    writes = [data_line(chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]})),
              data_line(chunk(finish="stop")), data_line("[DONE]")]
    events, _ = translate(writes)
    assert assembled(events)["stop_reason"] == "tool_use"
    events, _ = translate([data_line(chunk({"content": "Hi"})), data_line(chunk(finish="stop")), data_line("[DONE]")])
    assert assembled(events)["stop_reason"] == "end_turn"


def test_a_stream_that_ends_without_finishing_ends_with_an_error_event():
    events, _ = translate([data_line(chunk({"content": "Hi"}))])
    assert events[-1] == ("error", {"type": "error", "error": {
        "type": "api_error", "message": "the provider's stream ended before the message finished"}})


def test_an_error_in_the_stream_becomes_an_error_event():
    events, _ = translate([data_line(chunk({"content": "Hi"})), data_line({"error": {"message": "overloaded"}}),
                           data_line(chunk({"content": "ignored"}))])
    assert events[-1][0] == "error" and events[-1][1]["error"]["message"] == "overloaded"
    assert not [data for name, data in events if name == "content_block_delta" and data["delta"]["text"] == "ignored"]


def test_an_error_event_never_quotes_the_providers_key():
    translator = StreamTranslator("m", api_key="sk-local-secret")
    out = translator.feed(data_line({"error": {"message": "key sk-local-secret was revoked"}}))
    assert b"sk-local-secret" not in out and b"key [redacted] was revoked" in out


def test_a_whole_message_replayed_as_events_assembles_to_itself():
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_sequence": None,
               "content": [{"type": "text", "text": "Hi"},
                           {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": [1, 2]}}],
               "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 4,
                                                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5}}
    events = [(e.event, json.loads(e.data)) for e in SSEParser().feed(message_events(message))]
    assert assembled(events) == message
