"""A record's headers and bodies as relayed: from its list of pieces, or from an older row's texts."""
import logging
from dataclasses import dataclass

from models import body_store
from models.body_pieces import FIELDS, BodyCorrupt
from models.request_log import RequestBody

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordBody:
    """What RequestBody's text columns held: redacted headers (JSON) and bodies, None when absent."""

    request_headers: str | None
    request_body: str | None
    response_headers: str | None
    response_body: str | None
    response_message: str | None
    raw: dict  # field -> the exact bytes stored (text encoded as UTF-8), None when absent


def record_body(record_id: str) -> RecordBody | None:
    """The record's headers and bodies; None when it has no body row (or its pieces are damaged)."""
    row = RequestBody.select().where(RequestBody.request == record_id).first()
    if row is None:
        return None
    if row.pieces is None:  # written before schema step 6
        values = {name: getattr(row, name) for name in FIELDS}
    else:
        try:
            values = body_store.load(row.pieces)
        except BodyCorrupt as exc:
            log.error("record %s: its stored body is damaged (%s)", record_id, exc)
            return None
    texts = {name: _text(value) for name, value in values.items()}
    raw = {name: value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
           for name, value in values.items()}
    return RecordBody(**texts, raw=raw)


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return bytes(value).decode("utf-8", "replace")
