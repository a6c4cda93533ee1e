"""Dashboard-query benchmark: every stats endpoint and a summary page over 1,000,000 generated rows,
on SQLite and on a throwaway PostgreSQL."""
import json
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import models
from app import Config, create_app
from bench import dashboard_data
from bench.report import fmt, summary, table
from tests.postgres import ThrowawayPostgres, create_database

RESULTS = Path(__file__).with_name("results")
STATS_TARGET_MS, SUMMARY_TARGET_MS = 150, 50
REPEAT = 15


def _queries(now: datetime) -> dict[str, str]:
    """Label -> API path, each over the last 7 days."""
    start = (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    window = f"start={start}&end={end}"
    day = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "stats": f"/api/stats?start_date={start}&end_date={end}",
        "stats org": f"/api/stats?start_date={start}&end_date={end}&org=org-beta",
        "stats/dashboard": f"/api/stats/dashboard?{window}&tz=Europe/Paris",
        "stats/hourly": f"/api/stats/hourly?{window}&tz=America/New_York",
        "stats/models": f"/api/stats/models?{window}",
        "stats/organizations": "/api/stats/organizations",
        "summary 100": f"/api/requests/summary?{window}&limit=100",
        "summary 100 model": f"/api/requests/summary?{window}&limit=100&model=opus",
        "requests page": "/api/requests?page=3&limit=100",
        # What the dashboard's requests view asks for: one day, filtered (no 4xx rows: a full scan of the day).
        "summary 100 day status": f"/api/requests/summary?start={day}&end={end}&limit=100&status=4xx",
        "summary 100 day org": f"/api/requests/summary?start={day}&end={end}&limit=100&org=org-beta",
        "ratelimits": f"/api/ratelimits?{window}&tz=Europe/Paris",
        "ratelimits/usage": "/api/ratelimits/usage",
        **{f"costs by {by}": f"/api/stats/costs?by={by}&{window}"
           for by in ("model", "organization", "provider", "key", "session", "project")},
        "cache": f"/api/cache?{window}&tz=Europe/Paris",
        "conversations": "/api/conversations?limit=20",
    }


def _target(label: str) -> float:
    return SUMMARY_TARGET_MS if label.startswith("summary") else STATS_TARGET_MS


def time_queries(database_url: str, rows: int) -> dict:
    """Fill a fresh database with `rows` rows and time each query (warm, REPEAT runs)."""
    app = create_app(Config(database_url=database_url, upstream_url="http://127.0.0.1:9"))
    database = models.database.obj
    models.migrate()
    started = time.perf_counter()
    dashboard_data.fill(database, rows)
    fill_s = time.perf_counter() - started
    client = app.test_client()
    results = {}
    for label, path in _queries(datetime.now(timezone.utc)).items():
        samples = []
        for _ in range(REPEAT + 1):  # the first run warms caches and is not counted
            began = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path, response.json)
        results[label] = summary(samples[1:])
    app.extensions["proxy"].close()
    models.database.close()
    return {"rows": rows, "fill_s": fill_s, "queries": results}


def render(runs: dict) -> str:
    """One table: each query's p50/p95 per database, against its target."""
    labels = list(next(iter(runs.values()))["queries"])
    headers = ["query (7 days)", "target ms"] + [f"{name} p50 / p95 ms" for name in runs]
    rows = [[label, str(_target(label))] + [
        f"{fmt(run['queries'][label]['p50'], 1)} / {fmt(run['queries'][label]['p95'], 1)}" for run in runs.values()]
        for label in labels]
    return table(headers, rows)


def main(quick: bool = False) -> int:
    """Run the suite on SQLite (targets) and Postgres (reported); 0 when SQLite meets every target."""
    rows = 100_000 if quick else 1_000_000
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        runs["sqlite"] = time_queries(f"sqlite:///{folder}/dashboard.db", rows)
    postgres = ThrowawayPostgres()
    if postgres.available:
        try:
            runs["postgres"] = time_queries(create_database(postgres.start()), rows)
        finally:
            postgres.stop()
    print(f"\nDashboard queries over {rows:,} rows (fill: "
          + ", ".join(f"{name} {run['fill_s']:.0f} s" for name, run in runs.items()) + ")")
    print(render(runs))
    failed = [label for label, stats in runs["sqlite"]["queries"].items() if stats["p95"] > _target(label)]
    for label in runs["sqlite"]["queries"]:
        print(f"{'FAIL' if label in failed else 'PASS'}  sqlite {label}: p95 <= {_target(label)} ms")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"dashboard-{stamp}.json").write_text(json.dumps(runs, indent=2))
    return 1 if failed else 0
