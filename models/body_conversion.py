"""Body rows written before schema step 6 (texts in their own columns) rewritten as pieces, a small
batch a transaction: resumable, safe while the server writes and while another converter runs
(writes are idempotent per record, see models.body_store.claim_statements)."""
import logging

import peewee

from models.body_pieces import FIELDS
from models.request_log import RequestBody, save_records

log = logging.getLogger(__name__)


def legacy_rows() -> int:
    """How many body rows still hold their texts."""
    return RequestBody.select().where(RequestBody.pieces.is_null()).count()


def convert_batch(batch_size: int = 200, after: str = "") -> tuple[int, str | None]:
    """Convert up to `batch_size` body rows that hold texts, in id order past `after`; returns how many
    were converted and the last id seen (the next batch's `after`), None when none were left."""
    columns = [RequestBody.request, *(getattr(RequestBody, name) for name in FIELDS)]
    rows = list(RequestBody.select(*columns).where(RequestBody.pieces.is_null(), RequestBody.request > after)
                .order_by(RequestBody.request).limit(batch_size).tuples())
    if not rows:
        return 0, None
    bodies = [{"request": row[0], **dict(zip(FIELDS, row[1:]))} for row in rows]
    try:
        save_records([], bodies)
        return len(bodies), rows[-1][0]
    except peewee.IntegrityError:  # a record deleted meanwhile: the others one by one
        converted = 0
        for body in bodies:
            try:
                save_records([], [body])
                converted += 1
            except peewee.IntegrityError:
                log.info("record %s was deleted while its body was converted", body["request"])
        return converted, rows[-1][0]
