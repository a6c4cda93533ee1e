"""HTTP/1.1 over a raw socket: a request is sent byte for byte as built, the answer read back with a deadline.

No client library normalises anything on the way: targets, header names and values, framing and
bodies reach the server exactly as the fuzz strategies made them.
"""
import json
import socket
import time
from dataclasses import dataclass, field

TIMEOUT = 15.0  # for one whole exchange: connect, send, and read the answer
MAX_ANSWER = 4 * 1024 * 1024


@dataclass
class RawRequest:
    """One request as it goes on the wire. `head_lines` follow the request line as they are (CR or LF
    inside them included); `close_write` shuts the sending side once the body is out, so a server
    waiting for more of a body than was sent sees the end of the stream."""

    method: bytes
    target: bytes
    head_lines: list[bytes] = field(default_factory=list)
    body: bytes = b""
    close_write: bool = False
    version: bytes = b"HTTP/1.1"

    def wire(self) -> bytes:
        """The bytes sent."""
        head = [self.method + b" " + self.target + b" " + self.version, *self.head_lines]
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


@dataclass
class RawResponse:
    """The first final answer on the connection; `complete` is False when the bytes ended inside it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    complete: bool

    def header(self, name: str) -> str | None:
        """The first value of a header, any case."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def exchange(port: int, request: RawRequest, timeout: float = TIMEOUT) -> tuple[RawResponse | None, bytes]:
    """Send `request` to 127.0.0.1:`port` and read until the server closes the connection (the
    requests say `Connection: close`, so by then the server is done with them); returns the first
    answer (None: the connection closed without one) and the raw bytes received."""
    deadline = time.monotonic() + timeout
    received = b""
    head_only = request.method.upper() == b"HEAD"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request.wire())
            if request.close_write:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything: read what it said
        while len(received) < MAX_ANSWER:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                response = parse_response(received, head_only, at_end=False)
                if response is not None and response.complete:
                    return response, received  # answered, but the connection was left open
                raise TimeoutError(f"no complete answer within {timeout} s; received {received[:300]!r}")
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                continue  # the deadline check above ends the loop
            if not data:
                break
            received += data
    return parse_response(received, head_only, at_end=True), received


def parse_response(data: bytes, head_only: bool, at_end: bool) -> RawResponse | None:
    """The first non-1xx answer in `data`, None when there is none (yet); `at_end`: no more bytes will come."""
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP answer: {data[:300]!r}")
        status = int(parts[1])
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        rest = data[end + 4:]
        if 100 <= status < 200:  # an interim answer (100 Continue): the final one follows
            data = rest
            continue
        break
    response = RawResponse(status, headers, b"", complete=False)
    length, encoding = response.header("content-length"), (response.header("transfer-encoding") or "").lower()
    if head_only or status in (204, 304):
        response.complete = True
    elif "chunked" in encoding:
        response.body, response.complete = _dechunk(rest)
    elif length is not None and length.isdigit():
        response.body, response.complete = rest[:int(length)], len(rest) >= int(length)
    else:  # delimited by the connection's close
        response.body, response.complete = rest, at_end
    return response


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    """The body of a chunked encoding so far, and whether its last chunk arrived."""
    body, position = b"", 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return body, False
        try:
            size = int(data[position:line_end].split(b";")[0], 16)
        except ValueError:
            raise ValueError(f"a malformed chunk size in the answer: {data[position:line_end][:50]!r}") from None
        if size == 0:
            return body, True
        start = line_end + 2
        if len(data) < start + size + 2:
            return body + data[start:start + size], False
        body += data[start:start + size]
        position = start + size + 2
