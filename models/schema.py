"""Versioned, idempotent schema migrations and start-up repair of unfinished rows."""
import logging

import peewee

from models.db import database
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


# Append a step for each schema change; never edit a released one.
MIGRATIONS = [
    (1, _v1_records),
    (2, _v2_settings),
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


def migrate() -> int:
    """Bring the schema up to SCHEMA_VERSION; safe to run any number of times. Returns the version."""
    db = database.obj
    with db.atomic():
        _lock(db)
        db.create_tables([SchemaVersion])
        version = current_version()
        for step_version, step in MIGRATIONS:
            if step_version > version:
                log.info("migrating schema to version %d", step_version)
                step(db)
                SchemaVersion.create(version=step_version)
                version = step_version
    return version


def mark_interrupted() -> int:
    """Mark rows left in flight by a process that died; returns how many."""
    return (RequestLog.update(outcome="interrupted")
            .where(RequestLog.outcome == "in_flight").execute())
