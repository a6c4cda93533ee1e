"""The spool keeps batches on disk in order, survives its process, and is adopted once that process is gone."""
import os

import pytest

from proxy.recording import spool as spool_module
from proxy.recording.spool import Spool, SpoolFull
from tests.records import body_row, log_row


def replay_all(spool: Spool) -> list[str]:
    ids = []
    while (found := spool.read(1000)) is not None:
        logs, _, end = found
        ids.extend(row["id"] for row in logs)
        spool.advance(end)
    return ids


def test_batches_come_back_in_order_across_segments_and_are_deleted_once_replayed(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 2000)
    spool = Spool(str(tmp_path), "me", max_bytes=10**9)
    spool.open()
    for n in range(10):
        spool.append([log_row(f"r{n}")], [body_row(f"r{n}", request_body="x" * 500)], kept_ms=1000 + n)
    assert len([name for name in os.listdir(tmp_path) if name.endswith(".spool")]) > 2
    assert spool.oldest_ms == 1000 and spool.bytes > 5000
    assert replay_all(spool) == [f"r{n}" for n in range(10)]
    assert (spool.pending, spool.bytes, spool.oldest_ms) == (False, 0, None)
    assert os.listdir(tmp_path) == ["me.lock"]
    spool.close()
    assert os.listdir(tmp_path) == []


def test_a_full_spool_refuses_a_batch_and_keeps_what_it_has(tmp_path):
    spool = Spool(str(tmp_path), "me", max_bytes=3000)
    spool.open()
    spool.append([log_row("kept")], [], kept_ms=1)
    with pytest.raises(SpoolFull):
        spool.append([log_row("big")], [body_row("big", request_body="x" * 5000)], kept_ms=2)
    assert replay_all(spool) == ["kept"]


def test_a_dead_process_spool_is_adopted_once_and_a_line_cut_by_a_crash_is_skipped(tmp_path):
    dead = Spool(str(tmp_path), "dead", max_bytes=10**9)
    dead.open()
    dead.append([log_row("a", outcome="in_flight"), log_row("a", outcome="complete")], [body_row("a")], kept_ms=5)
    dead.append([log_row("b")], [], kept_ms=6)
    with open(tmp_path / "dead-00000001.spool", "ab") as file:
        file.write(b'7 {"logs": [{"id": "cut')  # the process died mid-write
    alive = Spool(str(tmp_path), "alive", max_bytes=10**9)
    alive.open()
    assert alive.adopt_orphans() == [], "a live process's lock is held"
    for fd in dead._locks.values():  # what a SIGKILL does: the kernel releases the lock, the files stay
        os.close(fd)
    dead._locks.clear()
    other = Spool(str(tmp_path), "other", max_bytes=10**9)
    other.open()
    assert alive.adopt_orphans() == ["dead"]
    assert other.adopt_orphans() == [], "adopted by one process only"
    assert not alive.replayed("dead")
    assert replay_all(alive) == ["a", "a", "b"]
    assert alive.replayed("dead")
    alive.release("dead")
    assert sorted(os.listdir(tmp_path)) == ["alive.lock", "other.lock"]


def test_bodies_kept_as_bytes_come_back_as_the_same_bytes(tmp_path):
    spool = Spool(str(tmp_path), "me", max_bytes=10**9)
    spool.open()
    body = body_row("b1", request_body=b'{"a": "\xff\xfe latin-1 \xe9"}', response_body=b"\x00binary",
                    response_message='{"type": "message"}')
    spool.append([log_row("b1")], [body], kept_ms=1000)
    logs, bodies, end = spool.read(10**6)
    assert bodies == [body] and logs[0]["id"] == "b1"
    spool.advance(end)
    spool.close()
