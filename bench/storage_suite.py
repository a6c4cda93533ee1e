"""Storage suite (`make bench BENCH_ARGS=storage`): bytes stored per byte relayed, writer and hub
CPU per record, detail reads of a 1 MB body, and the sweep of 100,000 records. With `--captures
PATH` (a file bench.capture_export wrote from a proxy's records) it replays those calls too.

Records go through models.record_statements, the statements the native writers run, on SQLite and
on a throwaway Postgres. "Relayed" counts request and response bodies as relayed; "stored" is what
the database grew by (tables and indexes), all five body fields and the lists included.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import peewee

import models
import models.queries
import models.record_bodies
from bench.captures import Captures, CapturesError, read_captures
from bench.claude_session import Call, session
from bench.report import summary
from bench.workload import event_templates, request_body
from tests.postgres import ThrowawayPostgres, create_database
from tests.records import body_row, log_row

RESULTS = Path(__file__).with_name("results")
TARGET_SESSION, TARGET_CAPTURES, TARGET_READ_P95_MS = 0.05, 0.10, 20.0
VERDICTS = {True: "pass", False: "FAIL", None: "n/a "}  # None: not measured


def _rows(prefix: str, calls, start_ms: int = 1_000_000):
    # The bodies as bytes, as the proxy's recorder hands them over.
    return [(log_row(f"{prefix}{i}", timestamp_ms=start_ms + i),
             body_row(f"{prefix}{i}", request_headers=c.request_headers, request_body=c.request_body,
                      response_headers=c.response_headers, response_body=c.response_body,
                      response_message=c.response_message)) for i, c in enumerate(calls)]


def _write(rows, per_batch: int = 1) -> float:
    """Save `rows` a batch at a time; returns the writer-side CPU seconds spent building statements."""
    cpu = 0.0
    for start in range(0, len(rows), per_batch):
        part = rows[start:start + per_batch]
        statements, read = models.record_statements([r[0] for r in part], [r[1] for r in part]), None
        with models.database.atomic():
            while True:
                began = time.thread_time()  # the statements' building only, not the database's work
                try:
                    sql, parameters = statements.send(read)
                except StopIteration:
                    break
                finally:
                    cpu += time.thread_time() - began
                cursor = models.database.execute_sql(sql, parameters)
                read = cursor.fetchall() if sql.startswith("SELECT") else None
    return cpu


def _size(db) -> int:
    """The database's bytes on disk (SQLite: the file after a checkpoint; Postgres: after VACUUM FULL,
    which drops the row versions the pieces' count updates leave until autovacuum reuses them)."""
    if isinstance(db, peewee.SqliteDatabase):
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(db.database)
    db.execute_sql("VACUUM FULL")
    return db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]


def _fresh(url: str):
    db = models.init_db(url)
    models.migrate()
    return db


def replay_ratio(url: str, calls: list[Call]) -> dict:
    """`calls` stored in their order, one record a batch as a lone user's turns arrive: bytes stored
    per byte relayed, the writer's CPU, and whether every body reads back as relayed."""
    db = _fresh(url)
    before = _size(db)
    rows = _rows("s", calls)
    cpu = _write(rows)
    relayed = sum(len(c.request_body) + len(c.response_body) for c in calls)
    stored = _size(db) - before
    read = (models.record_bodies.record_body(f"s{i}", ("request_body", "response_body")) for i in range(len(calls)))
    exact = all(body is not None and body.raw["request_body"] == c.request_body
                and (body.raw["response_body"] or b"") == c.response_body for body, c in zip(read, calls))
    db.close()
    return {"records": len(calls), "relayed_mb": relayed / 1e6, "stored_mb": stored / 1e6, "ratio": stored / relayed,
            "writer_cpu_ms_per_record": cpu * 1000 / len(rows), "byte_exact": exact}


def session_ratio(url: str) -> dict:
    """The synthetic 120-turn session, (a)."""
    return replay_ratio(url, session(120))


def captures_ratio(url: str, captures: Captures | None) -> dict:
    """The captured sessions replayed, (b); without captures, a plain note that (b) is not measured."""
    if captures is None:
        return {"measured": False,
                "note": "no captures given (--captures PATH): (b), the captured sessions, is not measured"}
    return {"measured": True, **replay_ratio(url, captures.calls),
            "records_without_request_body": captures.without_body, "records_truncated": captures.truncated}


def fleet_ratio(url: str, records: int) -> dict:
    """Records shaped like the fleet bench's streams: its 50 KB request, 30-event streams with stamps."""
    db = _fresh(url)
    before = _size(db)
    body, templates = request_body(True, 50_000).decode(), event_templates(30)
    rows, relayed = [], 0
    for n in range(records):
        sse = "".join(f"{line.decode()}data: {data},\"bench_seq\":{i},\"bench_ns\":{time.monotonic_ns()}}}\n\n"
                      for i, (line, data) in enumerate(templates))
        relayed += len(body) + len(sse)
        rows.append((log_row(f"f{n}"), body_row(f"f{n}", request_body=body, response_body=sse,
                                                response_headers=json.dumps({"request-id": f"req_{n:024d}"}))))
    cpu = _write(rows, per_batch=20)
    stored = _size(db) - before
    db.close()
    return {"records": records, "relayed_mb": relayed / 1e6, "stored_mb": stored / 1e6, "ratio": stored / relayed,
            "writer_cpu_ms_per_record": cpu * 1000 / records}


