"""Body capture: the settings decide which records keep their bodies and how much; typed columns stay."""
import json
import logging
import time

import anthropic
import pytest

import models
from models.settings import BODY_CAPTURE, BODY_MAX_BYTES, save_settings
from proxy.recording.body_capture import BodyCapture, captured_rows
from proxy.exchange import Exchange
from tests.fake_upstream import FINAL_OUTPUT_TOKENS, Reply, message_events, sse
from tests.records import stored_body

SECRET = "sk-ant-api03-TEST-SECRET-never-stored"
PROMPT = "Summarise the relay code. " * 200  # about 5 KB of request body


@pytest.fixture
def sdk(live_proxy):
    return anthropic.Anthropic(api_key=SECRET, base_url=live_proxy, max_retries=0)


def apply_settings(client, app, **fields):
    """Save capture settings through the API and wait until the proxy's poller holds them."""
    response = client.put("/api/settings", json=fields)
    assert response.status_code == 200, response.json
    wanted = BodyCapture(mode=response.json["bodyCapture"], max_bytes=response.json["bodyMaxBytes"] or 0)
    poller = app.extensions["proxy"].settings
    deadline = time.monotonic() + 5
    while poller.capture != wanted:
        assert time.monotonic() < deadline, "the settings poller never loaded the capture settings"
        time.sleep(0.05)


def stream_once(sdk, prompt=PROMPT):
    with sdk.messages.stream(model="claude-sonnet-4-6", max_tokens=64,
                             messages=[{"role": "user", "content": prompt}]) as stream:
        return "".join(stream.text_stream)


def detail(client, records):
    [row] = records()
    response = client.get(f"/api/requests/{row['id']}")
    assert response.status_code == 200
    return row, response.json["request"]


def test_bodies_over_the_cap_are_cut_and_flagged_while_the_message_survives(app, client, sdk, records):
    apply_settings(client, app, bodyMaxBytes=1000)
    assert stream_once(sdk) == "Hello from the fake upstream. Grüße! 👋"
    row, shown = detail(client, records)
    assert row["request_bytes"] > 5000 and row["response_bytes"] > 1000, "the full sizes are kept"
    assert shown["requestBodyTruncated"] is True and shown["response"]["bodyTruncated"] is True
    assert shown["bodiesOmitted"] is None
    assert isinstance(shown["body"], str) and len(shown["body"].encode()) <= 1000
    assert shown["body"].startswith('{"max_tokens":64,"messages":[{"role":"user","content":"Summarise')
    assert len(shown["response"]["body"].encode()) <= 1000
    assert shown["response"]["body"].startswith("event: message_start")
    # The reassembled message (a few hundred bytes) is whole although the raw events were cut.
    assert shown["response"]["message"]["content"] == [{"type": "text", "text": "Hello from the fake upstream. Grüße! 👋"}]
    assert shown["response"]["usage"]["output_tokens"] == FINAL_OUTPUT_TOKENS


def test_bodies_under_the_cap_are_whole_and_unflagged(app, client, sdk, records):
    stream_once(sdk, prompt="Hi")  # the default cap, 1 MiB
    row, shown = detail(client, records)
    assert shown["requestBodyTruncated"] is False and shown["response"]["bodyTruncated"] is False
    assert shown["body"]["messages"] == [{"role": "user", "content": "Hi"}]
    assert shown["response"]["body"].endswith('event: message_stop\ndata: {"type": "message_stop"}\n\n')


def test_no_cap_keeps_every_byte(app, client, sdk, records):
    apply_settings(client, app, bodyMaxBytes=0)
    stream_once(sdk, prompt="x" * 2_000_000)
    row, shown = detail(client, records)
    assert shown["requestBodyTruncated"] is False
    assert len(json.dumps(shown["body"], separators=(",", ":"))) == row["request_bytes"]


def test_capture_none_keeps_every_typed_column_and_the_headers(app, client, sdk, records):
    apply_settings(client, app, bodyCapture="none")
    stream_once(sdk)
    row, shown = detail(client, records)
    assert (row["outcome"], row["status_code"], row["output_tokens"]) == ("complete", 200, FINAL_OUTPUT_TOKENS)
    assert row["input_tokens"] == 1200 and row["ttfb_ms"] is not None and row["response_time_ms"] is not None
    assert row["request_bytes"] > 5000 and row["response_bytes"] > 0
    assert shown["bodiesOmitted"] == "capture"
    assert shown["body"] == "" and shown["response"]["body"] is None and shown["response"]["message"] is None
    assert shown["headers"]["anthropic-version"] and "x-api-key" not in json.dumps(shown["headers"]).lower()


