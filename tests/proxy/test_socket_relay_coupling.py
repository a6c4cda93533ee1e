"""What the socket relay (proxy/socket_relay.py) takes from gunicorn, gevent and http.client, fenced.

The relay falls back to the WSGI path when an object is not what it expects, so an upgrade that
moved one of these would not break a request: it would quietly make every event cost what it did
before the relay. These tests name what moved instead; setup.cfg keeps gunicorn below 28 and
gevent below 27, the major versions they last passed on.
"""
import http.client
import io

import gevent.socket
import pytest
from gunicorn.http.wsgi import Response

from proxy.socket_relay import body_framing, chunked_client, plain_socket


class _Request:
    version = (1, 1)
    method = "POST"
    headers = []

    def should_close(self):
        return False


class _Config:
    is_ssl = False
    header_map = "drop"
    secure_scheme_headers = {}
    forwarded_allow_ips = ["127.0.0.1"]


def test_gunicorn_hands_its_response_to_start_response_with_the_fields_the_relay_reads():
    response = Response(_Request(), sock=None, cfg=_Config())
    start_response = response.start_response
    assert start_response.__self__ is response, "the relay finds gunicorn's response through start_response"
    start_response("200 OK", [("Content-Type", "text/event-stream")])
    assert (response.chunked, response.response_length, response.sent) == (True, None, 0)
    assert chunked_client(response) is response
    assert hasattr(response, "sock")


def test_gevent_sockets_keep_the_os_socket_and_the_read_wait_the_relay_uses():
    left, right = gevent.socket.socketpair()
    try:
        assert plain_socket(left) is left._sock
        right.sendall(b"x")
        left._wait(left._read_event)  # how the relay waits for the upstream after a read emptied it
        assert left._sock.recv(1) == b"x"
    finally:
        left.close()
        right.close()


@pytest.mark.parametrize("head, framing", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "ChunkedBody"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "LengthBody"),
])
def test_http_client_responses_keep_the_framing_fields_the_relay_follows(head, framing):
    class _Socket:
        def makefile(self, mode):
            return io.BufferedReader(io.BytesIO(head))

    response = http.client.HTTPResponse(_Socket())
    response.begin()
    assert response.fp is not None
    response.socket = object()  # set by the project's wire module (proxy/upstream/wire.py)

    class _Raw:
        _fp = response
        headers = {}

    assert type(body_framing(_Raw())).__name__ == framing
