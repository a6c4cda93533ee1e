"""Generates a large, realistic request history straight into the database, fast (no ORM per row)."""
import random
import time
import uuid

import peewee

import models

MODELS = ["claude-opus-4-1", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-7", "gpt-5-mini"]
ORGS = ["org-alpha", "org-beta", "org-gamma"]
DAY_MS = 86_400_000
# A team's Claude Code sessions: LANES developers, each starting a session every SESSION_MS, so a
# session holds a hundred-odd requests (1,000,000 rows over 90 days), as real ones do.
LANES = 8
SESSION_MS = 2 * 3_600_000
FIVE_HOURS_S, WEEK_S = 5 * 3600, 7 * 86_400


def _rows(count: int, days: int, seed: int):
    """Yield complete RequestLog rows as dicts, spread over the last `days` days."""
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    defaults = {f.column_name: (f.default if not callable(f.default) else None)
                for f in models.RequestLog._meta.sorted_fields}
    for n in range(count):
        model = rng.choice(MODELS)
        started = now - rng.randrange(days * DAY_MS)
        lane = rng.randrange(LANES)
        row = dict(defaults)
        row.update(
            id=uuid.UUID(int=rng.getrandbits(128)).hex, timestamp_ms=started, method="POST",
            endpoint="/v1/messages", query="beta=true", original_model=model, routed_model=model,
            provider="anthropic", user_agent="claude-cli/2.1.0 (external, cli)", content_type="application/json",
            conversation_hash=f"{rng.getrandbits(40):010x}", message_count=rng.randrange(1, 200),
            session_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{lane}/{started // SESSION_MS}")), is_streaming=True,
            api_key_fingerprint=f"fp-{lane:02d}",
            request_bytes=rng.randrange(20_000, 120_000), outcome="complete", status_code=200,
            ttfb_ms=rng.randrange(300, 3000), response_time_ms=rng.randrange(800, 90_000),
            completed_at_ms=started + 5000, stop_reason="end_turn",
            input_tokens=rng.randrange(1, 5000), output_tokens=rng.randrange(1, 4000),
            cache_read_input_tokens=rng.randrange(0, 150_000), cache_creation_input_tokens=rng.randrange(0, 20_000),
            organization_id=ORGS[lane % len(ORGS)], unified_status="allowed",
            unified_5h_utilization=round(rng.random(), 3), unified_7d_utilization=round(rng.random(), 3),
            # Resets as Anthropic sends them (unix seconds): the window attribution reads every report.
            unified_5h_reset=str((started // 1000 // FIVE_HOURS_S + 1) * FIVE_HOURS_S),
            unified_7d_reset=str((started // 1000 // WEEK_S + 1) * WEEK_S))
        yield row


def fill(database, count: int, days: int = 90, seed: int = 7) -> None:
    """Insert `count` generated rows into the (migrated) database behind `database`."""
    columns = [f.column_name for f in models.RequestLog._meta.sorted_fields]
    table = models.RequestLog._meta.table_name
    if isinstance(database, peewee.SqliteDatabase):
        placeholders = ", ".join("?" for _ in columns)
        with database.atomic():
            database.connection().executemany(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})',
                                   ([row[c] for c in columns] for row in _rows(count, days, seed)))
        database.execute_sql("ANALYZE")
        return
    # Postgres: COPY is an order of magnitude faster than INSERT.
    with database.atomic():
        with database.connection().cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
                for row in _rows(count, days, seed):
                    copy.write_row([row[c] for c in columns])
    # What autovacuum would do after a bulk load: planner statistics and the visibility map
    # that index-only scans need.
    database.execute_sql(f'VACUUM ANALYZE "{table}"')
