"""The real server: gunicorn's gevent worker relays streams and records them."""
import socket
import sqlite3
import threading
import time

import anthropic
import pytest
import requests

from tests.fake_upstream import FINAL_OUTPUT_TOKENS, Reply, message_events
from tests.gunicorn_server import GunicornServer

pytestmark = pytest.mark.sqlite_only  # the server's database is an SQLite file read directly


@pytest.fixture(scope="module")
def server(_upstream_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("gunicorn") / "proxy.db"
    running = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{path}"}).start()
    running.db_path = path
    yield running
    assert running.stop(timeout=45) == 0


def wait_for_rows(path, model: str, count: int, timeout: float = 10) -> list[dict]:
    """Poll the server's database until `count` finished records for `model` are there."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute(
                "SELECT * FROM request_log WHERE outcome != 'in_flight' AND original_model = ?", (model,))]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_concurrent_sdk_streams_through_gunicorn_are_relayed_and_recorded(server, upstream):
    sdk = anthropic.Anthropic(api_key="sk-ant-gunicorn", base_url=server.url, max_retries=0)
    upstream.reply(*[Reply(chunks=message_events(f"model-{n}"), content_type="text/event-stream",
                           delay_between=0.02) for n in range(10)])
    finals = []

    def run():
        with sdk.messages.stream(model="claude-concurrent", max_tokens=50,
                                 messages=[{"role": "user", "content": "hi"}]) as stream:
            finals.append(stream.get_final_message())

    threads = [threading.Thread(target=run) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sdk.close()
    assert len(finals) == 10
    assert all(f.usage.output_tokens == FINAL_OUTPUT_TOKENS for f in finals)
    assert len(upstream.seen) == 10, "each client request must reach upstream exactly once"
    rows = wait_for_rows(server.db_path, "claude-concurrent", 10)
    assert [r["outcome"] for r in rows] == ["complete"] * 10
    assert all(r["output_tokens"] == FINAL_OUTPUT_TOKENS and r["ttfb_ms"] is not None for r in rows)


def test_gunicorn_relays_the_first_event_before_the_last_is_sent(server, upstream):
    events = message_events("claude-test")
    upstream.reply(Reply(chunks=events, content_type="text/event-stream", delay_between=0.1))
    response = requests.post(server.url + "/v1/messages", json={"model": "m", "stream": True, "messages": []},
                             stream=True, timeout=10)
    chunks = response.iter_content(None)
    first = next(chunks)
    assert first.startswith(b"event: message_start")
    assert not upstream.finished.is_set()
    assert first + b"".join(chunks) == b"".join(events)
    assert response.headers["transfer-encoding"] == "chunked"


def test_the_head_and_first_event_arrive_together_and_at_once(server, upstream):
    # The proxy corks the client's socket around them; a cork left on would hold them 200 ms.
    upstream.reply(Reply(chunks=message_events("claude-test"), content_type="text/event-stream", stall_after=1,
                         stall_for=1.5))
    body = b'{"model": "m", "stream": true, "messages": []}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = time.monotonic()
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        received = b""
        while b"event: message_start" not in received:
            data = sock.recv(65536)
            assert data, f"the connection closed before the first event: {received!r}"
            received += data
        waited = time.monotonic() - sent
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert waited < 0.15, f"the first event took {waited:.3f} s"


def test_client_disconnect_under_gevent_is_recorded(server, upstream):
    upstream.reply(Reply(chunks=message_events("m") * 10, content_type="text/event-stream", delay_between=0.05))
    response = requests.post(server.url + "/v1/messages", stream=True, timeout=10,
                             json={"model": "claude-gone", "stream": True, "messages": []})
    next(response.iter_content(None))
    response.close()
    assert upstream.disconnected.wait(5), "the upstream connection must be closed promptly"
    rows = wait_for_rows(server.db_path, "claude-gone", 1)
    assert [r["outcome"] for r in rows] == ["client_disconnected"]


def test_head_probe_and_health_through_gunicorn(server):
    assert requests.head(server.url + "/", timeout=5).status_code == 200
    assert requests.get(server.url + "/livez", timeout=5).json()["draining"] is False


def test_metrics_add_up_every_worker(_upstream_server, tmp_path):
    env = {"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    two = GunicornServer(env, workers=2).start()
    try:
        for _ in range(8):
            requests.post(two.url + "/v1/messages/count_tokens", json={"model": "claude-counted", "messages": []},
                          headers={"Connection": "close"}, timeout=10).json()
        text = requests.get(two.url + "/metrics", timeout=10).text
    finally:
        assert two.stop(timeout=45) == 0
    counted = [line for line in text.splitlines()
               if line.startswith("proxy_requests_total{") and 'model="claude-counted"' in line]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) == 8.0


def raw_exchanges(port: int, bodies: list[bytes], read_pause: float = 0.0) -> list[bytes]:
    """Send requests one after the other on one connection; the raw responses (head and chunked body)."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for body in bodies:
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            received = b""
            while not received.endswith(b"\r\n0\r\n\r\n"):
                time.sleep(read_pause)
                data = sock.recv(1024 if read_pause else 65536)
                assert data, f"the connection closed mid-response: {received[-200:]!r}"
                received += data
            answers.append(received)
    return answers


def dechunked(response: bytes) -> bytes:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            return out
        out, body = out + body[:size], body[size + 2:]


def test_events_cut_anywhere_by_the_upstream_reach_the_client_byte_for_byte_and_the_record(server, upstream):
    wire = b"".join(message_events("claude-split"))
    cuts = [0, 5, 6, 40, 41, 200, 333, 334, 335, len(wire) - 3, len(wire)]  # mid-line, mid-UTF-8, mid-CRLF
    upstream.reply(Reply(chunks=[wire[a:b] for a, b in zip(cuts, cuts[1:])], content_type="text/event-stream",
                         delay_between=0.01))
    body = b'{"model": "claude-split", "stream": true, "messages": []}'
    [answer] = raw_exchanges(server.port, [body])
    assert dechunked(answer) == wire
    rows = wait_for_rows(server.db_path, "claude-split", 1)
    assert [(r["outcome"], r["output_tokens"], r["response_bytes"]) for r in rows] == \
        [("complete", FINAL_OUTPUT_TOKENS, len(wire))]


def test_the_client_connection_is_kept_alive_after_streams_and_json_bodies(server, upstream):
    events = message_events("claude-alive")
    upstream.reply(Reply(chunks=events, content_type="text/event-stream"),
                   Reply(chunks=[b'{"type": "message", ', b'"usage": {"input_tokens": 3}}'],
                         content_type="application/json"),
                   Reply(chunks=events, content_type="text/event-stream"))
    stream = b'{"model": "claude-alive", "stream": true, "messages": []}'
    answers = raw_exchanges(server.port, [stream, b'{"model": "claude-alive", "messages": []}', stream])
    assert [dechunked(a) for a in answers] == [b"".join(events), b'{"type": "message", "usage": {"input_tokens": 3}}',
                                               b"".join(events)]
    assert all(b"connection: keep-alive" in a.split(b"\r\n\r\n")[0].lower() for a in answers)


def test_a_slow_client_gets_a_large_stream_whole(server, upstream):
    events = message_events("claude-slow", text="x" * 3000) * 20  # ~70 KB, more than the socket buffers hold
    upstream.reply(Reply(chunks=events, content_type="text/event-stream"))
    [answer] = raw_exchanges(server.port, [b'{"model": "claude-slow", "stream": true, "messages": []}'],
                             read_pause=0.002)
    assert dechunked(answer) == b"".join(events)
    rows = wait_for_rows(server.db_path, "claude-slow", 1)
    assert [r["outcome"] for r in rows] == ["complete"]


def test_an_upstream_drop_mid_stream_ends_with_an_error_event_and_is_recorded(server, upstream):
    upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream", drop_after=3,
                         delay_between=0.01))
    [answer] = raw_exchanges(server.port, [b'{"model": "claude-drop", "stream": true, "messages": []}'])
    assert dechunked(answer).endswith(b"event: error\ndata: " + dechunked(answer).split(b"event: error\ndata: ")[1])
    assert b'"type": "error"' in dechunked(answer)
    rows = wait_for_rows(server.db_path, "claude-drop", 1)
    assert [r["outcome"] for r in rows] == ["upstream_dropped"]


