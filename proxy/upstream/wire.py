"""The upstream connection's HTTP/1.1 heads, written and read without http.client's slowest layers.

http.client checks each request header through two layers of calls and parses every response head
with the email package. The plain case (str headers gunicorn already parsed, a response head of
`name: value` lines) is handled here; anything else (folded lines, odd characters, bytes or int
values) takes the standard path unchanged.
"""
import http.client
import io
import re

from urllib3.util import SKIP_HEADER

# A request header line http.client would send as it is: a legal name, ASCII (names are encoded
# as ASCII, values as latin-1), and a value without line breaks.
_PLAIN_REQUEST_LINE = re.compile(r"[^:\s][^:\r\n]*: [^\r\n]*").fullmatch
# A response header line the email parser would read as one `name: value` pair: a name of printable
# ASCII without spaces or colons, then the value (leading blanks dropped, the rest kept).
_PLAIN_RESPONSE_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n").fullmatch
# http.client's limits on a response head.
MAX_LINE = 65536
MAX_HEADERS = 100
# An SSE event is a few hundred bytes: a 1 KB read buffer holds one, and a larger chunk is read
# past it. http.client's default of 8 KB stayed allocated for every open stream.
RESPONSE_BUFFER = 1024


class RequestHeadWriting:
    """A connection mixin: a plain str header goes straight into the request head, and the head
    goes out with the body in one write (one system call, and one wake-up of the server, not two)."""

    _held_head: bytes | None = None

    def putheader(self, header, *values):
        """Add one header line; only a single plain str value skips the per-value checks."""
        if len(values) == 1 and type(header) is type(values[0]) is str and values[0] != SKIP_HEADER:
            line = f"{header}: {values[0]}"
            if header.isascii() and _PLAIN_REQUEST_LINE(line):
                self._output(line.encode("latin-1"))
                return
        super().putheader(header, *values)

    def _send_output(self, message_body=None, encode_chunked=False):
        if message_body is not None:
            return super()._send_output(message_body, encode_chunked=encode_chunked)
        # urllib3 ends the head without a body and sends the body next: hold the head for it.
        self._buffer.extend((b"", b""))
        self._held_head = b"\r\n".join(self._buffer)
        del self._buffer[:]

    def send(self, data):
        """Send `data`, after any held head (joined to it when both are bytes)."""
        head, self._held_head = self._held_head, None
        if head is not None:
            if isinstance(data, bytes):
                data = head + data
            else:
                super().send(head)
        super().send(data)

    def getresponse(self):
        """Send a held head (a request without a body), then read the response."""
        if self._held_head is not None:
            self.send(b"")
        return super().getresponse()

    def close(self):
        """Close the connection; a head not sent yet is dropped with it."""
        self._held_head = None
        super().close()


class _SmallBufferMaker:
    """A socket's makefile() with the RESPONSE_BUFFER size, for http.client's response to call."""

    __slots__ = ("_sock",)

    def __init__(self, sock):
        self._sock = sock

    def makefile(self, mode):
        """The socket's buffered reader, RESPONSE_BUFFER bytes large."""
        return self._sock.makefile(mode, RESPONSE_BUFFER)


class PlainHeadResponse(http.client.HTTPResponse):
    """http.client's response with a small read buffer and a direct parse of a plain head."""

    def __init__(self, sock, *args, **kwargs):
        # http.client's __init__ opens its reader with sock.makefile("rb"): handed the small buffer
        # at once, not opened twice (a reader opened and closed again was ~25k instructions).
        super().__init__(_SmallBufferMaker(sock), *args, **kwargs)
        self.socket = sock  # the relay's way to the socket, which outlives the connection's hold on it

    def begin(self):
        """Read the status line and headers, and work out the body's framing, as http.client does."""
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            self._head_lines()  # an interim 100 response's headers are skipped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = head_message(self._head_lines())
        transfer_encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer_encoding) and transfer_encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                pass
            else:
                if self.length < 0:  # a nonsensical length is ignored
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200 \
                or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends when the connection does

    def _head_lines(self) -> list[bytes]:
        lines = []
        while True:
            line = self.fp.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return lines
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


def head_message(lines: list[bytes]) -> http.client.HTTPMessage:
    """The headers of a response head, as http.client's parser (the email package) would give them."""
    message = http.client.HTTPMessage()
    for line in lines:
        match = _PLAIN_RESPONSE_LINE(line)
        if match is None:  # a folded line, or one the email parser reads its own way
            return http.client.parse_headers(io.BytesIO(b"".join(lines) + b"\r\n"))
        message[match[1].decode("ascii")] = match[2].decode("iso-8859-1")
    message.set_payload("")  # what the email parser leaves: no unparsed text after the head
    return message
