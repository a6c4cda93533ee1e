"""The upstream client against the fake API: what is sent, what comes back, pooling and failures."""
import socket

import pytest
import requests
import urllib3

from proxy.upstream.client import MergedHeaders, UpstreamClient, UpstreamRefused, UpstreamTimeout, UpstreamUnreachable
from proxy.upstream.environment import ca_bundle
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


def _reference_send(base_url: str, method: str, path: str, query: str, headers, body: bytes) -> None:
    """Send as requests itself prepares a request (`PreparedRequest.prepare`), the behaviour to keep."""
    url = f"{base_url.rstrip('/')}{path}?{query}" if query else f"{base_url.rstrip('/')}{path}"
    request = requests.PreparedRequest()
    request.prepare(method=method, url=url, headers=dict(headers), data=body or None)
    with requests.Session() as session:
        session.trust_env = False
        session.send(request, allow_redirects=False, timeout=2).close()


@pytest.mark.parametrize("base", ["", "/anthropic/"])
@pytest.mark.parametrize("method, path, query, headers, body", [
    ("POST", "/v1/messages", "beta=true", [("X-Api-Key", "sk-ant-1"), ("Anthropic-Version", "2023-06-01"),
                                           ("Content-Type", "application/json")], b'{"model": "m"}'),
    ("POST", "/v1/files/a%2Fb%2fc", "x=%41&y=a+b&z=%7e", [("X-A", "1"), ("x-a", "2"), ("X-B", "3")], b"\x00\xff"),
    ("GET", "/v1/models", "", [("Authorization", "Bearer t"), ("Accept", "*/*")], b""),
    ("DELETE", "/v1/files/f%20one", "", [], b""),
    ("PUT", "/v1/files/%FF", "a=%zz", [("Content-Length", "999")], b"body"),
])
def test_the_cheaply_built_request_reaches_upstream_as_requests_prepares_it(
        upstream, base, method, path, query, headers, body):
    client = UpstreamClient(upstream.url + base, connect_timeout=2, read_timeout=2)
    client.send(method, path, query, headers, body).raw.read()
    _reference_send(upstream.url + base, method, path, query, headers, body)
    ours, reference = upstream.seen
    assert (ours.method, ours.path, ours.query, ours.body) == (
        reference.method, reference.path, reference.query, reference.body)
    # Same names, spelling, order and values (Host differs only by nothing: same upstream).
    assert ours.header_items == reference.header_items


def test_credentials_in_the_base_url_become_basic_auth_as_with_requests(upstream):
    base = upstream.url.replace("http://", "http://gw%20user:p%40ss@")
    client = UpstreamClient(base, connect_timeout=2, read_timeout=2)
    client.send("POST", "/v1/messages", "", [("authorization", "Bearer client")], b"{}").raw.read()
    _reference_send(base, "POST", "/v1/messages", "", [("authorization", "Bearer client")], b"{}")
    ours, reference = upstream.seen
    assert ours.header_items == reference.header_items
    assert ours.headers["authorization"].startswith("Basic ")


def test_nothing_of_one_request_leaks_into_the_next(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    first = [("x-api-key", "sk-ant-user-a"), ("x-only-first", "1"), ("Cookie", "session=a")]
    second = [("authorization", "Bearer user-b")]
    sent_first, sent_second = list(first), list(second)
    client.send("POST", "/v1/messages", "a=1", first, b'{"first": true}').raw.read()
    client.send("GET", "/v1/models", "", second, b"").raw.read()
    one, two = upstream.seen
    assert one.headers["x-api-key"] == "sk-ant-user-a" and one.headers["cookie"] == "session=a"
    names = {name.lower() for name, _ in two.header_items}
    assert not names & {"x-api-key", "x-only-first", "cookie", "content-length"}
    assert two.headers["authorization"] == "Bearer user-b"
    assert (two.method, two.path, two.query, two.body) == ("GET", "/v1/models", "", b"")
    assert (first, second) == (sent_first, sent_second)  # the caller's headers are not modified


def test_one_pool_serves_every_request_and_a_closed_client_reconnects(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    for _ in range(3):
        client.send("POST", "/v1/messages", "", [], b"{}").raw.read()
    assert len(client._adapter.poolmanager.pools) == 1
    client.close()
    response = client.send("POST", "/v1/messages", "", [], b"{}")
    assert response.status_code == 200 and response.raw.read()
    assert len(upstream.seen) == 4


def test_tls_verification_stays_on_for_an_https_upstream():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = UpstreamClient(f"https://127.0.0.1:{port}", connect_timeout=2, read_timeout=2)
    for _ in range(2):
        with pytest.raises(UpstreamUnreachable):
            client.send("POST", "/v1/messages", "", [], b"{}")
    [pool] = [client._adapter.poolmanager.pools[key] for key in client._adapter.poolmanager.pools.keys()]
    bundle = ca_bundle()  # the environment's (REQUESTS_CA_BUNDLE), else certifi's
    assert pool.cert_reqs == "CERT_REQUIRED" and pool.ca_certs == (bundle if isinstance(bundle, str) else requests.certs.where())


def test_a_pooled_connection_the_server_closed_is_not_reused():
    from proxy.upstream.pool import PooledConnection

    ours, server = socket.socketpair()
    connection = PooledConnection("127.0.0.1", 1)
    assert not connection.is_connected  # never connected
    connection.sock = ours
    assert connection.is_connected  # idle and open
    server.close()
    assert not connection.is_connected  # the server hung up: urllib3 opens a fresh one
    ours.close()


def test_a_connection_the_upstream_closed_while_idle_is_replaced(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    client.send("POST", "/v1/messages", "", [], b"{}").raw.read()
    [pool] = [client._adapter.poolmanager.pools[key] for key in client._adapter.poolmanager.pools.keys()]
    [idle] = [connection for connection in pool.pool.queue if connection is not None]
    idle.sock.shutdown(socket.SHUT_RD)  # reads now see an end of stream, as after the server's close
    response = client.send("POST", "/v1/messages", "", [], b"{}")
    assert response.status_code == 200 and response.raw.read()
    assert len(upstream.seen) == 2


@pytest.mark.parametrize("path", ["v1%2F@127.0.0.1:9/x", "@127.0.0.1:9/x", ""])
def test_a_path_that_would_change_the_host_is_refused_before_any_connection(upstream, path):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    with pytest.raises(UpstreamRefused):
        client.send("GET", path, "", [("x-api-key", "k")], b"")
    assert upstream.seen == []


def test_the_connection_layer_refuses_any_other_host_even_past_the_gates(upstream):
    # Defence in depth: a request built without `request_target` (a future bug) reaches no other host.
    client = UpstreamClient(upstream.url.replace("http://", "http://user:pw@"), connect_timeout=2,
                            read_timeout=2)
    request = client.prepare("GET", "/v1/models", "", [], b"")
    with socket.create_server(("127.0.0.1", 0)) as other:
        request.url = f"http://127.0.0.1:{other.getsockname()[1]}/v1/models"
        with pytest.raises(UpstreamRefused):
            client._adapter.send(request, stream=True, timeout=client.timeout)
        other.settimeout(0.2)
        with pytest.raises(TimeoutError):
            other.accept()  # nothing connected
