"""An exchange keeps the relayed stream and derives its message, usage and outcome when it ends."""
import json

import gevent

from proxy import exchange as exchange_module
from proxy.exchange import Exchange
from tests.fake_upstream import FINAL_OUTPUT_TOKENS, message_events, sse


def streaming_exchange() -> Exchange:
    exchange = Exchange(method="POST", endpoint="/v1/messages", query="", request_headers={})
    exchange.response_started(200, {"content-type": "text/event-stream"})
    return exchange


def split_everywhere(data: bytes, step: int) -> list[bytes]:
    return [data[i:i + step] for i in range(0, len(data), step)]


def test_a_stream_split_at_any_byte_gives_the_whole_message():
    stream = b"".join(message_events("claude-x", text="Hello there, caf\u00e9 \u2615",
                                     tool={"name": "Read", "input": {"file_path": "/a.py"}}))
    for step in (1, 2, 3, 7, 64, len(stream)):
        exchange = streaming_exchange()
        for chunk in split_everywhere(stream, step):
            exchange.body_chunk(chunk)
        exchange.conclude("complete")
        assert exchange.outcome == "complete"
        assert exchange.stop_reason == "tool_use"
        assert exchange.usage["output_tokens"] == FINAL_OUTPUT_TOKENS
        blocks = exchange.response_message["content"]
        assert blocks[0]["text"] == "Hello there, caf\u00e9 \u2615", f"split every {step} bytes"
        assert blocks[1]["input"] == {"file_path": "/a.py"}


def test_mid_event_says_whether_the_relayed_bytes_stopped_inside_an_event():
    events = message_events("claude-x")
    exchange = streaming_exchange()
    exchange.body_chunk(events[0])
    assert not exchange.mid_event
    exchange.body_chunk(events[1][:10])
    assert exchange.mid_event
    exchange.body_chunk(events[1][10:])
    assert not exchange.mid_event
    for chunk in events[2:]:
        exchange.body_chunk(chunk)
    exchange.conclude("complete")  # chunks seen by mid_event are not parsed twice
    assert exchange.usage["output_tokens"] == FINAL_OUTPUT_TOKENS
    assert len(exchange.response_message["content"]) == 1


def test_an_error_event_turns_a_complete_stream_into_a_stream_error():
    exchange = streaming_exchange()
    for chunk in message_events("claude-x")[:3]:
        exchange.body_chunk(chunk)
    exchange.body_chunk(sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    exchange.conclude("complete")
    assert exchange.outcome == "stream_error"
    assert "Overloaded" in exchange.error


def test_a_long_stream_is_parsed_whole_and_lets_other_greenlets_run(monkeypatch):
    monkeypatch.setattr(exchange_module, "PARSE_SLICE_BYTES", 1024)
    monkeypatch.setattr(exchange_module.time, "sleep", gevent.sleep)  # as gunicorn's gevent worker patches it
    events = message_events("claude-x")
    deltas = [sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": f"word{n} "}})
              for n in range(400)]
    exchange = streaming_exchange()
    for chunk in events[:2] + deltas + events[2:]:  # after message_start and content_block_start
        exchange.body_chunk(chunk)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0)) for _ in range(1000)])
    exchange.conclude("complete")
    ticker.kill()
    text = exchange.response_message["content"][0]["text"]
    assert text == "".join(f"word{n} " for n in range(400)) + "Hello from the fake upstream. Grüße! 👋"
    assert ticks, "the parse of a long stream yields to other greenlets between slices"
    assert json.dumps(exchange.response_message)
