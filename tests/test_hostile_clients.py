"""A hostile client against the real server: it cannot reach another host, cost anyone a record,
hold a connection with a slow trickle, nor spend a configured key from a web page."""
import base64
import json
import os
import socket
import threading
import time
import uuid

import pytest
import requests

from tests.gunicorn_server import GunicornServer
from tests.postgres import create_database, drop_database

MESSAGE = {"model": "claude-hostile", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


class Sentinel:
    """A listener no request may ever reach: it counts the connections made to it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            client.close()


@pytest.fixture(scope="module")
def sentinel():
    listener = Sentinel()
    yield listener
    listener.sock.close()


@pytest.fixture(scope="module")
def module_database(request, tmp_path_factory):
    """One database for the module's server: an SQLite file, or a fresh Postgres database."""
    if os.environ.get("TEST_DATABASE") == "postgres":
        url = create_database(request.getfixturevalue("postgres_server"))
        yield url
        drop_database(url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('hostile')}/proxy.db"


@pytest.fixture(scope="module")
def server(_upstream_server, module_database, sentinel, tmp_path_factory):
    # The upstream URL carries credentials: they may go to that host and no other.
    upstream_url = _upstream_server.url.replace("http://", "http://user:pw@")
    running = GunicornServer({"UPSTREAM_URL": upstream_url, "DATABASE_URL": module_database,
                              "CLIENT_HEADER_TIMEOUT": "1", "CLIENT_BODY_TIMEOUT": "1",
                              "ACCESS_LOG": "1", "ALLOWED_ORIGINS": "https://good.example"},
                             log_path=tmp_path_factory.mktemp("hostile-log") / "gunicorn.log").start()
    yield running
    running.stop(timeout=45)


def exchange_raw(url: str, data: bytes, half_close: bool = False, timeout: float = 10) -> bytes:
    """Send raw bytes to the server and read until it closes the connection (or `timeout`)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def read_response(sock) -> bytes:
    """One response with a Content-Length body, read from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def seconds_until_cut(sock, data: bytes) -> float | None:
    """Send `data` a byte every 0.3 s; seconds until the server closed the connection, or None."""
    started = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
            time.sleep(0.3)
            if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                return time.monotonic() - started
        except BlockingIOError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def status_and_json(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        size, _, rest = body.partition(b"\r\n")
        body = rest[:int(size, 16)]
    return status, json.loads(body)


def tagged_request(target: str, tag: str, body: bytes = b"", extra: str = "") -> bytes:
    return (f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: sk-ant-hostile\r\n"
            f"x-test-tag: {tag}\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.mark.parametrize("target", [
    "v1%2F@127.0.0.1:{port}/x?u=http://y",        # once joined to the origin as `http://host:portv1%2F@...`
    "http://127.0.0.1:{port}/v1/messages",         # absolute form, as to a forward proxy
    "//127.0.0.1:{port}/v1/messages",
    "/v1%2F..%2F..%2Fx",
    "/v1/..%2F..%2Fx",
    "/v1/x\\..\\..\\y",
    "/v1%2fmessages",                              # /v1/messages once decoded, not as sent
])
def test_no_target_reaches_another_host_and_each_is_a_recorded_400(server, sentinel, upstream, target):
    target = target.format(port=sentinel.port)
    answer = exchange_raw(server.url, tagged_request(target, "t", json.dumps(MESSAGE).encode()))
    status, body = status_and_json(answer)
    assert status == 400 and body["error"] in ("Invalid request target", "Invalid path"), body
    assert sentinel.connections == 0
    assert upstream.seen == []
    path = target.split("?", 1)[0]
    [row] = server.wait_for_records("endpoint = ?", (path,))
    assert (row["outcome"], row["status_code"]) == ("rejected", 400)


def test_an_authority_form_target_is_refused_by_the_server_itself(server, sentinel, upstream):
    answer = exchange_raw(server.url, tagged_request(f"127.0.0.1:{sentinel.port}", "t", b"{}"))
    assert answer.startswith(b"HTTP/1.1 400") and b"Invalid Request Line" in answer  # gunicorn's own
    assert sentinel.connections == 0 and upstream.seen == []


def test_credentials_of_the_upstream_url_go_to_that_host_only(server, upstream):
    response = requests.post(server.url + "/v1/messages", json=MESSAGE, timeout=10,
                             headers={"x-api-key": "sk-ant-hostile"})
    assert response.status_code == 200
    [seen] = upstream.seen
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


def test_a_lone_surrogate_costs_no_record_neither_its_own_nor_a_neighbours(server, upstream):
    # On one keep-alive connection, as the victim's row stayed in flight that way.
    tag = uuid.uuid4().hex[:8]
    hostile = ('{"model": "x\\ud800-%s", "max_tokens": 5, "metadata": {"user_id": "\\udfff"},'
               ' "messages": [{"role": "user", "content": "\\ud800"}]}' % tag).encode()
    with requests.Session() as session:
        first = session.post(server.url + "/v1/messages", data=hostile, timeout=10,
                             headers={"content-type": "application/json"})
        second = session.post(server.url + "/v1/messages", json={**MESSAGE, "model": f"innocent-{tag}"}, timeout=10)
    assert (first.status_code, second.status_code) == (200, 200)
    [innocent] = server.wait_for_records("original_model = ?", (f"innocent-{tag}",))
    assert innocent["outcome"] == "complete"
    [hostile_row] = server.wait_for_records("original_model = ?", (f"x\\ud800-{tag}",))
    assert hostile_row["outcome"] == "complete"  # the surrogate is stored as its escape, in full
    assert server.records("outcome = 'in_flight'") == []
    metrics = requests.get(server.url + "/metrics", timeout=10)
    assert metrics.status_code == 200 and f"x?-{tag}" in metrics.text  # the label made printable


def test_client_chosen_model_names_cannot_grow_the_metrics_without_bound(server, upstream):
    before = len(requests.get(server.url + "/metrics", timeout=10).text)
    for n in range(130):
        requests.post(server.url + "/v1/messages", json={**MESSAGE, "model": f"{n}-" + "m" * 8000}, timeout=10)
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert 'model="other"' in text
    assert "m" * 101 not in text  # a label is cut at 100 characters
    # ~100 distinct labels, each in a few series, of at most 100 characters: bounded, whatever is sent.
    assert len(text) - before < 400_000


def test_a_body_shorter_than_its_content_length_is_a_recorded_400_never_relayed(server, upstream):
    tag = uuid.uuid4().hex
    request = tagged_request("/v1/messages", tag, b'{"model": "claude-short"}', extra="")
    request = request.replace(b"Content-Length: 25", b"Content-Length: 100")
    status, body = status_and_json(exchange_raw(server.url, request, half_close=True))
    assert status == 400 and body["error"] == "Incomplete request body"
    assert "Content-Length is 100" in body["details"]
    assert upstream.seen == []
    rows = server.wait_for_records("stream_error LIKE ?", ("%Content-Length is 100%",))
    assert [(row["outcome"], row["status_code"]) for row in rows] == [("rejected", 400)]


def test_a_malformed_chunked_body_is_a_recorded_400(server, upstream):
    head = (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    answer = exchange_raw(server.url, head + b"5\r\n{\"a\":\r\nzz\r\n1}\r\n0\r\n\r\n", half_close=True)
    status, body = status_and_json(answer)
    assert status == 400 and body["error"] == "Incomplete request body"
    assert upstream.seen == []
    rows = server.wait_for_records("stream_error LIKE ?", ("%could not be read%",))
    assert [row["outcome"] for row in rows] == ["rejected"]


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "null", "Sec-Fetch-Site": "same-site"}])
def test_a_web_page_cannot_spend_the_key_with_a_simple_post(server, upstream, headers):
    response = requests.post(server.url + "/v1/messages", data=json.dumps(MESSAGE), timeout=10,
                             headers={"Content-Type": "text/plain", **headers})
    assert response.status_code == 403
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "permission_error"
    assert upstream.seen == []


