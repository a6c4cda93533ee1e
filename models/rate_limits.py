"""Unified rate-limit windows per organization: the newest report, and the last report of each time bucket."""
from models.queries import newest_first
from models.request_log import RequestLog, database

UNIFIED = (RequestLog.unified_5h_utilization.is_null(False) | RequestLog.unified_7d_utilization.is_null(False))

# One index seek per bucket on (organization_id, timestamp_ms) instead of reading every row of the
# range: a week of a busy organization is some 80,000 rows, a week of hourly buckets 168 seeks.
# The CASTs keep Postgres from typing epoch milliseconds as 32-bit integers.
_LAST_PER_BUCKET = """
WITH RECURSIVE buckets(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM buckets WHERE n + 1 < {p})
SELECT last.n, r.unified_5h_utilization, r.unified_7d_utilization
FROM (SELECT buckets.n, (
        SELECT id FROM request_log
        WHERE organization_id = {p}
          AND timestamp_ms >= CAST({p} AS BIGINT) + buckets.n * CAST({p} AS BIGINT)
          AND timestamp_ms < CAST({p} AS BIGINT) + (buckets.n + 1) * CAST({p} AS BIGINT)
          AND timestamp_ms < CAST({p} AS BIGINT)
          AND (unified_5h_utilization IS NOT NULL OR unified_7d_utilization IS NOT NULL)
        ORDER BY timestamp_ms DESC LIMIT 1) AS last_id
      FROM buckets) AS last
JOIN request_log r ON r.id = last.last_id
ORDER BY last.n
"""


def latest_rate_limits(orgs: list[str]) -> list[RequestLog]:
    """Per organization, its newest record that carried unified rate-limit headers."""
    latest = []
    for org in orgs:
        row = newest_first(RequestLog.select().where(RequestLog.organization_id == org, UNIFIED)).first()
        if row is not None:
            latest.append(row)
    return latest


def rate_limits_by_bucket(orgs: list[str], start_ms: int, end_ms: int, bucket_ms: int, count: int) -> list[dict]:
    """The last unified 5-hour and 7-day utilisation each organization reported in each of `count`
    buckets of `bucket_ms` from `start_ms` (buckets without a report are left out)."""
    sql = _LAST_PER_BUCKET.format(p=database.param)
    points = []
    for org in orgs:
        cursor = database.execute_sql(sql, (count, org, start_ms, bucket_ms, start_ms, bucket_ms, end_ms))
        points += [{"bucket": n, "org": org, "five_hour": five, "seven_day": seven} for n, five, seven in cursor]
    return sorted(points, key=lambda point: point["bucket"])
