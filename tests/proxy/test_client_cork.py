"""The response head and first chunk are corked into one segment, and nothing after them waits."""
import socket

from proxy.client_cork import HeadCork
from proxy.exchange import Exchange
from proxy.relay import RelayBody


class RecordingSocket:
    def __init__(self, fail=False):
        self.corks = []
        self.fail = fail

    def setsockopt(self, level, option, value):
        assert (level, option) == (socket.IPPROTO_TCP, socket.TCP_CORK)
        if self.fail:
            raise OSError("the client is gone")
        self.corks.append(value)


class ChunkedBody:
    chunked = True

    def __init__(self, chunks):
        self.chunks = chunks

    def read_chunked(self, decode_content=True):
        return iter(self.chunks)


class FakeUpstream:
    def __init__(self, chunks):
        self.raw = ChunkedBody(chunks)

    def close(self):
        pass


def relay(sock, chunks):
    exchange = Exchange(method="POST", endpoint="/v1/messages", query="", request_headers={})
    return RelayBody(exchange, FakeUpstream(chunks), lambda exchange: None, cork=HeadCork(sock))


def test_corked_from_the_first_chunk_until_the_server_asks_for_the_second():
    sock = RecordingSocket()
    body = relay(sock, [b"event: a\n\n", b"event: b\n\n", b"event: c\n\n"])
    assert next(body) == b"event: a\n\n" and sock.corks == [1]  # the server now writes head and chunk
    assert next(body) == b"event: b\n\n" and sock.corks == [1, 0]  # both written: out they go
    assert list(body) == [b"event: c\n\n"] and sock.corks == [1, 0]
    body.close()
    assert sock.corks == [1, 0]


def test_a_response_ended_after_one_chunk_is_uncorked_when_closed():
    sock = RecordingSocket()
    body = relay(sock, [b'{"id": "msg"}'])
    next(body)
    body.close()  # the server stopped iterating (an error, or the client left)
    assert sock.corks == [1, 0]


def test_no_socket_or_a_gone_client_is_no_cork_and_no_error():
    assert list(relay(None, [b"a", b"b"])) == [b"a", b"b"]
    assert list(relay(RecordingSocket(fail=True), [b"a", b"b"])) == [b"a", b"b"]