def test_an_allowed_origin_is_relayed(server, upstream):
    response = requests.post(server.url + "/v1/messages", json=MESSAGE, timeout=10,
                             headers={"Origin": "https://good.example", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert len(upstream.seen) == 1


def test_a_trickled_head_is_cut_at_the_header_deadline_but_an_idle_keep_alive_is_not(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        closed_after = seconds_until_cut(sock, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        assert closed_after is not None and closed_after < 5, "the trickling client was never cut"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(2.5)  # idle, past the 1 s header deadline: keep-alive allows it
        sock.sendall(request)
        assert read_response(sock).startswith(b"HTTP/1.1 200")



def test_a_head_trickled_behind_a_whole_pipelined_request_is_still_cut(server):
    # The first head is whole in the first read (no timer needed); the second, already begun in
    # that read, must still be timed.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        closed_after = seconds_until_cut(sock, b"Host: x\r\nAccept: */*\r\nX-Slow: 1\r\n")
        assert closed_after is not None and closed_after < 5, "the trickling client was never cut"

def test_a_trickled_body_is_cut_at_the_body_deadline_and_recorded(server, upstream):
    tag = uuid.uuid4().hex
    body = json.dumps({**MESSAGE, "model": f"slow-{tag}"}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(tagged_request("/v1/messages", tag, body)[:-len(body)])
        started, answer = time.monotonic(), b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            try:
                answer += sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            if answer:
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 5
    assert upstream.seen == []
    rows = server.wait_for_records("stream_error LIKE ?", ("%CLIENT_BODY_TIMEOUT%",))
    assert [(row["outcome"], row["status_code"]) for row in rows] == [("rejected", 408)]


def test_the_access_log_holds_no_basic_auth_user_nor_value(server):
    for secret in (b"s3cr3t-user:s3cr3t-password", b"s3cr3tcolonless"):
        value = base64.b64encode(secret).decode()
        requests.get(server.url + "/health", headers={"Authorization": f"Basic {value}"}, timeout=10)
    time.sleep(0.5)
    log = server.log_path.read_bytes()
    assert b"GET /health" in log, "the access log was not written"
    assert b"s3cr3t" not in log
