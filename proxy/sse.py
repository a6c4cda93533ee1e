"""An incremental Server-Sent Events parser: bytes in, (event, data) pairs out. Pure, no I/O."""
import itertools
import operator
import re
from typing import NamedTuple

# An event block as Anthropic sends every one: an `event:` line and one `data:` line. Matched whole,
# it needs none of the per-line work.
_PLAIN_BLOCK = re.compile(rb"event: ?([^\n]*)\ndata: ?([^\n]*)").fullmatch
_EVENT_LINE = re.compile(rb"event: ?(.*)", re.DOTALL).fullmatch
_AFTER_DATA = operator.itemgetter(slice(len(b"data: "), None))


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
        whole = self._complete(chunk)
        return [] if whole is None else self._events(whole)

    def feed_raw(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        """`feed`, with each event as its undecoded (event name, data) bytes: for a caller that
        decodes many at once (a name read as empty is "message" in `feed`)."""
        whole = self._complete(chunk)
        if whole is None:
            return []
        plain = _plain_pairs(whole)
        if plain is not None:
            return plain
        return [(event.event.encode(), event.data.encode()) for event in self._events(whole)]

    def _complete(self, chunk: bytes) -> bytes | None:
        # The whole events the chunk completes, each with its blank line, LF-terminated; the rest
        # waits for more.
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
        self._pending_cr = chunk.endswith(b"\r")
        data = self._buffer + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # A blank line ends an event: the text up to the last one holds only whole events (line
        # terminators are ASCII, so no UTF-8 character is cut either).
        end = data.rfind(b"\n\n")
        if end < 0:
            self._buffer = data
            return None
        self._buffer = data[end + 2:]
        return data[:end + 2]

    def _events(self, whole: bytes) -> list[Event]:
        events = []
        for block in whole[:-2].split(b"\n\n"):
            plain = _PLAIN_BLOCK(block)
            if plain is not None:
                events.append(Event(plain[1].decode("utf-8", "replace") or "message",
                                    plain[2].decode("utf-8", "replace")))
                continue
            for line in block.split(b"\n"):
                self._line(line.decode("utf-8", "replace"))
            event = self._line("")  # the blank line that ended the block
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


def _plain_pairs(whole: bytes) -> list[tuple[bytes, bytes]] | None:
    """The (event name, data) of text made only of `event: NAME` + `data: DATA` blocks, as the usual
    stream is, split and checked by calls that each go over every event (no Python step per event);
    None for any other text."""
    lines = whole.split(b"\n")
    del lines[-1]  # after the last blank line
    if len(lines) % 3 or any(lines[2::3]):
        return None
    datas = lines[1::3]
    if not all(map(bytes.startswith, datas, itertools.repeat(b"data: "))):
        return None
    names = lines[0::3]
    name_of = {}
    for line in set(names):  # a handful of distinct event lines
        match = _EVENT_LINE(line)
        if match is None:
            return None
        name_of[line] = match[1]
    return list(zip(map(name_of.__getitem__, names), map(_AFTER_DATA, datas)))
