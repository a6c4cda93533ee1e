"""The lean request and response heads give exactly what http.client's own code gives."""
import http.client
import io

import pytest
from urllib3.connection import HTTPConnection

from proxy.upstream.pool import PooledConnection
from proxy.upstream.wire import PlainHeadResponse, head_message

HEADER_CASES = [
    [("X-Api-Key", "sk-ant-1"), ("anthropic-beta", "a,b"), ("Content-Length", "12")],
    [("User-Agent", "claude-cli/2.1.0 (external, cli)"), ("X-Empty", ""), ("X-Spaces", "  a  b  ")],
    [("X-Latin", "caf\xe9"), ("x-stainless-os", "Linux"), ("Accept", "*/*")],
    [("X-Folded", "a\r\n\tb")],          # an obsolete fold: the standard path sends it
    [("X-Bytes", b"raw"), ("X-Int", 5)],  # not str: the standard path encodes them
]


def head_written(connection_class, headers) -> list[bytes]:
    connection = connection_class("upstream.test", 8080)
    connection.putrequest("POST", "/v1/messages?beta=true")
    for name, value in headers:
        connection.putheader(name, value)
    return list(connection._buffer)


@pytest.mark.parametrize("headers", HEADER_CASES)
def test_request_headers_are_written_as_http_client_writes_them(headers):
    assert head_written(PooledConnection, headers) == head_written(HTTPConnection, headers)


@pytest.mark.parametrize("name, value", [("X-Bad", "a\nb"), ("X-Bad", "a\rb"), ("Bad:Name", "v"),
                                         (" X-Lead", "v"), ("X-Caf\xe9", "v")])
def test_illegal_request_headers_are_refused_as_http_client_refuses_them(name, value):
    with pytest.raises((ValueError, UnicodeError)) as standard:
        head_written(HTTPConnection, [(name, value)])
    with pytest.raises(standard.type):
        head_written(PooledConnection, [(name, value)])


class RecordedSocket:
    """A socket whose reads replay `data`; each makefile() starts a fresh reader."""

    def __init__(self, data: bytes):
        self.data = data

    def makefile(self, mode, buffering=None):
        return io.BytesIO(self.data)


RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"request-id: req_1\r\nanthropic-ratelimit-requests-limit: 4000\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n",
    b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\nx-dup: 1\r\nX-Dup: 2\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nx-lead:\t  value with trailing  \r\nx-empty:\r\nx-latin: caf\xe9\r\n\r\n",
    b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nkeep-alive: timeout=5\r\ncontent-length: 3\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: -4\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\nx-interim: 1\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nx-folded: first\r\n second\r\ncontent-length: 1\r\n\r\n",  # obsolete fold
    b"HTTP/1.1 200 OK\r\nx-odd name: v\r\ncontent-length: 1\r\n\r\n",  # not a header to email
    b"HTTP/1.1 200 OK\nlf-only: yes\ncontent-length: 1\n\n",
]


def parsed(response_class, data: bytes, method: str = "POST") -> dict:
    response = response_class(RecordedSocket(data), method=method)
    response.begin()
    return {"status": response.status, "reason": response.reason, "version": response.version,
            "headers": response.msg.items(), "defects": [type(d) for d in response.msg.defects],
            "payload": response.msg.get_payload(), "chunked": response.chunked,
            "chunk_left": response.chunk_left, "length": response.length,
            "will_close": response.will_close, "rest": response.fp.read()}


@pytest.mark.parametrize("data", RESPONSES)
def test_response_heads_are_read_as_http_client_reads_them(data):
    assert parsed(PlainHeadResponse, data) == parsed(http.client.HTTPResponse, data)


def test_a_head_request_has_no_body_whatever_its_length_says():
    data = b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n"
    assert parsed(PlainHeadResponse, data, "HEAD") == parsed(http.client.HTTPResponse, data, "HEAD")


def test_too_many_header_lines_are_refused():
    data = b"HTTP/1.1 200 OK\r\n" + b"x-h: v\r\n" * 101 + b"\r\n"
    with pytest.raises(http.client.HTTPException):
        parsed(PlainHeadResponse, data)


def test_a_plain_head_is_parsed_without_the_email_package(monkeypatch):
    monkeypatch.setattr(http.client, "parse_headers", None)  # any call would fail
    message = head_message([b"content-type: text/event-stream\r\n", b"request-id: req_1\r\n"])
    assert message.items() == [("content-type", "text/event-stream"), ("request-id", "req_1")]


class WriteRecordingSocket(RecordedSocket):
    """A connected socket that records each write and replays a canned response."""

    def __init__(self, response: bytes):
        super().__init__(response)
        self.writes = []

    def sendall(self, data):
        self.writes.append(bytes(data))

    def settimeout(self, timeout):
        pass


def sent_writes(body) -> list[bytes]:
    connection = PooledConnection("upstream.test", 8080)
    connection.sock = WriteRecordingSocket(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    connection.request("POST", "/v1/messages", body=body, headers={"X-Api-Key": "sk-1"})
    connection.getresponse()
    return connection.sock.writes


def test_the_head_and_the_body_go_out_in_one_write():
    [write] = sent_writes(b'{"model": "m"}')
    head, body = write.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /v1/messages HTTP/1.1\r\n") and b"\r\nX-Api-Key: sk-1" in head
    assert body == b'{"model": "m"}'


def test_a_request_without_a_body_sends_its_head_before_reading_the_response():
    [write] = sent_writes(None)
    assert write.startswith(b"POST /v1/messages HTTP/1.1\r\n") and write.endswith(b"\r\n\r\n")
