"""Usage detail: the stream merge (split from message_start, counts from message_delta) and the columns."""
import json

from proxy.exchange import Exchange
from proxy.usage import merge_usage, usage_columns
from tests.fake_upstream import sse

START_USAGE = {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 40_000,
               "cache_creation_input_tokens": 3_000,
               "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 2_000},
               "server_tool_use": {"web_search_requests": 0}, "service_tier": "standard",
               "inference_geo": "us"}
DELTA_USAGE = {"input_tokens": 12, "output_tokens": 512, "cache_read_input_tokens": 40_000,
               "cache_creation_input_tokens": 3_000, "server_tool_use": {"web_search_requests": 3,
                                                                         "web_fetch_requests": 1}}


def stream_events(delta_usage: dict) -> list[bytes]:
    return [sse("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-6",
                "content": [], "usage": START_USAGE}}),
            sse("content_block_start", {"type": "content_block_start", "index": 0,
                                        "content_block": {"type": "text", "text": ""}}),
            sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": "hi"}}),
            sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                  "usage": delta_usage}),
            sse("message_stop", {"type": "message_stop"})]


def concluded(chunks: list[bytes], content_type: str) -> dict:
    exchange = Exchange(method="POST", endpoint="/v1/messages", query="", request_headers={})
    exchange.response_started(200, {"content-type": content_type})
    for chunk in chunks:
        exchange.body_chunk(chunk)
    exchange.conclude("complete")
    return exchange.log_row()


def test_a_stream_takes_the_split_tier_and_geo_from_message_start_and_the_counts_from_message_delta():
    row = concluded(stream_events(DELTA_USAGE), "text/event-stream")
    assert (row["output_tokens"], row["cache_creation_input_tokens"]) == (512, 3_000)
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"]) == (1_000, 2_000)
    assert (row["web_search_requests"], row["web_fetch_requests"]) == (3, 1)
    assert (row["service_tier"], row["inference_geo"]) == ("standard", "us")


def test_a_split_updated_in_message_delta_wins_over_the_start_one():
    delta = {**DELTA_USAGE, "cache_creation_input_tokens": 3_500,
             "cache_creation": {"ephemeral_1h_input_tokens": 2_500}}
    row = concluded(stream_events(delta), "text/event-stream")
    assert row["cache_creation_input_tokens"] == 3_500
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"]) == (1_000, 2_500)


def test_a_non_streamed_message_gives_the_same_columns():
    body = {"id": "msg_2", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn",
            "usage": {**START_USAGE, "output_tokens": 512, "speed": "fast",
                      "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0}}}
    row = concluded([json.dumps(body).encode()], "application/json")
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"]) == (1_000, 2_000)
    assert (row["output_tokens"], row["web_search_requests"], row["speed"]) == (512, 2, "fast")
    assert (row["iterations"], row["iteration_count"]) == (None, 0)


def test_a_response_without_the_split_leaves_it_unknown():
    columns = usage_columns({"input_tokens": 5, "cache_creation_input_tokens": 900})
    assert (columns["cache_write_5m_tokens"], columns["cache_write_1h_tokens"]) == (None, None)
    assert columns["cache_creation_input_tokens"] == 900


def test_iterations_keep_their_own_model_and_counts():
    columns = usage_columns({"input_tokens": 10, "output_tokens": 20, "iterations": [
        {"type": "message", "input_tokens": 10, "output_tokens": 20},
        {"type": "advisor_message", "model": "claude-opus-4-6", "input_tokens": 3_000, "output_tokens": 400,
         "cache_read_input_tokens": 100, "cache_creation_input_tokens": 50,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 50}},
        "not an iteration"]})
    first, advisor = json.loads(columns["iterations"])
    assert columns["iteration_count"] == 2
    assert (first["model"], first["input"], first["output"]) == (None, 10, 20)
    assert advisor == {"type": "advisor_message", "model": "claude-opus-4-6", "input": 3_000, "output": 400,
                       "cache_read": 100, "cache_write_5m": 0, "cache_write_1h": 50}


def test_wrong_types_and_nulls_never_erase_or_break_the_figures():
    usage = {"cache_creation": {"ephemeral_1h_input_tokens": 7}}
    merge_usage(usage, {"cache_creation": {"ephemeral_1h_input_tokens": None}, "output_tokens": None})
    merge_usage(usage, "not a dict")
    assert usage == {"cache_creation": {"ephemeral_1h_input_tokens": 7}}
    columns = usage_columns({"input_tokens": "12", "output_tokens": True, "server_tool_use": [1],
                             "cache_creation": {"ephemeral_1h_input_tokens": -4}, "service_tier": 3})
    assert (columns["input_tokens"], columns["output_tokens"], columns["web_search_requests"]) == (0, 0, 0)
    assert (columns["cache_write_1h_tokens"], columns["service_tier"]) == (None, None)
