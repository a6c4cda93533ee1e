"""Deleting records, or only their bodies, older than a retention period, a small batch at a time.

A body's pieces go with the last record that uses them (models.body_store.release), in the same
transaction that deletes the records."""
from models import body_store
from models.db import database
from models.request_log import RequestBody, RequestLog


def _delete_bodies(ids: list[str]) -> list:
    """Delete the body rows of `ids`; the piece lists of the rows this transaction deleted."""
    # RETURNING: of two sweeps deleting the same rows at once, only the one that deleted a row
    # subtracts its counts.
    query = RequestBody.delete().where(RequestBody.request.in_(ids)).returning(RequestBody.pieces)
    return [row.pieces for row in query.execute()]


def prune_batch(before_ms: int, batch_size: int = 500) -> int:
    """Delete up to `batch_size` of the oldest records logged before `before_ms`; returns how many."""
    ids = [row.id for row in RequestLog.select(RequestLog.id)
           .where(RequestLog.timestamp_ms < before_ms).order_by(RequestLog.timestamp_ms).limit(batch_size)]
    if not ids:
        return 0
    with database.atomic():
        body_store.release(_delete_bodies(ids))
        return RequestLog.delete().where(RequestLog.id.in_(ids)).execute()


def prune_bodies_batch(before_ms: int, batch_size: int = 500, after_ms: int = -1) -> tuple[int, int]:
    """Delete the headers and bodies of up to `batch_size` of the oldest records logged from `after_ms`
    to before `before_ms`, keeping their typed rows (flagged `bodies_omitted: retention`); returns
    how many, and the newest timestamp seen (the next batch's `after_ms`)."""
    rows = list(RequestBody.select(RequestBody.request, RequestLog.timestamp_ms).join(RequestLog)
                .where(RequestLog.timestamp_ms < before_ms, RequestLog.timestamp_ms >= after_ms)
                .order_by(RequestLog.timestamp_ms).limit(batch_size).tuples())
    if not rows:
        return 0, after_ms
    ids = [request_id for request_id, _ in rows]
    with database.atomic():
        pieces = _delete_bodies(ids)
        body_store.release(pieces)
        (RequestLog.update(bodies_omitted="retention")
         .where(RequestLog.id.in_(ids), RequestLog.bodies_omitted.is_null()).execute())
    return len(pieces), rows[-1][1]