def test_access_log_counts_the_relayed_bytes(_upstream_server, upstream, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    running = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                              "ACCESS_LOG": "1"}, log_path=log_path).start()
    try:
        events = message_events("claude-logged")
        upstream.reply(Reply(chunks=events, content_type="text/event-stream"))
        raw_exchanges(running.port, [b'{"model": "claude-logged", "stream": true, "messages": []}'])
    finally:
        running.stop(timeout=20)
    line = next(line for line in log_path.read_text().splitlines() if '"POST /v1/messages' in line)
    assert f'" 200 {len(b"".join(events))} ' in line


@pytest.mark.parametrize("stall_after", [0, 2], ids=["before the first event", "mid-stream"])
def test_an_upstream_stall_is_cut_after_the_read_timeout(_upstream_server, upstream, tmp_path, stall_after):
    running = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
                              "UPSTREAM_READ_TIMEOUT": "1"}).start()
    try:
        upstream.reply(Reply(chunks=message_events("m"), content_type="text/event-stream",
                             stall_after=stall_after, stall_for=6))
        began = time.monotonic()
        [answer] = raw_exchanges(running.port, [b'{"model": "claude-stall", "stream": true, "messages": []}'])
        waited = time.monotonic() - began
        assert b"upstream stalled mid-response" in dechunked(answer)
        assert 0.9 < waited < 4, f"cut after {waited:.1f} s"
        rows = wait_for_rows(tmp_path / "s.db", "claude-stall", 1)
        assert [r["outcome"] for r in rows] == ["upstream_timeout"]
    finally:
        running.stop(timeout=20)


