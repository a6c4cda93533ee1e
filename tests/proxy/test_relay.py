"""The relay over real HTTP: bytes, headers, framing and timing exactly as the upstream sent them."""
import json
import threading
import time

import requests

from tests.fake_upstream import RATE_LIMIT_HEADERS, Reply, message_events, sse

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}


def post(url, body=None, headers=None, **kwargs):
    data = json.dumps(body if body is not None else {
        "model": "claude-test", "max_tokens": 10, "stream": True,
        "messages": [{"role": "user", "content": "hi"}]})
    return requests.post(url + "/v1/messages?beta=true", data=data, headers={**HEADERS, **(headers or {})},
                         stream=True, timeout=10, **kwargs)


def test_stream_is_relayed_byte_for_byte(live_proxy, upstream):
    events = message_events("claude-test", thinking="think", tool={"name": "Bash", "input": {"command": "ls"}})
    upstream.reply(Reply(chunks=events, content_type="text/event-stream"))
    response = post(live_proxy)
    received = b"".join(response.iter_content(None))
    assert received == b"".join(events)
    assert response.headers["content-type"] == "text/event-stream"


def test_first_event_reaches_the_client_before_the_upstream_sends_the_last(live_proxy, upstream):
    events = message_events("claude-test")
    upstream.reply(Reply(chunks=events, content_type="text/event-stream", delay_between=0.1))
    response = post(live_proxy)
    chunks = response.iter_content(None)
    first = next(chunks)
    assert first.startswith(b"event: message_start")
    assert not upstream.finished.is_set(), "the proxy buffered the stream"
    assert first + b"".join(chunks) == b"".join(events)


def test_close_delimited_stream_still_flows(live_proxy, upstream):
    events = message_events("claude-test")
    upstream.reply(Reply(chunks=events, content_type="text/event-stream", framing="close", delay_between=0.1))
    response = post(live_proxy)
    chunks = response.iter_content(None)
    first = next(chunks)
    assert first.startswith(b"event: message_start")
    assert not upstream.finished.is_set()
    assert first + b"".join(chunks) == b"".join(events)


def test_request_bytes_query_and_end_to_end_headers_reach_upstream(live_proxy, upstream):
    body = b'{"model": "claude-test",   "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}'
    requests.post(live_proxy + "/v1/messages?beta=true", data=body, timeout=10, headers={
        **HEADERS, "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "x-app": "cli", "user-agent": "claude-cli/2.1.0 (external, cli)",
        "x-claude-code-session-id": "sess-1", "x-stainless-lang": "js", "connection": "keep-alive"})
    [seen] = upstream.seen
    assert seen.body == body, "the body must go upstream untouched"
    assert seen.query == "beta=true"
    for name in ("x-api-key", "anthropic-version", "anthropic-beta", "x-app", "x-claude-code-session-id",
                 "x-stainless-lang"):
        assert seen.headers[name]
    assert seen.headers["user-agent"] == "claude-cli/2.1.0 (external, cli)"
    assert seen.headers["accept-encoding"] == "identity"
    assert "keep-alive" not in seen.headers and "cookie" not in seen.headers


def test_upstream_response_headers_are_relayed(live_proxy, upstream):
    response = post(live_proxy, {"model": "m", "max_tokens": 1, "messages": []})
    for name, value in RATE_LIMIT_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["request-id"].startswith("req_fake_")
    assert "fake-cookie" in response.headers["set-cookie"]
    assert response.json()["type"] == "message"


def test_upstream_cookies_are_never_sent_with_another_request(live_proxy, upstream):
    post(live_proxy, {"model": "m", "max_tokens": 1, "messages": []}).content
    post(live_proxy, {"model": "m", "max_tokens": 1, "messages": []}).content
    assert "cookie" not in upstream.seen[1].headers


def test_gzip_upstream_body_reaches_the_client_decoded(live_proxy, upstream):
    payload = {"id": "msg_gz", "type": "message", "content": [], "usage": {"output_tokens": 3}}
    upstream.reply(Reply(chunks=[json.dumps(payload).encode()], content_type="application/json",
                         framing="length", gzip=True))
    response = post(live_proxy, {"model": "m", "max_tokens": 1, "messages": []})
    assert response.json() == payload
    assert "content-encoding" not in response.headers


def test_upstream_error_status_and_body_are_relayed_verbatim(live_proxy, upstream, records):
    error = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    upstream.reply(Reply(status=429, chunks=[error], content_type="application/json", framing="length",
                         headers={"retry-after": "7"}))
    response = post(live_proxy)
    assert response.status_code == 429
    assert response.content == error
    assert response.headers["retry-after"] == "7"
    [row] = records()
    assert (row["outcome"], row["status_code"]) == ("upstream_error", 429)


def test_mid_stream_error_event_is_relayed_and_recorded(live_proxy, upstream, records):
    events = message_events("m")[:3] + [sse("error", {"type": "error", "error": {
        "type": "overloaded_error", "message": "Overloaded"}})]
    upstream.reply(Reply(chunks=events, content_type="text/event-stream"))
    assert b"".join(post(live_proxy).iter_content(None)) == b"".join(events)
    [row] = records()
    assert row["outcome"] == "stream_error"
    assert row["stream_error"] == "overloaded_error: Overloaded"


def test_other_paths_and_methods_are_relayed_and_recorded(live_proxy, upstream, records):
    got = requests.get(live_proxy + "/v1/files/file_123?x=1", headers=HEADERS, timeout=10)
    deleted = requests.delete(live_proxy + "/v1/messages/batches/b1", headers=HEADERS, timeout=10)
    assert got.status_code == deleted.status_code == 200
    assert [(s.method, s.path, s.query) for s in upstream.seen] == [
        ("GET", "/v1/files/file_123", "x=1"), ("DELETE", "/v1/messages/batches/b1", "")]
    assert [(r["method"], r["endpoint"]) for r in records()] == [
        ("GET", "/v1/files/file_123"), ("DELETE", "/v1/messages/batches/b1")]


