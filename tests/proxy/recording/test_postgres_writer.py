"""The native Postgres writer: records committed from its own thread and libpq connection."""
import threading

import anthropic
import peewee
import psycopg
import pytest
import requests

import models
from proxy.recording.postgres_writer import PostgresWriter, postgres_writer_for, text_parameter
from tests.gunicorn_server import GunicornServer
from tests.hub import ticks_while
from tests.native_writers import (check_a_batch_over_several_statements_is_written_whole,
                                  check_a_replayed_batch_counts_its_pieces_once)
from tests.records import body_row, log_row, stored_body


@pytest.fixture
def schema(postgres_url):
    """A migrated Postgres database, bound to the models for reading back (the test's own binding)."""
    previous = models.database.obj
    models.init_db(postgres_url)
    models.migrate()
    yield postgres_url
    models.database.close()
    models.database.initialize(previous)


@pytest.fixture
def writer(schema):
    writer = PostgresWriter(schema)  # libpq takes a URL as its connection string
    writer.start()
    yield writer
    writer.stop()


def test_a_batch_is_written_and_a_later_row_for_an_id_replaces_the_earlier(writer):
    writer.save([log_row("a", outcome="in_flight")], [])
    writer.save([log_row("a", outcome="complete", output_tokens=42, unified_5h_utilization=0.42,
                         is_streaming=True), log_row("b")],
                [body_row("a", response_body="the reply \u00e9\U0001f44b")])
    rows = {row.id: row for row in models.RequestLog.select()}
    assert set(rows) == {"a", "b"}
    assert (rows["a"].outcome, rows["a"].output_tokens, rows["a"].unified_5h_utilization,
            rows["a"].is_streaming) == ("complete", 42, 0.42, True)
    assert stored_body("a").response_body == "the reply \u00e9\U0001f44b"


def test_a_body_holding_nul_bytes_is_kept_instead_of_refused(writer):
    # A binary upload relayed through /v1/files: Postgres text cannot hold NUL, and psycopg refused
    # the whole record for it. Stored as pieces, the body keeps its NUL bytes exactly.
    writer.save([log_row("upload")], [body_row("upload", request_body="PK\x03\x04\x00\x00 zip")])
    assert stored_body("upload").request_body == "PK\x03\x04\x00\x00 zip"


def test_the_hub_keeps_running_while_a_commit_waits_for_the_database(schema, writer):
    holder = psycopg.connect(schema)
    holder.execute("LOCK TABLE request_log IN EXCLUSIVE MODE")  # another writer holds the table
    release = threading.Timer(0.3, holder.rollback)  # a native timer: the hub may be the one stuck
    release.start()
    ticks = ticks_while(lambda: writer.save([log_row("waited")], []))
    release.join()  # the rollback may still be reading its reply: closing under it crashed libpq
    holder.close()
    assert models.RequestLog.get_by_id("waited").outcome == "complete"
    assert ticks >= 10, "greenlets ran while the commit waited for the lock"


def test_errors_come_back_as_peewees_and_the_next_batch_starts_afresh(writer):
    with pytest.raises(peewee.IntegrityError, match="23503"):
        writer.save([], [body_row("no-such-record")])  # the foreign key: the recorder then goes one by one
    writer.save([log_row("after")], [])
    assert models.RequestLog.get_by_id("after")


def test_an_unreachable_database_is_an_operational_error(schema):
    writer = PostgresWriter("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    writer.start()
    try:
        with pytest.raises(peewee.OperationalError):  # the recorder retries these
            writer.save([log_row("lost")], [])
    finally:
        writer.stop()


def test_a_batch_larger_than_one_statement_binds_is_written_whole(writer, monkeypatch):
    check_a_batch_over_several_statements_is_written_whole(writer, monkeypatch)


def test_a_replayed_batch_counts_its_pieces_once(writer):
    check_a_replayed_batch_counts_its_pieces_once(writer)


def test_url_settings_reach_both_connections(schema, monkeypatch):
    url = f"{schema}{'&' if '?' in schema else '?'}application_name=ccp-url-test"
    database = models.open_database(url)
    try:
        assert database.execute_sql("SHOW application_name").fetchone() == ("ccp-url-test",)
    finally:
        database.close_all()
    monkeypatch.setattr("proxy.recording.native_writer.monkey.is_module_patched", lambda name: True)
    writer = postgres_writer_for(database)
    connection = writer._connect()
    try:
        assert connection.parameter_status(b"application_name") == b"ccp-url-test"
    finally:
        writer._disconnect(connection)


def test_values_in_postgres_text_format():
    assert [text_parameter(v) for v in (None, True, False, 0, 12345678901234, 0.42, "é")] == \
        [None, b"t", b"f", b"0", b"12345678901234", b"0.42", "é".encode()]


def test_only_a_gevent_worker_on_postgres_gets_one(monkeypatch):
    database = models.open_database("postgres://user:p%40ss@db.example:5433/app")
    assert postgres_writer_for(database) is None  # unpatched: a native recorder thread writes
    monkeypatch.setattr("proxy.recording.native_writer.monkey.is_module_patched", lambda name: True)
    assert postgres_writer_for(database).conninfo == \
        "dbname=app user=user password=p@ss host=db.example port=5433 connect_timeout=5"
    assert postgres_writer_for(peewee.SqliteDatabase(":memory:")) is None


def test_gevent_workers_on_postgres_record_every_stream(schema, _upstream_server):
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": schema}, workers=2).start()
    try:
        sdk = anthropic.Anthropic(api_key="sk-ant-client", base_url=server.url, max_retries=0)
        for n in range(6):
            with sdk.messages.stream(model=f"claude-pg-{n}", max_tokens=64,
                                     messages=[{"role": "user", "content": "hi"}]) as stream:
                stream.get_final_message()
        upload = requests.post(server.url + "/v1/files", data=b"PK\x03\x04\x00binary",
                               headers={"x-api-key": "sk-ant-client", "content-type": "application/zip"},
                               timeout=10)
        assert upload.status_code < 500
    finally:
        assert server.stop() == 0  # every queued record is written before the workers exit
    rows = list(models.RequestLog.select().order_by(models.RequestLog.timestamp_ms))
    streams = [row for row in rows if row.endpoint == "/v1/messages"]
    assert sorted(row.original_model for row in streams) == [f"claude-pg-{n}" for n in range(6)]
    assert all(row.outcome == "complete" and row.output_tokens > 0 for row in streams)
    [file_row] = [row for row in rows if row.endpoint == "/v1/files"]
    assert "\x00binary" in stored_body(file_row.id).request_body