def detail_reads(url: str, repeat: int = 40) -> dict:
    """GET /api/requests/<id> of the last call of a 200-turn session whose last body is about 1 MB."""
    from app import Config, create_app
    db = _fresh(url)
    calls = session(200, result_bytes=4300)
    _write(_rows("d", calls), per_batch=20)
    app = create_app(Config(database_url=url))
    client, samples, reads, cpu = app.test_client(), [], [], {"stored_read": [], "api_get": []}
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.thread_time()
        body = models.record_bodies.record_body("d199")
        reads.append((time.perf_counter() - began) * 1000)
        cpu["stored_read"].append((time.thread_time() - began_cpu) * 1000)
        assert body.raw["request_body"] == calls[-1].request_body
        began, began_cpu = time.perf_counter(), time.thread_time()
        answer = client.get("/api/requests/d199")
        samples.append((time.perf_counter() - began) * 1000)
        cpu["api_get"].append((time.thread_time() - began_cpu) * 1000)
        assert answer.status_code == 200
    app.extensions["proxy"].recorder.stop()
    db.close()
    # Wall time on a shared machine waits for other processes too: the CPU time shows the read's own work.
    return {"body_mb": len(calls[-1].request_body) / 1e6, "stored_read": summary(reads), "api_get": summary(samples),
            "cpu": {name: summary(values) for name, values in cpu.items()}}


def sweep(url: str, records: int) -> dict:
    """Delete `records` session records (100-turn sessions sharing system and tools) in batches."""
    db = _fresh(url)
    calls = session(100)
    for copy in range(records // len(calls)):
        _write(_rows(f"w{copy}-", calls), per_batch=100)
    began = time.perf_counter()
    deleted = models.queries.delete_all()
    elapsed = time.perf_counter() - began
    left = models.BodySegment.select().count()
    db.close()
    return {"records": deleted, "seconds": elapsed, "pieces_left": left}


def hub_time() -> dict:
    """Hub CPU per record under gevent, statements built on the hub (before) and on the writer's thread."""
    probe = subprocess.run([sys.executable, "-m", "bench.storage_hub_probe"], capture_output=True, text=True,
                           timeout=600, cwd=Path(__file__).resolve().parent.parent)
    if probe.returncode:
        raise RuntimeError(probe.stderr)
    return json.loads(probe.stdout)


def main(quick: bool = False, captures: str | None = None) -> int:
    """Run every measurement on SQLite and Postgres; print and save them; 0 when the targets are met."""
    try:
        replayed = read_captures(captures) if captures else None  # a bad file fails now, not after the runs
    except CapturesError as exc:
        print(f"storage: {exc}", file=sys.stderr)
        return 2
    results, folder = {}, tempfile.mkdtemp(prefix="ccp-storage-")
    postgres = ThrowawayPostgres()
    base = postgres.start()
    try:
        urls = {"sqlite": lambda name: f"sqlite:///{folder}/{name}.db",
                "postgres": lambda name: create_database(base)}
        for kind, url in urls.items():
            results[kind] = {"session_120": session_ratio(url("session")),
                             "captures": captures_ratio(url("captures"), replayed),
                             "fleet": fleet_ratio(url("fleet"), 1_000 if quick else 10_000),
                             "detail_read_ms": detail_reads(url("detail")),
                             "sweep": sweep(url("sweep"), 10_000 if quick else 100_000)}
            print(kind, json.dumps(results[kind], indent=1), flush=True)
    finally:
        postgres.stop()
    results["hub"] = hub_time()
    print("hub", json.dumps(results["hub"], indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "storage.json").write_text(json.dumps(results, indent=1))
    targets = storage_targets(results)
    print("\n".join(f"{VERDICTS[passed]}  {line}" for line, passed in targets))
    return 0 if False not in (passed for _, passed in targets) else 1


def storage_targets(results: dict) -> list[tuple[str, bool | None]]:
    """One line per target and database, with whether it passed (None: (b) was not measured)."""
    lines = []
    for kind in ("sqlite", "postgres"):
        figures, replayed = results[kind], results[kind]["captures"]
        session_120, read_p95 = figures["session_120"], figures["detail_read_ms"]["stored_read"]["p95"]
        lines.append((f"{kind}: (a) 120-turn session stored / relayed {session_120['ratio']:.1%} "
                      f"(target <= {TARGET_SESSION:.0%}), bodies read back byte-exact: {session_120['byte_exact']}",
                      session_120["ratio"] <= TARGET_SESSION and session_120["byte_exact"]))
        if replayed["measured"]:
            lines.append((f"{kind}: (b) captured sessions ({replayed['records']} records) stored / relayed "
                          f"{replayed['ratio']:.1%} (target <= {TARGET_CAPTURES:.0%}), bodies read back "
                          f"byte-exact: {replayed['byte_exact']}",
                          replayed["ratio"] <= TARGET_CAPTURES and replayed["byte_exact"]))
        else:
            lines.append((f"{kind}: (b) {replayed['note']}", None))
        lines.append((f"{kind}: detail read of a 1 MB body p95 {read_p95:.1f} ms "
                      f"(target <= {TARGET_READ_P95_MS:.0f} ms)", read_p95 <= TARGET_READ_P95_MS))
    return lines
