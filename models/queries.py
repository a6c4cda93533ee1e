"""Reusable queries: one filtered base query that every list and every statistic builds on."""
import time

import peewee

from models.db import database
from models.request_log import RequestLog
from models.retention import prune_batch

# A status class -> its condition; in-flight rows have no status yet.
STATUS_CLASSES = {f"{n}xx": (RequestLog.status_code >= n * 100) & (RequestLog.status_code < n * 100 + 100)
                  for n in range(1, 6)}
STATUS_CLASSES["in_flight"] = RequestLog.outcome == "in_flight"
YIELD_EVERY = 2_000  # rows read between two yields to the worker's other greenlets


def filtered_requests(model: str | None = None, start_ms: int | None = None, end_ms: int | None = None,
                      org: str | None = None, query=None, exact_model: str | None = None,
                      status_class: str | None = None):
    """Records matching the common filters: model substring (requested or routed), [start, end), org,
    exact model (requested or routed) and status class (a STATUS_CLASSES key)."""
    query = query if query is not None else RequestLog.select()
    if model:
        # peewee's contains() escapes wildcards and is ILIKE (LIKE on SQLite: case-insensitive for ASCII).
        query = query.where(RequestLog.original_model.contains(model) | RequestLog.routed_model.contains(model))
    if exact_model:
        query = query.where((RequestLog.original_model == exact_model) | (RequestLog.routed_model == exact_model))
    if status_class:
        query = query.where(STATUS_CLASSES[status_class])
    if start_ms is not None:
        query = query.where(RequestLog.timestamp_ms >= start_ms)
    if end_ms is not None:
        query = query.where(RequestLog.timestamp_ms < end_ms)
    if org:
        query = query.where(RequestLog.organization_id == org)
    return query


def newest_first(query):
    """Order records newest first (ties broken by id, so pages never overlap)."""
    return query.order_by(RequestLog.timestamp_ms.desc(), RequestLog.id.desc())


def page_and_total(base, offset: int, limit: int) -> tuple[list, int]:
    """A newest-first page of `base` and how many rows `base` has in all.

    A page that ends short shows where the rows end, so the count query (a second pass over every
    matching row: a day scanned for a status class that has no match) is skipped.
    """
    rows = list(newest_first(base).offset(offset).limit(limit))
    if len(rows) < limit and (rows or offset == 0):
        return rows, offset + len(rows)
    return rows, base.count()


def find_by_id_or_suffix(request_id: str) -> list[RequestLog]:
    """Records whose id is `request_id` or ends with it (at most two, to tell ambiguity)."""
    exact = RequestLog.get_or_none(RequestLog.id == request_id)
    if exact is not None:
        return [exact]
    return list(RequestLog.select().where(RequestLog.id.endswith(request_id)).limit(2))


def latest_timestamp_ms() -> int | None:
    """The timestamp of the most recent record."""
    return RequestLog.select(peewee.fn.MAX(RequestLog.timestamp_ms)).scalar()


# A loose index scan: one index seek per organization instead of reading every row, as DISTINCT
# does. Recursive CTEs work on SQLite and Postgres alike.
_ORGANIZATIONS = """
WITH RECURSIVE orgs(org) AS (
    SELECT MIN(organization_id) FROM request_log
    UNION ALL
    SELECT (SELECT MIN(organization_id) FROM request_log WHERE organization_id > orgs.org)
    FROM orgs WHERE orgs.org IS NOT NULL
)
SELECT org FROM orgs WHERE org IS NOT NULL
"""


def organizations() -> list[str]:
    """Distinct organization ids seen, sorted."""
    return [row[0] for row in RequestLog._meta.database.execute_sql(_ORGANIZATIONS).fetchall()]


def organization_exists(org: str) -> bool:
    """True when some record carries this organization id."""
    return RequestLog.select().where(RequestLog.organization_id == org).exists()


def delete_all(batch_size: int = 2000) -> int:
    """Delete every record (bodies go with them) in batches; returns how many."""
    total = 0
    while deleted := prune_batch(2 ** 62, batch_size):
        total += deleted
        # One statement for a million rows held a gevent worker (and its streams) for seconds.
        time.sleep(0)
    return total


def bucket_index(boundaries_ms: list[int]):
    """The index of the bucket [b0, b1), [b1, b2), ... a record falls in (any lengths: DST days)."""
    return peewee.Case(None, [(RequestLog.timestamp_ms < edge, index)
                              for index, edge in enumerate(boundaries_ms[1:])], None)


def fixed_bucket_index(start_ms: int, bucket_ms: int):
    """The index of the equal-length bucket from `start_ms` a record falls in (integer arithmetic, portable)."""
    return (RequestLog.timestamp_ms - start_ms) / bucket_ms


def read_rows(query) -> list[tuple]:
    """`query`'s rows as the driver's tuples (a model instance per row was half the read), yielding
    under gevent between slices of a long read so that the worker's streams run."""
    rows = []
    for row in database.execute(query):
        rows.append(row)
        if len(rows) % YIELD_EVERY == 0:
            time.sleep(0)
    return rows
