"""The relay's own way for a body after the response head: the upstream socket read into one reused
buffer, each read written to the client as one chunk with one send.

gunicorn's per-chunk write path (and urllib3's chunk reader under the WSGI iterator) were most of
the work of relaying an event; for an HTTP/1.1 chunked response to the client and an upstream body
framed by chunks or a length, not encoded, the relay does both itself. A body of known length to
the client (a JSON reply) is read here too, and written by gunicorn's own `write`. Anything else
(HTTP/2 to the client, another WSGI server, a gzip or close-delimited upstream body) keeps the
WSGI path.
"""
from gevent import monkey

from proxy.body_framing import ChunkedBody, LengthBody

READ_SIZE = 64 * 1024
_thread_id = monkey.get_original("_thread", "get_ident")  # the OS thread, even after gevent's patching
_buffers: dict = {}  # OS thread -> (buffer, its memoryview)


def read_buffer() -> tuple[bytearray, memoryview]:
    """The read buffer of this OS thread, shared by every relay on it.

    A read's bytes are copied out of it before anything can switch greenlets, so one buffer serves
    every stream of a worker; a buffer per stream was 64 KB of memory for each open stream.
    """
    found = _buffers.get(_thread_id())
    if found is None:
        buffer = bytearray(READ_SIZE)
        found = _buffers[_thread_id()] = (buffer, memoryview(buffer))
    return found
SERVER_RESPONSE = "proxy.server_response"  # the environ key of gunicorn's response object


def exposing_server_response(wsgi_app):
    """A WSGI app that puts the server's response object (gunicorn's, via `start_response`) in the environ."""

    def app(environ, start_response):
        environ[SERVER_RESPONSE] = getattr(start_response, "__self__", None)
        return wsgi_app(environ, start_response)

    return app


def http1_response(server_response):
    """gunicorn's own HTTP/1.1 response object, else None (another server, or gunicorn's HTTP/2)."""
    kind = type(server_response)
    # Its own class only: a subclass (gunicorn's HTTP/2 response) frames the body its own way.
    if kind.__name__ != "Response" or kind.__module__ != "gunicorn.http.wsgi":
        return None
    return server_response


def chunked_client(server_response):
    """gunicorn's HTTP/1.1 response when it frames the body in chunks (head sent or not), else None."""
    server_response = http1_response(server_response)
    if server_response is None or not server_response.chunked or server_response.response_length is not None:
        return None
    return server_response


def body_framing(raw):
    """The framing follower for urllib3's response `raw` when its body can be read off the socket, else None."""
    response = getattr(raw, "_fp", None)  # http.client's response inside urllib3's
    if getattr(response, "fp", None) is None or getattr(response, "socket", None) is None:
        return None
    if raw.headers.get("content-encoding", "identity").lower() != "identity":
        return None  # a body to decode keeps urllib3's decoder
    if response.chunked:
        return ChunkedBody() if response.chunk_left is None else None
    if response.length is not None:
        return LengthBody(response.length)
    return None  # delimited by the connection's close


def plain_socket(sock):
    """The OS socket under a gevent socket, for calls without gevent's layers; None for TLS."""
    if hasattr(sock, "do_handshake"):
        return None  # TLS: bytes must go through the SSL object
    return getattr(sock, "_sock", None)


class UpstreamReader:
    """The body of urllib3's response `raw`, read off its socket: first what the head's reader holds."""

    __slots__ = ("framing", "_raw", "_buffered", "_sock", "_plain", "_drained", "_buffer", "_view")

    def __init__(self, raw, framing):
        self.framing = framing
        self._raw = raw
        self._buffered = raw._fp.fp  # bytes that came with the head wait there
        self._sock = raw._fp.socket
        self._plain = plain_socket(self._sock)
        self._drained = False  # the last read emptied the socket
        self._buffer, self._view = read_buffer()

    @property
    def done(self) -> bool:
        """True once the body's last byte was read."""
        return self.framing.done

    def read(self) -> bytes:
        """The body bytes of the next read (may be empty: framing only); b"" with `done` false at the
        upstream's close raises ConnectionResetError."""
        if self._buffered is not None:
            data = self._buffered.read1(READ_SIZE)  # buffered bytes, or one read of the socket
            self._buffered = None
            size = len(data)
        else:
            data = self._buffer
            size = self._recv() if self._plain is not None else self._sock.recv_into(self._view)
        if not size:
            raise ConnectionResetError("the upstream closed the connection inside the body")
        return self.framing.feed(data, size)

    def _recv(self) -> int:
        # A read that did not fill the buffer took all there was: wait for more before reading again,
        # instead of reading first and paying for the "would block" error gevent's recv_into waits on.
        sock = self._sock
        while True:
            if self._drained:
                sock._wait(sock._read_event)
            try:
                size = self._plain.recv_into(self._view)
            except BlockingIOError:
                self._drained = True
                continue
            self._drained = size < READ_SIZE
            return size

    def finish(self) -> None:
        """The whole body was read: the connection goes back to urllib3's pool (or is closed)."""
        response = self._raw._fp
        if self.framing.extra:  # bytes past the body: nothing else may read this connection
            self._raw.close()
            return
        response.close()  # http.client's response: closed, its connection may send again
        self._raw.release_conn()


class ChunkWriter:
    """Writes body bytes to the client as chunks, counted in gunicorn's response (its access log)."""

    __slots__ = ("_server", "_sock", "_plain")

    def __init__(self, server_response):
        self._server = server_response
        self._sock = server_response.sock
        self._plain = plain_socket(self._sock)

    def write(self, data: bytes) -> None:
        """One chunk, one send (more only when the client's socket is full)."""
        frame = b"%X\r\n%s\r\n" % (len(data), data)
        sent = 0
        if self._plain is not None:
            try:
                sent = self._plain.send(frame)
            except BlockingIOError:
                pass
        if sent < len(frame):  # a slow client (or TLS): gevent's sendall waits for room
            self._sock.sendall(frame[sent:] if sent else frame)
        self._server.sent += len(data)
