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
