"""Query-string parsing for the API: typed values or a 400 saying what is wrong."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import request

from api.errors import http_error
from models import queries


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2999, 12, 31, tzinfo=timezone.utc)


def integer(name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within [low, high]."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise http_error(400, f"Invalid {name}", f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise http_error(400, f"Invalid {name}", f"{name} must be between {low} and {high}, got {value}")
    return value


def text(name: str, default: str | None = None, max_length: int = 200) -> str | None:
    """A string parameter; `all` and empty mean no filter (None)."""
    raw = request.args.get(name, default)
    if raw is None or raw == "" or raw.lower() == "all":
        return None
    if len(raw) > max_length:
        raise http_error(400, f"Invalid {name}", f"{name} is longer than {max_length} characters")
    if "\x00" in raw:  # PostgreSQL refuses NUL in text: a 500 otherwise
        raise http_error(400, f"Invalid {name}", f"{name} may not contain a NUL character")
    return raw


def choice(name: str, choices: tuple[str, ...]) -> str | None:
    """A parameter that must be one of `choices` (None when absent or empty)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw not in choices:
        raise http_error(400, f"Invalid {name}", f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def organization() -> str | None:
    """The `org` parameter: an organization id some record carries (400 otherwise), or None."""
    org = text("org")
    if org and not queries.organization_exists(org):
        raise http_error(400, "Unknown org", f"no request was recorded for organization {org!r}")
    return org


def time_zone() -> ZoneInfo:
    """The `tz` parameter as a zone (IANA name, default UTC)."""
    name = request.args.get("tz") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise http_error(400, "Invalid tz",
                         f"unknown time zone {name!r}; use an IANA name like Europe/Paris") from None


def instant(name: str, tz: ZoneInfo, required: bool = False, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 date-time (offset-less ones are in `tz`) or date (local midnight; with
    `end_of_day`, the next midnight so the day is included)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        if required:
            raise http_error(400, f"Missing {name}", f"{name} is required (ISO 8601 date-time)")
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end_of_day:
                day = date.fromordinal(day.toordinal() + 1)
            value = datetime.combine(day, time(0), tz)
        else:
            # A "+" in a query string arrives as a space when the caller did not encode it.
            value = datetime.fromisoformat(raw.replace(" ", "+") if raw.count(" ") == 1 else raw)
            value = value if value.tzinfo else value.replace(tzinfo=tz)
        # In UTC: arithmetic on datetimes sharing a ZoneInfo is wall-clock time and ignores DST.
        value = value.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise http_error(400, f"Invalid {name}", f"{name} must be an ISO 8601 date-time, got {raw!r}") from None
    if not EARLIEST <= value <= LATEST:
        raise http_error(400, f"Invalid {name}", f"{name} must lie between 1970 and 2999, got {raw!r}")
    return value


def range_or_recent(tz: ZoneInfo, days: int = 7) -> tuple[datetime, datetime]:
    """The `start` and `end` parameters, defaulting to now and `days` before `end`."""
    end = instant("end", tz) or datetime.now(timezone.utc)
    start = instant("start", tz) or (end - timedelta(days=days))
    return start, end


def range_ms(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    """A [start, end) range in epoch milliseconds; 400 when end comes before start."""
    if start and end and end < start:
        raise http_error(400, "Invalid range", "end must not be before start")
    return (to_ms(start) if start else None, to_ms(end) if end else None)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as an ISO 8601 UTC string with a Z."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
