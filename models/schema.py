"""Versioned, idempotent schema migrations and start-up repair of unfinished rows."""
import logging

import peewee

from models.body_store import BodySegment
from models.db import database
from models.instances import ProxyInstance, interrupt_orphans
from models.request_log import RequestBody, RequestLog
from models.settings import Setting

log = logging.getLogger(__name__)


class SchemaVersion(peewee.Model):
    version = peewee.IntegerField()

    class Meta:
        database = database
        table_name = "schema_version"


def _v1_records(db):
    db.create_tables([RequestLog, RequestBody])


def _v2_settings(db):
    db.create_tables([Setting])


# Covering indexes for the dashboard: every statistic reads only index entries, and a page
# sorted newest first walks the first index backwards. Leading with organization_id serves `org`.
_DASHBOARD_COLUMNS = ("routed_model, original_model, input_tokens, output_tokens, "
                      "cache_read_input_tokens, cache_creation_input_tokens, response_time_ms")


def _v3_dashboard_indexes(db):
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_time_cover "
                   f"ON request_log (timestamp_ms, id, {_DASHBOARD_COLUMNS})")
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_org_time_cover "
                   f"ON request_log (organization_id, timestamp_ms, {_DASHBOARD_COLUMNS})")
    # Both are prefixes of the covering indexes above.
    db.execute_sql("DROP INDEX IF EXISTS request_log_timestamp_ms")
    db.execute_sql("DROP INDEX IF EXISTS request_log_organization_id_timestamp_ms")


# Body capture (settings body_capture / body_max_bytes) and the record queue's byte budget flag
# what they left out; instance_id and proxy_instance tell the rows of live processes from orphans. FALSE is a literal both SQLite (3.23+) and Postgres accept; Postgres 11+
# adds a column with a constant default without rewriting the table.
_V4_COLUMNS = (("request_body_truncated", "BOOLEAN NOT NULL DEFAULT FALSE"),
               ("response_body_truncated", "BOOLEAN NOT NULL DEFAULT FALSE"),
               ("bodies_omitted", "VARCHAR(16)"),
               ("instance_id", "VARCHAR(32)"))


def _v4_capture_flags_and_instances(db):
    present = {column.name for column in db.get_columns("request_log")}
    for name, definition in _V4_COLUMNS:
        if name not in present:  # step 1 of a fresh database already made them
            db.execute_sql(f'ALTER TABLE request_log ADD COLUMN "{name}" {definition}')
    db.create_tables([ProxyInstance])  # safe=True: IF NOT EXISTS


def _v5_session_index(db):
    # Per-session totals of the conversation list, read a time window at a time from the index alone.
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_session_time ON request_log "
                   "(timestamp_ms, session_id, original_model, routed_model, endpoint, agent_id, completed_at_ms) "
                   "WHERE session_id IS NOT NULL")


def _v6_body_segments(db):
    # Bodies as deduplicated pieces (models.body_store); rows written before keep their texts.
    if "pieces" not in {column.name for column in db.get_columns("request_body")}:
        kind = "BYTEA" if isinstance(db, peewee.PostgresqlDatabase) else "BLOB"
        db.execute_sql(f'ALTER TABLE request_body ADD COLUMN "pieces" {kind}')
    db.create_tables([BodySegment])


# The usage detail pricing needs (see proxy/usage.py). Rows recorded before keep NULL in the split
# columns: the reader prices their cache writes as 5-minute writes and marks them estimated.
_V7_COLUMNS = (("cache_write_5m_tokens", "BIGINT"),
               ("cache_write_1h_tokens", "BIGINT"),
               ("web_search_requests", "INTEGER NOT NULL DEFAULT 0"),
               ("web_fetch_requests", "INTEGER NOT NULL DEFAULT 0"),
               ("inference_geo", "VARCHAR(40)"),
               ("speed", "VARCHAR(40)"),
               ("iterations", "TEXT"),
               ("iteration_count", "SMALLINT NOT NULL DEFAULT 0"))


def _v7_usage_detail(db):
    present = {column.name for column in db.get_columns("request_log")}
    for name, definition in _V7_COLUMNS:
        if name not in present:
            db.execute_sql(f'ALTER TABLE request_log ADD COLUMN "{name}" {definition}')


# The covering indexes of step 3 widened by what pricing groups on, so a cost total still reads
# index entries only; they replace step 3's (same leading columns: same plans for lists and stats).
_COST_COLUMNS = (f"{_DASHBOARD_COLUMNS}, provider, cache_write_1h_tokens, web_search_requests, inference_geo, "
                 "speed, service_tier, iteration_count")


def _v8_cost_indexes(db):
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_time_cost "
                   f"ON request_log (timestamp_ms, id, {_COST_COLUMNS})")
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_org_time_cost "
                   f"ON request_log (organization_id, timestamp_ms, {_COST_COLUMNS})")
    db.execute_sql("DROP INDEX IF EXISTS request_log_time_cover")
    db.execute_sql("DROP INDEX IF EXISTS request_log_org_time_cover")


# The cost breakdowns group on who spent (organization, key, session): with those in the covering
# index, a breakdown over a week reads index entries only instead of looking up every row. Same
# leading columns as step 8's (same plans for lists and stats); the org index keeps organization_id first.
_KEYED_COST_COLUMNS = f"{_COST_COLUMNS}, session_id, api_key_fingerprint"


def _v9_breakdown_indexes(db):
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_time_spender "
                   f"ON request_log (timestamp_ms, id, {_KEYED_COST_COLUMNS}, organization_id)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS request_log_org_time_spender "
                   f"ON request_log (organization_id, timestamp_ms, {_KEYED_COST_COLUMNS})")
    db.execute_sql("DROP INDEX IF EXISTS request_log_time_cost")
    db.execute_sql("DROP INDEX IF EXISTS request_log_org_time_cost")


# Append a step for each schema change; never edit a released one. Step 1 creates the tables from
# the models as they are now, so every later step must be idempotent (IF NOT EXISTS, or check the
# column first): on a fresh database it runs right after step 1, over a schema that may have it.
MIGRATIONS = [
    (1, _v1_records),
    (2, _v2_settings),
    (3, _v3_dashboard_indexes),
    (4, _v4_capture_flags_and_instances),
    (5, _v5_session_index),
    (6, _v6_body_segments),
    (7, _v7_usage_detail),
    (8, _v8_cost_indexes),
    (9, _v9_breakdown_indexes),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version() -> int:
    """The schema version the database is at (0 when it has no schema yet)."""
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
    return row or 0


def _lock(db):
    """Serialise concurrent migrators (two dynos or workers booting at once)."""
    if isinstance(db, peewee.PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(7417001)")


def migrate(up_to: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to `up_to` (the latest by default); safe to repeat. Returns the version."""
    db = database.obj
    with db.atomic():
        _lock(db)
        db.create_tables([SchemaVersion])
        version = current_version()
        for step_version, step in MIGRATIONS:
            if version < step_version <= up_to:
                log.info("migrating schema to version %d", step_version)
                step(db)
                SchemaVersion.create(version=step_version)
                version = step_version
    return version


def mark_interrupted() -> int:
    """Mark rows left in flight by a process that is gone (not those of live processes); returns how many."""
    return interrupt_orphans()
