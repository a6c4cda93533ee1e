"""One attempt to write a batch of records, and what to do with those it could not write.

Two kinds of failure: the database's (down, locked, full, permission, serialization, any
unknown driver error: retry the batch later, whole) and a record's own (a value a column or the
driver refuses: write the batch one by one, that record repaired and flagged). Nothing is dropped.
"""
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import peewee

from models import RequestLog

log = logging.getLogger(__name__)

# Errors of one record's content: retrying it as it is cannot help, repairing it can.
_CONTENT_ERRORS = (peewee.IntegrityError, peewee.DataError)
_INT_RANGES = {peewee.BigIntegerField: 2 ** 63 - 1, peewee.IntegerField: 2 ** 31 - 1}


@dataclass
class Delivery:
    """What an attempt left unwritten: all the rest after a database failure (`outage`), or only
    records refused even repaired (retried later, never dropped)."""

    unwritten: list = field(default_factory=list)
    cause: Exception | None = None
    outage: bool = False


def database_failed(exc: Exception) -> bool:
    """Whether `exc` is the database's failure (retry later) rather than a record's content."""
    return isinstance(exc, peewee.PeeweeException) and not isinstance(exc, _CONTENT_ERRORS)


def deliver(save: Callable, records: list, reset: Callable[[], None]) -> Delivery:
    """Write `records` ((log row, body row or None) pairs) in one transaction, else as far as can be."""
    try:
        save(*_rows(records))
        return Delivery()
    except Exception as exc:
        reset()
        if database_failed(exc):
            return Delivery(list(records), exc, True)
        return _one_by_one(save, records, exc, reset)


def _one_by_one(save: Callable, records: list, cause: Exception, reset: Callable[[], None]) -> Delivery:
    # One record the database refuses must not cost the others theirs.
    result = Delivery(cause=cause)
    for index, (log_row, body_row) in enumerate(records):
        try:
            save([log_row], [body_row] if body_row else [])
            continue
        except Exception as exc:
            reset()
            if database_failed(exc):
                return Delivery(list(records[index:]) + result.unwritten, exc, True)
            refused = exc
        try:  # stored all the same: its values made storable, its bodies left out, and flagged
            save([repaired_row(log_row)], [])
            log.warning("%s: the database refused its record (%s); stored it repaired, without bodies",
                        log_row["id"], reason(refused))
        except Exception as exc:
            reset()
            if database_failed(exc):
                return Delivery(list(records[index:]) + result.unwritten, exc, True)
            log.error("%s: the database refused its record even repaired (%s); it will be retried",
                      log_row["id"], reason(exc))
            result.unwritten.append((log_row, body_row))
    log.warning("a batch of %d records failed (%s); wrote them one by one", len(records), reason(cause))
    return result


def _rows(records: list) -> tuple[list[dict], list[dict]]:
    return [log_row for log_row, _ in records], [body_row for _, body_row in records if body_row is not None]


_COLUMN_KINDS = {field.name: type(field) for field in RequestLog._meta.sorted_fields}


def repaired_row(log_row: dict) -> dict:
    """A record the database refused, made plain: every text as ASCII (escapes for the rest), no NUL,
    numbers out of their column's range at its limit, NaN as none; flagged `bodies_omitted: refused`."""
    row = {}
    for key, value in log_row.items():
        if isinstance(value, str):
            value = _ascii(value)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        elif isinstance(value, int) and not isinstance(value, bool):
            limit = _INT_RANGES.get(_COLUMN_KINDS.get(key))
            if limit is not None:
                value = max(-limit - 1, min(limit, value))
        row[key] = value
    row["bodies_omitted"] = "refused"
    return row


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")


def reason(exc: Exception) -> str:
    """The type and first line of an error: a driver's message may quote the refused value at length."""
    first_line = str(exc).split("\n", 1)[0][:300]
    return f"{type(exc).__name__}: {first_line}"
