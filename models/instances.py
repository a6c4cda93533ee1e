"""Which proxy processes are alive, so that only the in-flight rows of dead ones are marked interrupted.

Each process stamps its rows with its instance id and beats (records "seen now") every
HEARTBEAT_INTERVAL seconds. A process silent for STALE_AFTER seconds is dead: any live process,
and `init-db`, marks its rows still in flight `interrupted`. On a multi-dyno deploy one dyno's
boot thus no longer touches another dyno's live streams.
"""
import time

import peewee

from models.db import database
from models.request_log import RequestLog

HEARTBEAT_INTERVAL = 30.0
# Well over the interval: a writer retrying a batch against a struggling database (up to a
# minute) must not look dead and have its live streams marked interrupted.
STALE_AFTER = 300.0


class ProxyInstance(peewee.Model):
    """One proxy process (a gunicorn worker) and when it was last seen alive."""

    id = peewee.CharField(primary_key=True, max_length=32)
    started_at_ms = peewee.BigIntegerField()
    seen_at_ms = peewee.BigIntegerField()

    class Meta:
        database = database
        table_name = "proxy_instance"


def _now_ms() -> int:
    return int(time.time() * 1000)


def beat(instance_id: str, started_at_ms: int) -> None:
    """Record that the process `instance_id` is alive now."""
    now = _now_ms()
    (ProxyInstance.insert(id=instance_id, started_at_ms=started_at_ms, seen_at_ms=now)
     .on_conflict(conflict_target=[ProxyInstance.id], update={ProxyInstance.seen_at_ms: now})
     .execute())


def forget(instance_id: str) -> None:
    """Say the process `instance_id` has ended (what it left in flight is interrupted at the next sweep)."""
    ProxyInstance.delete().where(ProxyInstance.id == instance_id).execute()


def beat_statements(instance_id: str, started_at_ms: int) -> list[tuple[str, list]]:
    """`beat` as SQL with `?` markers, for a writer that runs statements on its own connection."""
    now = _now_ms()
    return [('INSERT INTO "proxy_instance" ("id", "started_at_ms", "seen_at_ms") VALUES (?, ?, ?) '
             'ON CONFLICT ("id") DO UPDATE SET "seen_at_ms" = EXCLUDED."seen_at_ms"',
             [instance_id, started_at_ms, now])]


def forget_statements(instance_id: str) -> list[tuple[str, list]]:
    """`forget` as SQL with `?` markers."""
    return [('DELETE FROM "proxy_instance" WHERE "id" = ?', [instance_id])]


def interrupt_orphans_statements(stale_after: float = STALE_AFTER) -> list[tuple[str, list]]:
    """`interrupt_orphans` as SQL with `?` markers; the first statement's row count is how many were marked."""
    cutoff = _now_ms() - int(stale_after * 1000)
    return [('UPDATE "request_log" SET "outcome" = \'interrupted\' WHERE "outcome" = \'in_flight\' AND '
             '("instance_id" IS NULL OR "instance_id" NOT IN '
             '(SELECT "id" FROM "proxy_instance" WHERE "seen_at_ms" >= ?))', [cutoff]),
            ('DELETE FROM "proxy_instance" WHERE "seen_at_ms" < ?', [cutoff])]


def interrupt_instance_statements(instance_id: str) -> list[tuple[str, list]]:
    """SQL (`?` markers) marking `interrupted` what the dead process `instance_id` left in flight, and
    forgetting it; the first statement's row count is how many were marked."""
    return [('UPDATE "request_log" SET "outcome" = \'interrupted\' '
             'WHERE "outcome" = \'in_flight\' AND "instance_id" = ?', [instance_id]),
            ('DELETE FROM "proxy_instance" WHERE "id" = ?', [instance_id])]


def execute_statements(statements: list[tuple[str, list]]) -> list[int]:
    """Run SQL written with `?` markers in one transaction through peewee; the row count of each."""
    counts = []
    with database.atomic():
        for sql, parameters in statements:
            counts.append(database.execute_sql(sql.replace("?", database.param), parameters).rowcount)
    return counts


def interrupt_orphans(stale_after: float = STALE_AFTER) -> int:
    """Mark `interrupted` the rows in flight whose process is gone (unseen for `stale_after` s, ended,
    or unknown: rows written before instance ids existed); returns how many."""
    cutoff = _now_ms() - int(stale_after * 1000)
    alive = ProxyInstance.select(ProxyInstance.id).where(ProxyInstance.seen_at_ms >= cutoff)
    with database.atomic():
        marked = (RequestLog.update(outcome="interrupted")
                  .where((RequestLog.outcome == "in_flight")
                         & (RequestLog.instance_id.is_null() | RequestLog.instance_id.not_in(alive)))
                  .execute())
        ProxyInstance.delete().where(ProxyInstance.seen_at_ms < cutoff).execute()
    return marked
