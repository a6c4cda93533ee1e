"""The floor relay's reading of chunked framing: where a body ends, however the reads cut it."""
import pytest

from bench.floor_relay import ChunkedEnd

BODY = b"5\r\nhello\r\n1a;ext=1\r\n" + b"x" * 26 + b"\r\n0\r\nTrailer: yes\r\n\r\n"


@pytest.mark.parametrize("step", [1, 2, 3, 7, len(BODY)])
def test_the_end_is_found_in_the_read_that_holds_it(step):
    ended, done_at = ChunkedEnd(), None
    for start in range(0, len(BODY), step):
        part = BODY[start:start + step]
        if ended.feed(part, len(part)):
            done_at = start + len(part)
            break
    assert done_at is not None and done_at >= len(BODY) and done_at - step < len(BODY)


def test_a_body_without_its_last_chunk_has_not_ended():
    part = BODY[:-len(b"0\r\nTrailer: yes\r\n\r\n")]
    assert not ChunkedEnd().feed(part, len(part))
