"""Schema migrations and record writes on SQLite and on a real PostgreSQL."""
import pytest

import models
from models.request_log import RequestLog
from tests.records import body_row, log_row, save_legacy_records, stored_body


def test_migrate_is_idempotent_and_records_the_version(db):
    assert models.current_version() == 0
    assert models.migrate() == models.SCHEMA_VERSION
    assert models.migrate() == models.SCHEMA_VERSION
    assert models.current_version() == models.SCHEMA_VERSION
    assert db.table_exists("request_log") and db.table_exists("request_body")


def test_a_later_row_for_an_id_replaces_the_in_flight_one(db):
    models.migrate()
    models.save_records([log_row("a", outcome="in_flight")], [body_row("a")])
    models.save_records([log_row("a", outcome="complete", status_code=200, output_tokens=42)],
                        [body_row("a", response_body="done")])
    row = RequestLog.get_by_id("a")
    assert (row.outcome, row.status_code, row.output_tokens) == ("complete", 200, 42)
    assert stored_body("a").response_body == "done"
    assert RequestLog.select().count() == 1


def test_rows_left_in_flight_are_marked_interrupted(db):
    models.migrate()
    models.save_records([log_row("a", outcome="in_flight"), log_row("b", outcome="complete")], [])
    assert models.mark_interrupted() == 1
    assert {r.id: r.outcome for r in RequestLog.select()} == {"a": "interrupted", "b": "complete"}


def test_heroku_style_postgres_url_is_accepted():
    database = models.open_database("postgres://user:p%40ss@db.example:5433/app")
    assert database.database == "app"
    assert database.connect_params["password"] == "p@ss"
    assert database.connect_params["port"] == 5433


def test_url_query_parameters_are_libpq_settings():
    database = models.open_database("postgres://u@db.example/app?sslmode=require&connect_timeout=12"
                                    "&host=/var/run/postgresql")
    assert database.connect_params["sslmode"] == "require"
    assert database.connect_params["connect_timeout"] == "12"  # the URL's own overrides the default
    assert database.connect_params["host"] == "/var/run/postgresql"


def test_a_url_may_name_the_database_in_its_query_but_not_set_the_pools_arguments():
    assert models.open_database("postgres://u@db.example/?dbname=app").database == "app"
    for query in ("timeout=1", "max_connections=3", "sslmod=require"):
        with pytest.raises(ValueError, match="parameters libpq does not know"):
            models.open_database(f"postgres://u@db.example/app?{query}")


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported DATABASE_URL scheme 'mysql'"):
        models.open_database("mysql://x/y")


def test_a_database_at_an_older_version_is_upgraded_with_its_rows_intact(db):
    assert models.migrate(up_to=2) == 2
    save_legacy_records([log_row("old1", organization_id="org-1", output_tokens=7), log_row("old2")],
                        [body_row("old1", request_body='{"model": "m"}')])
    assert models.migrate() == models.SCHEMA_VERSION
    assert models.current_version() == models.SCHEMA_VERSION
    assert {r.id: r.output_tokens for r in RequestLog.select()} == {"old1": 7, "old2": 0}
    assert stored_body("old1").request_body == '{"model": "m"}'
    indexes = {index.name for index in db.get_indexes("request_log")}
    assert {"request_log_time_spender", "request_log_org_time_spender", "request_log_session_time"} <= indexes
    assert not {"request_log_time_cover", "request_log_org_time_cover"} & indexes, "step 7 widened them"


def test_over_long_values_are_clipped_not_refused(migrated):
    models.save_records([log_row("long", original_model="m" * 500, session_id="s" * 300, endpoint="/v1/" + "x" * 900),
                         log_row("fine")], [])
    row = RequestLog.get_by_id("long")
    assert (len(row.original_model), len(row.session_id), len(row.endpoint)) == (200, 100, 512)
    assert RequestLog.select().count() == 2


def test_a_version_3_database_gains_the_capture_flags_and_instances_with_its_rows_intact(db):
    assert models.migrate(up_to=3) == 3
    save_legacy_records([log_row("v3", output_tokens=9)], [body_row("v3", request_body='{"model": "m"}')])
    for column in ("request_body_truncated", "response_body_truncated", "bodies_omitted", "instance_id"):
        db.execute_sql(f'ALTER TABLE request_log DROP COLUMN "{column}"')  # as version 3 made it
    assert models.migrate() == models.SCHEMA_VERSION >= 4
    row = RequestLog.get_by_id("v3")
    assert (row.output_tokens, row.request_body_truncated, row.response_body_truncated, row.bodies_omitted) == (
        9, False, False, None)
    assert stored_body("v3").request_body == '{"model": "m"}'
    assert db.table_exists("proxy_instance") and row.instance_id is None, "step 4 made the table"
    models.save_records([log_row("v4", request_body_truncated=True, bodies_omitted="backlog")], [])
    assert (RequestLog.get_by_id("v4").request_body_truncated, RequestLog.get_by_id("v4").bodies_omitted) == (
        True, "backlog")


def test_a_row_that_leaves_columns_out_gets_their_defaults(migrated):
    row = log_row("in-flight", outcome="in_flight")
    for column in ("request_body_truncated", "response_body_truncated", "bodies_omitted", "query"):
        del row[column]
    models.save_records([row], [])
    saved = RequestLog.get_by_id("in-flight")
    assert (saved.request_body_truncated, saved.bodies_omitted, saved.query) == (False, None, "")


def test_texts_no_database_can_encode_are_stored_escaped_and_the_batch_whole(db):
    # A lone surrogate (JSON's "\\ud800") failed to encode and took the batch's other records with it.
    models.migrate()
    models.save_records([log_row("odd", original_model="x\ud800", session_id="s\x00\udfff",
                                 stream_error="über \ud83d"), log_row("innocent")], [])
    odd = RequestLog.get_by_id("odd")
    assert (odd.original_model, odd.session_id, odd.stream_error) == ("x\\ud800", "s\ufffd\\udfff", "über \\ud83d")
    assert RequestLog.get_by_id("innocent").outcome == "complete"


def test_a_version_6_database_gains_the_usage_detail_with_its_rows_unpriced_split_unknown(db):
    assert models.migrate(up_to=6) == 6
    models.save_records([log_row("v5", cache_creation_input_tokens=800)], [])
    for column in ("cache_write_5m_tokens", "cache_write_1h_tokens", "web_search_requests",
                   "web_fetch_requests", "inference_geo", "speed", "iterations", "iteration_count"):
        db.execute_sql(f'ALTER TABLE request_log DROP COLUMN "{column}"')  # as version 6 made it
    assert models.migrate() == models.SCHEMA_VERSION >= 7
    old = RequestLog.get_by_id("v5")
    assert (old.cache_creation_input_tokens, old.cache_write_5m_tokens, old.cache_write_1h_tokens) == (800, None, None)
    assert (old.web_search_requests, old.inference_geo, old.iterations, old.iteration_count) == (0, None, None, 0)
    models.save_records([log_row("v6", cache_creation_input_tokens=800, cache_write_5m_tokens=300,
                                 cache_write_1h_tokens=500, web_search_requests=2, speed="fast")], [])
    new = RequestLog.get_by_id("v6")
    assert (new.cache_write_5m_tokens, new.cache_write_1h_tokens, new.web_search_requests, new.speed) == (
        300, 500, 2, "fast")
