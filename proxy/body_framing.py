"""An upstream body's framing followed over arbitrary socket reads: the body bytes of each read, and its end.

The relay reads the upstream socket itself (proxy.socket_relay) instead of through urllib3's chunk
reader; this is the part of that reader it still needs. Like http.client it accepts chunk
extensions and trailers, and drops them with the framing.
"""
MAX_LINE = 65536  # http.client's limit on a chunk-size or trailer line


class FramingError(ValueError):
    """The upstream's chunked framing is broken."""


class ChunkedBody:
    """A `Transfer-Encoding: chunked` body."""

    __slots__ = ("_left", "_line", "_trailers", "done", "extra")

    def __init__(self):
        self._left = 0          # bytes of the current chunk still to come, its closing CRLF included
        self._line = b""        # a size or trailer line cut by the end of a read
        self._trailers = False  # the last (zero-size) chunk was seen: only trailers remain
        self.done = False       # the body's last byte was read
        self.extra = 0          # bytes read past the body's end (the connection cannot be reused)

    def feed(self, data, size: int) -> bytes:
        """The body bytes among the first `size` bytes of `data` (one read), without the framing."""
        if not self._left and not self._line and not self._trailers:
            # The usual read: one whole chunk, size line without extensions (an event, as sent).
            end = data.find(b"\r\n", 0, 10)
            if end > 0:
                try:
                    length = int(data[:end], 16)
                except ValueError:
                    length = -1
                if length > 0 and end + length + 4 == size and data[size - 2:size] == b"\r\n":
                    return bytes(memoryview(data)[end + 2:size - 2])
        pieces = []
        pos = 0
        while pos < size:
            if self.done:
                self.extra += size - pos
                break
            if self._left:
                step = min(self._left, size - pos)
                body = min(step, self._left - 2)  # the chunk's data, not its closing CRLF
                if body > 0:
                    pieces.append(bytes(data[pos:pos + body]))
                self._left -= step
                pos += step
                continue
            end = data.find(b"\n", pos, size)
            if end < 0:
                self._line += bytes(data[pos:size])
                if len(self._line) > MAX_LINE:
                    raise FramingError("chunk-size line too long")
                break
            line, self._line, pos = self._line + bytes(data[pos:end]), b"", end + 1
            if self._trailers:
                self.done = not line.strip()  # the blank line after the trailers ends the body
                continue
            try:
                length = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise FramingError(f"invalid chunk size {line[:40]!r}") from None
            if length < 0:
                raise FramingError(f"invalid chunk size {line[:40]!r}")
            if length == 0:
                self._trailers = True
            else:
                self._left = length + 2
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)


class LengthBody:
    """A body of a known `Content-Length`."""

    __slots__ = ("_left", "done", "extra")

    def __init__(self, length: int):
        self._left = length
        self.done = length == 0
        self.extra = 0

    def feed(self, data, size: int) -> bytes:
        """The body bytes among the first `size` bytes of `data` (one read)."""
        take = min(size, self._left)
        self._left -= take
        self.extra += size - take
        self.done = not self._left
        return bytes(data[:take])
