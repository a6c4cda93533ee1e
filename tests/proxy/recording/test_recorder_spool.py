"""While the database fails, records wait in the spool, are written once it recovers, and the spool
of a process that died is taken over with its in-flight rows marked `interrupted`."""
import logging
import os
import threading
import time

import peewee

import models
from models.instances import beat
from proxy.recording.recorder import Recorder
from proxy.recording.spool import Spool
from tests.records import body_row, log_row, stored_body


class FlakyDatabase:
    """save_records, failing with `error` while `down` is set."""

    def __init__(self, error=peewee.OperationalError("connection refused")):
        self.down = threading.Event()
        self.error = error
        self.attempts = 0

    def save(self, logs, bodies):
        self.attempts += 1
        if self.down.is_set():
            raise self.error
        models.save_records(logs, bodies)


def outcomes() -> dict[str, str]:
    return {row.id: row.outcome for row in models.RequestLog.select()}


def test_every_kind_of_database_failure_spools_and_nothing_is_lost(app, tmp_path, caplog):
    for n, error in enumerate([peewee.OperationalError("server closed the connection"),
                               peewee.ProgrammingError("permission denied for table request_log (SQLSTATE 42501)"),
                               peewee.InterfaceError("connection already closed"),
                               peewee.PeeweeException("something nobody expected")]):
        database = FlakyDatabase(error)
        database.down.set()
        recorder = Recorder(save=database.save, spool_dir=str(tmp_path / f"spool{n}"), retry_max=0.1)
        recorder.start()
        with caplog.at_level(logging.WARNING):
            recorder.submit_in_flight(log_row(f"long{n}", outcome="in_flight"))
            for m in range(30):
                recorder.submit(log_row(f"e{n}-{m}"), body_row(f"e{n}-{m}", response_body="y" * 100))
            time.sleep(1.3)  # the in-flight row falls due and is spooled too
            recorder.submit(log_row(f"long{n}", outcome="complete"), body_row(f"long{n}"))
            time.sleep(0.3)
            assert recorder.state()["status"] == "degraded" and recorder.state()["spool_bytes"] > 0
            assert recorder.state()["oldest_unwritten_seconds"] > 1
            assert not models.RequestLog.select().where(models.RequestLog.id.startswith(f"e{n}-")).exists()
            database.down.clear()
            assert recorder.flush(10)
        assert recorder.state() == {"status": "ok", "oldest_unwritten_seconds": 0.0, "spool_bytes": 0, "dropped": 0}
        recorder.stop()
        rows = {key: value for key, value in outcomes().items() if key.startswith((f"e{n}-", f"long{n}"))}
        assert rows == {**{f"e{n}-{m}": "complete" for m in range(30)}, f"long{n}": "complete"}
        assert stored_body(f"e{n}-7").response_body == "y" * 100
        assert os.listdir(tmp_path / f"spool{n}") == []
    assert caplog.text.count("the database refuses writes") == 4, "one line per outage start"
    assert caplog.text.count("takes writes again") == 4, "one line per outage end"
    assert "Traceback" not in caplog.text


def test_a_replayed_in_flight_row_never_reopens_a_finished_one(app):
    models.save_records([log_row("done", outcome="complete", status_code=200)], [])
    models.save_records([log_row("done", outcome="in_flight")], [])
    models.save_records([log_row("cut", outcome="interrupted")], [])
    models.save_records([log_row("cut", outcome="complete")], [])
    assert outcomes() == {"done": "complete", "cut": "complete"}, "a late final record still ends it"


def test_a_dead_process_spool_is_replayed_and_its_in_flight_rows_end_interrupted(app, tmp_path):
    folder = str(tmp_path / "shared-spool")
    beat("dead0000", started_at_ms=0)  # a live-looking heartbeat: the 5-minute rule would wait
    models.save_records([log_row("written-in-flight", outcome="in_flight", instance_id="dead0000")], [])
    dead = Spool(folder, "dead0000", max_bytes=10**9)
    dead.open()
    dead.append([log_row("spooled-in-flight", outcome="in_flight", instance_id="dead0000"),
                 log_row("finished", outcome="complete", instance_id="dead0000")],
                [body_row("finished", response_body="kept")], kept_ms=int(time.time() * 1000))
    for fd in dead._locks.values():  # killed: the kernel releases its lock, its files stay
        os.close(fd)

    started = time.monotonic()
    recorder = Recorder(spool_dir=folder)
    recorder.start()
    deadline = time.monotonic() + 10
    while outcomes().get("written-in-flight") != "interrupted" or outcomes().get("spooled-in-flight") != "interrupted":
        assert time.monotonic() < deadline, outcomes()
        time.sleep(0.05)
    assert time.monotonic() - started < 5
    assert outcomes() == {"written-in-flight": "interrupted", "spooled-in-flight": "interrupted", "finished": "complete"}
    assert stored_body("finished").response_body == "kept"
    recorder.stop()
    assert not [name for name in os.listdir(folder) if name.startswith("dead0000")]


def test_an_in_flight_row_ends_even_when_its_finished_record_is_dropped(app):
    recorder = Recorder(in_flight_after=0.05, max_bytes=100_000)
    recorder.start()
    recorder.submit_in_flight(log_row("long", outcome="in_flight"))
    recorder.submit_in_flight(log_row("short", outcome="in_flight"))
    deadline = time.monotonic() + 5
    while outcomes().get("long") != "in_flight":
        assert time.monotonic() < deadline, "the in-flight row was never written"
        time.sleep(0.02)
    recorder.budget.held = recorder.budget.max_bytes  # memory full (and no spool): the final records are dropped
    recorder.submit(log_row("long", outcome="upstream_error", status_code=529), body_row("long"))
    recorder.budget.held = 0
    while outcomes().get("long") == "in_flight":
        assert time.monotonic() < deadline, "the in-flight row stayed in flight"
        time.sleep(0.02)
    recorder.stop()
    row = models.RequestLog.get_by_id("long")
    assert (row.outcome, row.bodies_omitted) == ("upstream_error", "backlog")
    assert recorder.dropped == 1


def test_a_spool_folder_it_cannot_use_leaves_records_to_memory_and_the_proxy_running(app, tmp_path, caplog):
    (tmp_path / "not-a-folder").write_text("")
    database = FlakyDatabase()
    database.down.set()
    recorder = Recorder(save=database.save, spool_dir=str(tmp_path / "not-a-folder"), retry_max=0.05)
    recorder.start()
    recorder.submit(log_row("kept"), body_row("kept"))
    assert not recorder.flush(0.5)
    database.down.clear()
    assert recorder.flush(5)
    recorder.stop()
    assert outcomes() == {"kept": "complete"}
    assert "cannot use the spool folder" in caplog.text