def test_capture_errors_keeps_only_failed_requests_bodies(app, client, sdk, upstream, records):
    apply_settings(client, app, bodyCapture="errors")
    stream_once(sdk, prompt="fine")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    upstream.reply(Reply(status=529, chunks=[json.dumps(error).encode()], content_type="application/json"))
    with pytest.raises(anthropic.APIStatusError):
        stream_once(sdk, prompt="overloaded")
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", drop_after=3))
    with pytest.raises(anthropic.APIError):
        stream_once(sdk, prompt="dropped")
    rows = {json.loads(stored_body(row["id"]).request_body or "{}").get("messages", [{}])[0]
            .get("content"): row for row in records()}
    assert set(rows) == {None, "overloaded", "dropped"}, "only the two failures keep a request body"
    kept = {row["outcome"]: row["bodies_omitted"] for row in records()}
    assert kept == {"complete": "capture", "upstream_error": None, "upstream_dropped": None}
    overloaded = stored_body(rows["overloaded"]["id"])
    assert json.loads(overloaded.response_body) == error


def exchange_with(chunks: list[bytes], request_body: bytes = b"{}") -> Exchange:
    exchange = Exchange(method="POST", endpoint="/v1/messages", query="", request_headers={})
    exchange.request_body = request_body
    exchange.response_started(200, {"content-type": "text/event-stream"})
    for chunk in chunks:
        exchange.body_chunk(chunk)
    exchange.conclude("complete")
    return exchange


def test_a_cut_never_splits_a_character():
    exchange = exchange_with(message_events("m"), request_body="ü".encode() * 10)  # 2 bytes each
    log_row, body_row = captured_rows(exchange, BodyCapture(max_bytes=7))
    assert body_row["request_body"] == "üüü".encode(), "the half character at byte 7 is left out, not replaced"
    assert log_row["request_body_truncated"] is True


def test_a_message_bigger_than_the_cap_is_left_out_not_cut():
    text = "word " * 400
    events = message_events("m", text=text)
    exchange = exchange_with(events)
    log_row, body_row = captured_rows(exchange, BodyCapture(max_bytes=1500))
    assert body_row["response_message"] is None
    assert log_row["response_body_truncated"] is True
    assert len(body_row["response_body"]) <= 1500
    whole_log, whole_body = captured_rows(exchange, BodyCapture(max_bytes=0))
    assert json.loads(whole_body["response_message"])["content"][0]["text"] == text
    assert whole_body["response_body"] == b"".join(events)
    assert whole_log["response_body_truncated"] is False


def test_a_body_exactly_at_the_cap_is_not_truncated():
    events = [sse("ping", {"type": "ping"})]
    exchange = exchange_with(events, request_body=b"x" * 50)
    log_row, body_row = captured_rows(exchange, BodyCapture(max_bytes=50))
    assert body_row["request_body"] == b"x" * 50 and log_row["request_body_truncated"] is False


def test_bodies_are_kept_as_the_bytes_relayed_whatever_they_hold():
    request = b'{"a": "\xff\xfe latin-1 \xe9", "b": "\x00"}'
    events = [b"event: ping\ndata: {\"type\": \"ping\", \"x\": \"\xc3\"}\n\n"]
    log_row, body_row = captured_rows(exchange_with(events, request_body=request), BodyCapture(max_bytes=0))
    assert (body_row["request_body"], body_row["response_body"]) == (request, events[0])
    cut = captured_rows(exchange_with(events, request_body=b"\xff" * 10), BodyCapture(max_bytes=4))[1]
    assert cut["request_body"] == b"\xff" * 4, "bytes that are not UTF-8 are cut where the cap falls"


def test_the_poller_ignores_capture_values_the_api_would_refuse(app, caplog):
    save_settings({BODY_CAPTURE: "sometimes", BODY_MAX_BYTES: -3})
    poller = app.extensions["proxy"].settings
    with caplog.at_level(logging.WARNING, logger="proxy.recording.body_capture"):
        assert poller.refresh() is True
    assert poller.capture == BodyCapture()
    assert "ignoring setting body_capture='sometimes'" in caplog.text
    save_settings({BODY_CAPTURE: "errors", BODY_MAX_BYTES: None})
    assert poller.refresh() is True
    assert poller.capture == BodyCapture(mode="errors", max_bytes=0)
