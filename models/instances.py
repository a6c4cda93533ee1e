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
