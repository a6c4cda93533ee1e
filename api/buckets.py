"""Time buckets in a caller's time zone: local days (23 to 25 hours across DST) and fixed-length buckets."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.errors import http_error
from api.params import integer, range_ms, to_ms

MAX_DAYS = 366
MAX_BUCKETS = 10_000


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """The local dates touched by [start, end)."""
    first = start.astimezone(tz).date()
    return [first + timedelta(days=n) for n in range(day_count(start, end, tz))]


def day_count(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """How many local dates [start, end) touches, without listing them."""
    if end <= start:
        return 0
    return ((end - timedelta(microseconds=1)).astimezone(tz).date() - start.astimezone(tz).date()).days + 1


def capped_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """local_days, or a 400 when the range touches more than MAX_DAYS days (counted before any is listed)."""
    if day_count(start, end, tz) > MAX_DAYS:
        raise http_error(400, "Range too long", f"at most {MAX_DAYS} days")
    return local_days(start, end, tz)


def day_boundaries_ms(days: list[date], tz: ZoneInfo) -> list[int]:
    """Epoch ms of each local midnight from the first day to the day after the last."""
    edges = days + [days[-1] + timedelta(days=1)] if days else []
    return [to_ms(datetime.combine(day, time(0), tz)) for day in edges]


def fixed_labels(start: datetime, end: datetime, bucket: timedelta, tz: ZoneInfo) -> list[datetime]:
    """The local start time of each bucket of [start, end)."""
    return [(start + bucket * n).astimezone(tz) for n in range(bucket_count(start, end, bucket))]


def bucket_count(start: datetime, end: datetime, bucket: timedelta) -> int:
    """How many buckets of `bucket` cover [start, end) (the last one may be short)."""
    return -(-(end - start) // bucket) if end > start else 0


def capped_labels(start: datetime, end: datetime, bucket: timedelta, tz: ZoneInfo) -> list[datetime]:
    """fixed_labels, or a 400 when the range holds more than MAX_BUCKETS buckets (counted before any is built)."""
    if bucket_count(start, end, bucket) > MAX_BUCKETS:
        raise http_error(400, "Too many buckets", "use a larger bucket or a shorter range")
    return fixed_labels(start, end, bucket, tz)


def fixed_buckets(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[int, int, int, list[datetime]]:
    """The `bucket` parameter (minutes, default 60) over [start, end): start and end ms, bucket ms, local labels."""
    size = timedelta(minutes=integer("bucket", 60, 1, 1440))
    start_ms, end_ms = range_ms(start, end)
    return start_ms, end_ms, int(size.total_seconds() * 1000), capped_labels(start, end, size, tz)
