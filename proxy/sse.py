"""An incremental Server-Sent Events parser: bytes in, (event, data) pairs out. Pure, no I/O."""
from typing import NamedTuple


class Event(NamedTuple):
    event: str
    data: str


class SSEParser:
    """Parses an event stream fed in arbitrary chunks (any split, LF/CR/CRLF, split UTF-8)."""

    def __init__(self):
        self._buffer = b""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []

    @property
    def mid_event(self) -> bool:
        """True when bytes of an unfinished event have been seen (a cut here splits an event)."""
        return bool(self._buffer or self._data or self._event)

    def feed(self, chunk: bytes) -> list[Event]:
        """Consume a chunk and return the events it completed."""
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = chunk.endswith(b"\r")
        data = self._buffer + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        # Line terminators are ASCII, so a UTF-8 character is never cut by this split:
        # an incomplete trailing character simply waits in the buffer.
        self._buffer = lines.pop()
        events = []
        for line in lines:
            event = self._line(line.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str):
        if not line:
            if not self._data and not self._event:
                return None
            event = Event(self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None
