"""The native SQLite writer: records committed from its own thread while the gevent hub keeps running."""
import sqlite3
import threading

import peewee
import pytest

import models
from proxy.recording.sqlite_writer import SqliteWriter, sqlite_writer_for
from tests.hub import ticks_while
from tests.native_writers import (check_a_batch_over_several_statements_is_written_whole,
                                  check_a_replayed_batch_counts_its_pieces_once)
from tests.records import body_row, log_row, stored_body

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def writer(app):
    writer = SqliteWriter(models.database.obj.database, busy_timeout=0.3)
    writer.start()
    yield writer
    writer.stop()


def test_a_batch_is_written_and_a_later_row_for_an_id_replaces_the_earlier(app, writer):
    writer.save([log_row("a", outcome="in_flight")], [])
    writer.save([log_row("a", outcome="complete", output_tokens=42), log_row("b")],
                [body_row("a", response_body="the reply")])
    rows = {row.id: row for row in models.RequestLog.select()}
    assert set(rows) == {"a", "b"}
    assert (rows["a"].outcome, rows["a"].output_tokens) == ("complete", 42)
    assert stored_body("a").response_body == "the reply"


def test_the_hub_keeps_running_while_a_commit_waits_for_the_database(app, writer):
    holder = sqlite3.connect(models.database.obj.database, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a while
    release = threading.Timer(0.2, holder.rollback)  # a native timer: the hub may be the one stuck
    release.start()
    ticks = ticks_while(lambda: writer.save([log_row("waited")], []))
    release.join()  # never close the connection under the rollback
    holder.close()
    assert models.RequestLog.get_by_id("waited").outcome == "complete"
    assert ticks >= 10, "greenlets ran while the commit waited for the lock"


def test_a_failed_commit_raises_peewee_errors_and_the_next_batch_starts_afresh(app, writer):
    holder = sqlite3.connect(models.database.obj.database)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(peewee.OperationalError, match="locked"):
        writer.save([log_row("refused")], [])  # the recorder retries OperationalError
    holder.rollback()
    holder.close()
    writer.save([log_row("refused")], [])
    assert models.RequestLog.get_by_id("refused")
    with pytest.raises(peewee.IntegrityError):
        writer.save([], [body_row("no-such-record")])  # the foreign key is enforced here too


def test_only_a_gevent_worker_on_an_sqlite_file_gets_one(tmp_path, monkeypatch):
    path = str(tmp_path / "records.db")
    assert sqlite_writer_for(peewee.SqliteDatabase(path)) is None  # unpatched: a native recorder thread
    monkeypatch.setattr("proxy.recording.native_writer.monkey.is_module_patched", lambda name: True)
    assert sqlite_writer_for(peewee.SqliteDatabase(path)).path == path
    assert sqlite_writer_for(peewee.SqliteDatabase(":memory:")) is None
    assert sqlite_writer_for(peewee.PostgresqlDatabase("records")) is None


def test_a_batch_larger_than_one_statement_binds_is_written_whole(app, writer, monkeypatch):
    check_a_batch_over_several_statements_is_written_whole(writer, monkeypatch)


def test_a_replayed_batch_counts_its_pieces_once(app, writer):
    check_a_replayed_batch_counts_its_pieces_once(writer)
