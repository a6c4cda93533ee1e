"""The upstream body's framing followed over reads that split it anywhere."""
import random

import pytest

from proxy.body_framing import ChunkedBody, FramingError, LengthBody

BODY = "event: content_block_delta\ndata: {\"text\": \"Grüße 👋\"}\n\n".encode() * 20


def chunked(pieces: list[bytes], trailers: bytes = b"") -> bytes:
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailers + b"\r\n"


def fed(framing, wire: bytes, cuts: list[int]) -> bytes:
    out, start = [], 0
    for end in [*cuts, len(wire)]:
        read = bytearray(wire[start:end]) + bytearray(b"junk-after")  # a reused buffer holds more than the read
        out.append(framing.feed(read, end - start))
        start = end
    return b"".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_a_chunked_body_cut_anywhere_gives_its_bytes_and_its_end(seed):
    rng = random.Random(seed)
    pieces = [BODY[i:i + 97] for i in range(0, len(BODY), 97)]
    wire = chunked(pieces, trailers=b"x-trailer: 1\r\n" if seed % 2 else b"")
    cuts = sorted(rng.sample(range(1, len(wire)), rng.randint(0, 30)))
    framing = ChunkedBody()
    assert fed(framing, wire, cuts) == BODY
    assert framing.done and framing.extra == 0


def test_a_read_of_one_whole_chunk_is_its_data():
    framing = ChunkedBody()
    assert framing.feed(b"5\r\nhello\r\n", 10) == b"hello"
    assert not framing.done
    assert framing.feed(b"0\r\n\r\n", 5) == b"" and framing.done


def test_bytes_past_the_end_are_counted():
    framing = ChunkedBody()
    wire = b"2\r\nhi\r\n0\r\n\r\nHTTP/1.1"
    assert framing.feed(wire, len(wire)) == b"hi"
    assert framing.done and framing.extra == 8


@pytest.mark.parametrize("line", [b"zz\r\n", b"-5\r\n", b"\r\n"])
def test_a_broken_chunk_size_is_a_framing_error(line):
    with pytest.raises(FramingError):
        ChunkedBody().feed(line, len(line))


def test_a_length_body_ends_at_its_length():
    framing = LengthBody(5)
    assert framing.feed(b"hel", 3) == b"hel" and not framing.done
    assert framing.feed(b"lo!", 3) == b"lo" and framing.done and framing.extra == 1
    assert LengthBody(0).done