def test_head_probes_are_answered_at_once_and_not_recorded(live_proxy, upstream, records):
    assert requests.head(live_proxy + "/", timeout=5).status_code == 200
    assert requests.head(live_proxy + "/v1/messages", timeout=5).status_code == 200
    assert upstream.seen == []
    assert records() == []


def test_chat_completions_points_to_messages(client, records):
    response = client.post("/v1/chat/completions", json={"model": "gpt", "messages": []})
    assert response.status_code == 400
    assert "/v1/messages" in response.json["details"]
    assert set(response.json) == {"error", "details"}
    assert [(row["outcome"], row["status_code"]) for row in records()] == [("rejected", 400)]


def test_models_are_relayed_with_the_callers_credentials(client, upstream):
    response = client.get("/v1/models", headers={"x-api-key": "sk-ant-models"})
    assert response.json["data"][0]["id"] == "claude-sonnet-4-6"
    assert upstream.seen[0].headers["x-api-key"] == "sk-ant-models"


def test_a_long_request_is_visible_in_flight(live_proxy, upstream, app, records):
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", delay_between=0.25))
    chunks = post(live_proxy).iter_content(None)
    next(chunks)
    assert requests.get(live_proxy + "/livez", timeout=5).json()["in_flight"] == 1
    # Requests still running after a second (in_flight_after) get their row before they end.
    deadline = time.monotonic() + 2.5
    rows = []
    while not rows and time.monotonic() < deadline:
        time.sleep(0.1)
        rows = records(settle=False)
    [row] = rows
    assert (row["outcome"], row["status_code"]) == ("in_flight", None)
    assert not upstream.finished.is_set()
    b"".join(chunks)
    [row] = records()
    assert row["outcome"] == "complete"
    assert requests.get(live_proxy + "/livez", timeout=5).json()["in_flight"] == 0


def test_concurrent_streams_do_not_mix(live_proxy, upstream):
    results = {}

    def run(n):
        body = {"model": f"model-{n}", "max_tokens": 5, "stream": True,
                "messages": [{"role": "user", "content": str(n)}]}
        results[n] = b"".join(post(live_proxy, body).iter_content(None))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    for n in range(8):
        assert results[n] == b"".join(message_events(f"model-{n}"))
    assert len(upstream.seen) == 8


def test_uploads_and_empty_posts_pass_through_untouched(live_proxy, upstream, records):
    multipart = b"--b\r\nContent-Disposition: form-data; name=file; filename=a.txt\r\n\r\nhello\r\n--b--\r\n"
    upload = requests.post(live_proxy + "/v1/files", data=multipart, timeout=10,
                           headers={"x-api-key": "k", "content-type": "multipart/form-data; boundary=b"})
    cancel = requests.post(live_proxy + "/v1/messages/batches/b1/cancel", timeout=10, headers={"x-api-key": "k"})
    assert upload.status_code == cancel.status_code == 200
    assert [(s.path, s.body) for s in upstream.seen] == [("/v1/files", multipart),
                                                         ("/v1/messages/batches/b1/cancel", b"")]
    assert [r["outcome"] for r in records()] == ["complete", "complete"]


def test_a_bodiless_204_is_recorded_complete(live_proxy, upstream, records):
    upstream.reply(Reply(status=204, chunks=[], framing="length"))
    response = requests.delete(live_proxy + "/v1/files/file_1", headers=HEADERS, timeout=10)
    assert response.status_code == 204
    [row] = records()
    assert (row["outcome"], row["status_code"]) == ("complete", 204)


def test_no_content_type_is_invented(live_proxy, upstream):
    upstream.reply(Reply(chunks=[b"plain bytes"], framing="length"))
    response = requests.get(live_proxy + "/v1/files/file_1/content", headers=HEADERS, timeout=10)
    assert response.content == b"plain bytes"
    assert "content-type" not in response.headers


def test_the_path_goes_upstream_exactly_as_sent(live_proxy, upstream, records):
    for path in ("/v1/files/a%2Fb", "/v1/files/a%3Fx=1", "/v1/files/a%23frag", "/v1/files/%FF"):
        assert requests.get(live_proxy + path, headers=HEADERS, timeout=10).status_code == 200
    assert [s.path for s in upstream.seen] == ["/v1/files/a%2Fb", "/v1/files/a%3Fx=1", "/v1/files/a%23frag",
                                               "/v1/files/%FF"]
    assert [r["endpoint"] for r in records()][0] == "/v1/files/a%2Fb"


def test_paths_that_climb_out_of_v1_are_refused(live_proxy, upstream):
    response = requests.get(live_proxy + "/v1/files/x/..%2F..%2F..%2Fadmin", headers=HEADERS, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid path"
    assert upstream.seen == []


def test_repeated_response_headers_stay_separate(live_proxy, upstream):
    cookies = [("set-cookie", "__cf_bm=one; expires=Tue, 24-Nov-2026 10:00:00 GMT; path=/"),
               ("set-cookie", "_cfuvid=two; path=/")]
    upstream.reply(Reply(chunks=[b"{}"], content_type="application/json", framing="length",
                         headers={"set-cookie": "first=0"}, repeated_headers=cookies))
    response = requests.get(live_proxy + "/v1/models/x", headers=HEADERS, timeout=10)
    assert response.raw.headers.getlist("set-cookie") == ["first=0"] + [value for _, value in cookies]
