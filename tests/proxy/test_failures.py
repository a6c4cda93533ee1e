"""Every way a request can go wrong is answered clearly and leaves a record of what happened."""
import json
import socket
import time

import pytest
import requests

import models
from tests.fake_upstream import Reply, message_events

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}
STREAM_BODY = {"model": "claude-test", "max_tokens": 10, "stream": True,
               "messages": [{"role": "user", "content": "hi"}]}


def post_stream(url):
    return requests.post(url + "/v1/messages", data=json.dumps(STREAM_BODY), headers=HEADERS,
                         stream=True, timeout=10)


def sse_events(raw: bytes) -> list[str]:
    return [line[7:] for line in raw.decode().splitlines() if line.startswith("event: ")]


def test_invalid_json_is_a_400_error_response_and_recorded(client, upstream, records):
    response = client.post("/v1/messages", data=b"{not json", headers=HEADERS)
    assert response.status_code == 400
    assert response.json["error"] == "Invalid request body"
    assert "not valid JSON" in response.json["details"]
    assert upstream.seen == []
    [row] = records()
    assert (row["outcome"], row["status_code"]) == ("rejected", 400)


def test_body_over_the_limit_is_a_413(make_app, serve, upstream):
    app = make_app(max_request_body=1000)
    url = serve(app)
    big = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 2000}]}).encode()
    response = requests.post(url + "/v1/messages", data=big, headers=HEADERS, timeout=10)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["details"]
    # Without a Content-Length (a chunked upload) the cap still holds.
    chunked = requests.post(url + "/v1/messages", data=iter([big[:600], big[600:]]), headers=HEADERS, timeout=10)
    assert chunked.status_code == 413
    assert upstream.seen == []
    app.extensions["proxy"].recorder.flush()
    assert [(r.outcome, r.status_code) for r in models.RequestLog.select()] == [("rejected", 413)] * 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_upstream_is_a_502(make_app):
    app = make_app(upstream_url=f"http://127.0.0.1:{_closed_port()}")
    client = app.test_client()
    response = client.post("/v1/messages", json=STREAM_BODY, headers=HEADERS)
    assert response.status_code == 502
    assert response.json["error"] == "Upstream unreachable"
    models_list = client.get("/v1/models", headers=HEADERS)
    assert models_list.status_code == 200
    assert models_list.json == {"object": "list", "data": []}
    app.extensions["proxy"].recorder.flush()
    assert [(r.outcome, r.status_code) for r in models.RequestLog.select()] == [("proxy_error", 502)] * 2


def test_no_response_headers_in_time_is_a_504(client, upstream, records):
    upstream.reply(Reply(delay_before_headers=3))  # the test config's read timeout is 2 s
    response = client.post("/v1/messages", json=STREAM_BODY, headers=HEADERS)
    assert response.status_code == 504
    assert set(response.json) == {"error", "details"}
    [row] = records()
    assert (row["outcome"], row["status_code"]) == ("proxy_error", 504)


def test_upstream_dropping_mid_stream_ends_with_an_sse_error(live_proxy, upstream, records):
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", drop_after=4))
    raw = b"".join(post_stream(live_proxy).iter_content(None))
    events = sse_events(raw)
    assert events[-1] == "error", "the client must be told the stream was cut"
    assert "message_stop" not in events
    [row] = records()
    assert row["outcome"] == "upstream_dropped"
    assert "connection lost" in row["stream_error"]
    assert row["status_code"] == 200


def test_upstream_stalling_mid_stream_ends_with_an_sse_error(live_proxy, upstream, records):
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream",
                         stall_after=3, stall_for=4))
    started = time.monotonic()
    raw = b"".join(post_stream(live_proxy).iter_content(None))
    assert time.monotonic() - started < 3.5, "the idle-read timeout (2 s) must end the stream"
    assert sse_events(raw)[-1] == "error"
    [row] = records()
    assert row["outcome"] == "upstream_timeout"
    assert "stalled" in row["stream_error"]


def test_a_stalled_stream_without_chunked_framing_is_not_taken_for_a_complete_one(live_proxy, upstream, records):
    # Such a body ends when the connection does, so the cut itself looks like a clean end.
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", framing="close",
                         stall_after=3, stall_for=4))
    raw = b"".join(post_stream(live_proxy).iter_content(None))
    assert sse_events(raw)[-1] == "error"
    [row] = records()
    assert row["outcome"] == "upstream_timeout"


def test_relayed_bodies_are_read_without_a_socket_timeout(app, client, upstream):
    # gevent times each read of a socket with a timeout at a third of the cost of relaying an event;
    # the stall watch applies the read timeout instead (the tests above).
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", delay_between=0.05))
    response = client.post("/v1/messages", data=json.dumps(STREAM_BODY), headers=HEADERS, buffered=False)
    [relay] = app.extensions["proxy"].traffic.streams
    assert relay.watched
    assert relay._upstream.raw._connection.sock.gettimeout() is None
    response.close()


def test_upstream_dropping_a_json_body_aborts_the_connection(live_proxy, upstream, records):
    upstream.reply(Reply(chunks=[b'{"id": "msg", ', b'"content": []}'], content_type="application/json",
                         framing="length", drop_after=1))
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(live_proxy + "/v1/messages", json={"model": "m", "messages": []},
                      headers=HEADERS, timeout=10).json()
    [row] = records()
    assert row["outcome"] == "upstream_dropped"


def test_client_disconnect_is_recorded_and_closes_the_upstream(live_proxy, upstream, records):
    upstream.reply(Reply(chunks=message_events("m") * 5, content_type="text/event-stream", delay_between=0.05))
    response = post_stream(live_proxy)
    next(response.iter_content(None))
    response.close()
    assert upstream.disconnected.wait(5), "the upstream connection must be closed promptly"
    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline:
        rows = [row for row in records(settle=False) if row["outcome"] != "in_flight"]
        if rows:
            break
        time.sleep(0.05)
    assert [row["outcome"] for row in rows] == ["client_disconnected"]


def test_events_with_unexpected_types_reach_the_client_untouched(live_proxy, upstream, records):
    from tests.fake_upstream import sse
    events = message_events("m")
    odd = sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": None}})
    upstream.reply(Reply(chunks=events[:3] + [odd] + events[3:], content_type="text/event-stream"))
    raw = b"".join(post_stream(live_proxy).iter_content(None))
    assert raw == b"".join(events[:3] + [odd] + events[3:])
    [row] = records()
    assert row["outcome"] == "complete"
    assert row["output_tokens"] == 42