def test_a_body_larger_than_the_read_buffer_is_relayed_whole(server, upstream):
    # Reads that fill the relay's buffer are followed by a read without waiting first.
    large = b'{"type": "message", "content": [{"type": "text", "text": "' + b"y" * 300_000 + b'"}]}'
    upstream.reply(Reply(chunks=[large[:150_000], large[150_000:]], content_type="application/json"))
    [answer] = raw_exchanges(server.port, [b'{"model": "claude-large", "messages": []}'])
    assert dechunked(answer) == large
    rows = wait_for_rows(server.db_path, "claude-large", 1)
    assert [(r["outcome"], r["response_bytes"]) for r in rows] == [("complete", len(large))]


def length_exchanges(port: int, bodies: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Send requests one after the other on one connection; each response's head and Content-Length body
    (the body as far as it came, when the connection ends early)."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, sock.makefile("rb") as reader:
        for body in bodies:
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                assert line, f"the connection closed inside the head: {head!r}"
                head += line
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            answers.append((head, reader.read(length)))
    return answers


def test_bodies_of_known_length_are_relayed_whole_on_a_kept_alive_connection(server, upstream):
    large = b'{"type": "message", "content": [{"type": "text", "text": "' + b"z" * 200_000 + b'"}]}'
    small = b'{"type": "message", "usage": {"output_tokens": 4}}'
    upstream.reply(Reply(chunks=[large[:70_000], large[70_000:]], content_type="application/json", framing="length"),
                   Reply(chunks=[], content_type="application/json", framing="length"),
                   Reply(chunks=[small[:9], small[9:]], content_type="application/json", framing="length",
                         delay_between=0.05))
    answers = length_exchanges(server.port, [b'{"model": "claude-length", "messages": []}'] * 3)
    assert [body for _, body in answers] == [large, b"", small]
    assert all(b"transfer-encoding" not in head.lower() for head, _ in answers)
    rows = sorted(wait_for_rows(server.db_path, "claude-length", 3), key=lambda r: r["timestamp_ms"])
    assert [(r["outcome"], r["response_bytes"], r["output_tokens"]) for r in rows] == \
        [("complete", len(large), 0), ("complete", 0, 0), ("complete", len(small), 4)]


def test_an_upstream_drop_inside_a_body_of_known_length_ends_the_connection_and_is_recorded(server, upstream):
    upstream.reply(Reply(chunks=[b'{"type": "mess', b'age"}'], content_type="application/json", framing="length",
                         drop_after=1))
    [(_, body)] = length_exchanges(server.port, [b'{"model": "claude-length-cut", "messages": []}'])
    assert body == b'{"type": "mess'  # then the connection ended: a cut JSON body must not look whole
    rows = wait_for_rows(server.db_path, "claude-length-cut", 1)
    assert [r["outcome"] for r in rows] == ["upstream_dropped"]
