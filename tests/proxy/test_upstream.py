"""The upstream client against the fake API: what is sent, what comes back, pooling and failures."""
import socket

import pytest
import urllib3

from proxy.upstream import MergedHeaders, UpstreamClient, UpstreamTimeout, UpstreamUnreachable
from tests.fake_upstream import Reply


def test_path_prefix_query_headers_and_body_reach_upstream(upstream):
    client = UpstreamClient(upstream.url + "/anthropic/", connect_timeout=2, read_timeout=2)
    response = client.send("POST", "/v1/messages", "beta=true", [("x-api-key", "sk-ant-1")], b'{"a": 1}')
    response.raw.read()
    [seen] = upstream.seen
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", "/anthropic/v1/messages", "beta=true",
                                                               b'{"a": 1}')
    assert seen.headers["x-api-key"] == "sk-ant-1"
    assert "cookie" not in seen.headers


def test_bodyless_requests_send_a_zero_length_except_get_and_head(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    for method in ("GET", "DELETE"):
        client.send(method, "/v1/files", "", [], b"").raw.read()
    assert [s.headers.get("content-length") for s in upstream.seen] == [None, "0"]


def test_response_status_and_headers_are_read_in_any_case(upstream):
    upstream.reply(Reply(status=429, chunks=[b"{}"], content_type="application/json", framing="length",
                         headers={"Retry-After": "7"}))
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    response = client.send("POST", "/v1/messages", "", [], b"{}")
    assert response.status_code == 429
    assert response.headers["retry-after"] == response.headers.get("RETRY-AFTER") == "7"
    assert ("Retry-After", "7") in response.headers.items()
    assert response.raw.read() == b"{}"


def test_a_fully_read_body_gives_its_connection_back_to_the_pool(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    for _ in range(3):
        response = client.send("POST", "/v1/messages", "", [], b"{}")
        response.raw.read()
        response.close()
    pools = client._adapter.poolmanager.pools
    [pool] = [pools[key] for key in pools.keys()]
    assert pool.num_connections == 1


def test_a_refused_connection_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = UpstreamClient(f"http://127.0.0.1:{port}", connect_timeout=2, read_timeout=2)
    with pytest.raises(UpstreamUnreachable):
        client.send("POST", "/v1/messages", "", [], b"{}")


def test_no_response_headers_within_the_read_timeout_is_a_timeout(upstream):
    upstream.reply(Reply(delay_before_headers=1))
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        client.send("POST", "/v1/messages", "", [], b"{}")


def test_lookups_join_repeated_headers_but_items_keep_each_one():
    raw = urllib3.HTTPHeaderDict()
    raw.add("Set-Cookie", "a=1")
    raw.add("set-cookie", "b=2")
    raw.add("Content-Type", "application/json")
    headers = MergedHeaders(raw)
    assert headers.get("SET-COOKIE") == headers["set-cookie"] == "a=1, b=2"
    assert headers.get("retry-after", "none") == "none"
    # Relayed one by one: "expires=Tue, 24-Nov..." makes a comma-joined Set-Cookie ambiguous.
    assert list(headers.items()) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                     ("Content-Type", "application/json")]


def test_large_headers_and_chunks_are_read_whole_through_the_small_buffer(upstream):
    chunks = [bytes([65 + n]) * 10_000 for n in range(3)]
    upstream.reply(Reply(chunks=chunks, content_type="text/event-stream", headers={"x-big": "v" * 5000}))
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    response = client.send("POST", "/v1/messages", "", [], b"{}")
    assert response.headers["x-big"] == "v" * 5000
    assert b"".join(response.raw.read_chunked(decode_content=True)) == b"".join(chunks)
