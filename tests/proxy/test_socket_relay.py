"""The socket relay's reader and writer over gevent sockets, and what it relies on in gunicorn and gevent."""
from types import SimpleNamespace

import gevent
import pytest
from gevent import socket as gsocket
from gunicorn.http.wsgi import Response

from proxy.body_framing import ChunkedBody
from proxy.socket_relay import READ_SIZE, ChunkWriter, UpstreamReader, chunked_client, exposing_server_response


class FakeRaw:
    """The parts of urllib3's response the reader touches: http.client's response and the pool hand-back."""

    def __init__(self, sock, buffered: bytes = b""):
        reader = sock.makefile("rb", 1024)
        self._fp = SimpleNamespace(fp=_Prefilled(buffered, reader), socket=sock,
                                   close=lambda: setattr(self, "response_closed", True))
        self.released = self.closed = self.response_closed = False

    def release_conn(self):
        self.released = True

    def close(self):
        self.closed = True


class _Prefilled:
    """A buffered reader that already holds what came with the head."""

    def __init__(self, held: bytes, reader):
        self.held, self.reader = held, reader

    def read1(self, size):
        if self.held:
            held, self.held = self.held, b""
            return held
        return self.reader.read1(size)


def gunicorn_response(sock, version=(1, 1)):
    request = SimpleNamespace(version=version, method="POST", should_close=lambda: False)
    response = Response(request, sock, SimpleNamespace(is_ssl=False, sendfile=None, protocol="http"))
    response.start_response("200 OK", [("Content-Type", "text/event-stream")])
    return response


def test_reads_that_wait_for_each_event_give_the_body_and_hand_the_connection_back():
    upstream, relay_side = gsocket.socketpair()
    events = [b"event: e\ndata: %d\n\n" % n for n in range(5)]
    wire = [b"%x\r\n%s\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]

    def send():
        for piece in wire[1:]:
            gevent.sleep(0.01)  # each event arrives alone: the reader waits for it
            upstream.sendall(piece)

    sender = gevent.spawn(send)
    raw = FakeRaw(relay_side, buffered=wire[0])
    reader = UpstreamReader(raw, ChunkedBody())
    got = []
    while not reader.done:
        got.append(reader.read())
    sender.join()
    reader.finish()
    assert b"".join(got) == b"".join(events)
    assert raw.response_closed and raw.released and not raw.closed


def test_a_read_that_fills_the_buffer_is_followed_by_another_at_once():
    upstream, relay_side = gsocket.socketpair()
    data = b"z" * (READ_SIZE * 2 + 10)
    gevent.spawn(upstream.sendall, b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
    reader = UpstreamReader(FakeRaw(relay_side), ChunkedBody())
    got = b""
    while not reader.done:
        got += reader.read()
    assert got == data


def test_an_upstream_closing_inside_the_body_is_a_connection_error():
    upstream, relay_side = gsocket.socketpair()
    upstream.sendall(b"10\r\nonly half")
    upstream.close()
    reader = UpstreamReader(FakeRaw(relay_side), ChunkedBody())
    with pytest.raises(ConnectionResetError):
        while True:
            reader.read()


def test_bytes_past_the_body_close_the_connection_instead_of_pooling_it():
    upstream, relay_side = gsocket.socketpair()
    raw = FakeRaw(relay_side, buffered=b"2\r\nhi\r\n0\r\n\r\nHTTP/1.1 200")
    reader = UpstreamReader(raw, ChunkedBody())
    assert reader.read() == b"hi" and reader.done
    reader.finish()
    assert raw.closed and not raw.released


def test_each_write_is_one_chunk_counted_in_gunicorns_response():
    client, relay_side = gsocket.socketpair()
    response = gunicorn_response(relay_side)
    writer = ChunkWriter(chunked_client(response))
    writer.write(b"hello")
    writer.write(b"x" * 300)
    assert response.sent == 305
    assert client.recv(65536) == b"5\r\nhello\r\n12C\r\n" + b"x" * 300 + b"\r\n"


def test_a_client_that_reads_slowly_gets_every_byte():
    client, relay_side = gsocket.socketpair()
    writer = ChunkWriter(gunicorn_response(relay_side))
    data = b"y" * 2_000_000  # more than the socket buffers hold: the writer waits for room
    received = bytearray()

    def read():
        while len(received) < len(data) + 10:
            gevent.sleep(0.001)
            received.extend(client.recv(65536))

    reader = gevent.spawn(read)
    writer.write(data)
    reader.join(10)
    assert reader.dead
    assert bytes(received) == b"1E8480\r\n" + data + b"\r\n"


def test_only_gunicorns_chunked_http1_response_is_written_directly():
    _, sock = gsocket.socketpair()
    assert chunked_client(gunicorn_response(sock)) is not None
    assert chunked_client(gunicorn_response(sock, version=(1, 0))) is None  # no chunked framing
    assert chunked_client(None) is None


def test_the_server_response_reaches_the_environ_through_start_response():
    _, sock = gsocket.socketpair()
    response = gunicorn_response(sock)
    seen = {}
    app = exposing_server_response(lambda environ, start_response: seen.update(environ) or [])
    app({}, response.start_response)
    assert seen["proxy.server_response"] is response


def test_streams_read_at_once_share_the_buffer_and_each_gets_its_own_bytes():
    pairs = [gsocket.socketpair() for _ in range(3)]
    bodies = [[b"stream %d event %d\n" % (s, n) * (n + 1) for n in range(20)] for s in range(3)]

    def send(sock, events):
        for event in events:
            gevent.sleep(0.001)
            sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        sock.sendall(b"0\r\n\r\n")

    def read(sock):
        reader = UpstreamReader(FakeRaw(sock), ChunkedBody())
        got = b""
        while not reader.done:
            got += reader.read()
        return got

    senders = [gevent.spawn(send, upstream, events) for (upstream, _), events in zip(pairs, bodies)]
    readers = [gevent.spawn(read, relay_side) for _, relay_side in pairs]
    gevent.joinall(senders + readers, timeout=10)
    assert [r.value for r in readers] == [b"".join(events) for events in bodies]
