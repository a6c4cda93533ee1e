"""The incremental SSE parser: the same events whatever the chunk boundaries and line endings."""
import itertools

import pytest

from proxy.sse import Event, SSEParser
from tests.fake_upstream import message_events

STREAM = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
          b": a comment line\n"
          b"event: content_block_delta\ndata: {\"text\":\"Gr\xc3\xbc\xc3\x9fe \xf0\x9f\x91\x8b\"}\n\n"
          b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
          b"data: line one\ndata: line two\n\n")
EXPECTED = [
    Event("message_start", '{"type":"message_start"}'),
    Event("content_block_delta", '{"text":"Grüße 👋"}'),
    Event("ping", '{"type": "ping"}'),
    Event("message", "line one\nline two"),
]


def parse(chunks) -> list[Event]:
    parser = SSEParser()
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def test_whole_stream_in_one_chunk():
    assert parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_single_split_with_each_line_ending(ending):
    stream = STREAM.replace(b"\n", ending)
    for cut in range(len(stream) + 1):
        assert parse([stream[:cut], stream[cut:]]) == EXPECTED, f"split at byte {cut}"


def test_every_pair_of_splits_with_crlf():
    stream = STREAM.replace(b"\n", b"\r\n")
    for first, second in itertools.combinations(range(1, len(stream)), 2):
        assert parse([stream[:first], stream[first:second], stream[second:]]) == EXPECTED


def test_byte_by_byte_utf8_is_never_mangled():
    assert parse([bytes([b]) for b in STREAM]) == EXPECTED


def test_a_realistic_message_stream_split_everywhere():
    stream = b"".join(message_events("claude-test", tool={"name": "Read", "input": {"path": "/tmp/ä"}},
                                     thinking="hmm"))
    whole = parse([stream])
    assert [e.event for e in whole][:2] == ["message_start", "content_block_start"]
    assert whole[-1].event == "message_stop"
    for cut in range(0, len(stream), 7):
        assert parse([stream[:cut], stream[cut:]]) == whole


def test_mid_event_tracks_unfinished_events():
    parser = SSEParser()
    parser.feed(b"event: ping\n")
    assert parser.mid_event
    parser.feed(b'data: {}\n\n')
    assert not parser.mid_event
    parser.feed(b"data: {\"par")
    assert parser.mid_event


def test_plain_blocks_read_the_same_as_line_by_line():
    # Two-line blocks take a fast path; these spellings must read as the SSE rules say.
    stream = (b"event:\ndata: x\n\n" b"event:tight\ndata:y\n\n" b"event:  two\ndata:  spaced\n\n"
              b"event: e\ndata: \n\n" b"\n\n\n" b"data: only\n\n" b"event: e\nid: 7\ndata: z\n\n")
    assert parse([stream]) == [Event("message", "x"), Event("tight", "y"), Event(" two", " spaced"),
                               Event("e", ""), Event("message", "only"), Event("e", "z")]
    assert parse([bytes([b]) for b in stream]) == parse([stream])
