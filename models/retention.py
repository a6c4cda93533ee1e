"""Deleting records older than the retention period, a small batch at a time."""
from models.db import database
from models.request_log import RequestBody, RequestLog


def prune_batch(before_ms: int, batch_size: int = 500) -> int:
    """Delete up to `batch_size` of the oldest records logged before `before_ms`; returns how many."""
    ids = [row.id for row in RequestLog.select(RequestLog.id)
           .where(RequestLog.timestamp_ms < before_ms).order_by(RequestLog.timestamp_ms).limit(batch_size)]
    if not ids:
        return 0
    with database.atomic():
        RequestBody.delete().where(RequestBody.request.in_(ids)).execute()
        return RequestLog.delete().where(RequestLog.id.in_(ids)).execute()
