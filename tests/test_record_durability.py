"""No record lost while the database misbehaves, against the real server (gunicorn, gevent workers):
after each fault every request that got a response has exactly one record with the right outcome,
nothing stays in flight, and /livez and /metrics said what happened while it happened."""
import gc
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.fake_upstream import Reply, message_events
from tests.gunicorn_server import GunicornServer
from tests.postgres import ThrowawayPostgres

HEADERS = {"x-api-key": "sk-ant-durable"}
# Every timeout of the server in these tests is shorter than the outages they make: libpq's
# connect_timeout is 5 s, the writer's SQLite busy timeout 5 s, the pool's wait 10 s.
OUTAGE = 12.0
# The stopped database is down longer than the 60 s after which records used to be given up.
LONG_OUTAGE = 90.0
FIGURES = []  # (scenario, figures) for the report printed at the end


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    for scenario, figures in FIGURES:
        print(f"\n{scenario}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


def ask(url: str, model: str, stream: bool = True, timeout: float = 60) -> int:
    """One request: its status once the whole response was read; -1 if the response was cut after
    it began (the client got a response, not all of it); 0 if none came."""
    try:
        response = requests.post(url + "/v1/messages", headers=HEADERS, timeout=timeout, stream=True,
                                 json={"model": model, "stream": stream, "max_tokens": 5,
                                       "messages": [{"role": "user", "content": "hi"}]})
    except requests.RequestException:
        return 0
    try:
        body = response.content
    except requests.RequestException:
        return -1
    return response.status_code if (not stream or b"message_stop" in body) else -1


def ask_many(url: str, models: list[str], workers: int = 8, pause: float = 0.0, stream: bool = True) -> dict:
    """Send a request per model name from `workers` threads; returns model -> status."""
    statuses, pending, lock = {}, list(models), threading.Lock()

    def run():
        while True:
            with lock:
                if not pending:
                    return
                model = pending.pop(0)
            statuses[model] = ask(url, model, stream)
            time.sleep(pause)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def recording(server: GunicornServer) -> dict:
    return requests.get(server.url + "/livez", timeout=5).json()["recording"]


def metric(server: GunicornServer, name: str, **labels) -> float:
    text = requests.get(server.url + "/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:{{(.*)}})? (\S+)$", line)
        if match and all(f'{key}="{value}"' in (match.group(1) or "") for key, value in labels.items()):
            total += float(match.group(2))
    return total


class Watch:
    """Polls /livez in the background, keeping the worst figures seen."""

    def __init__(self, server: GunicornServer, every: float = 0.2):
        self.server, self.every = server, every
        self.degraded = False
        self.peak_spool_bytes = 0
        self.peak_oldest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            try:
                state = recording(self.server)
            except (requests.RequestException, ValueError):
                continue
            self.degraded |= state["status"] == "degraded"
            self.peak_spool_bytes = max(self.peak_spool_bytes, state["spool_bytes"])
            self.peak_oldest = max(self.peak_oldest, state["oldest_unwritten_seconds"])

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def wait_until(condition, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def settled(server: GunicornServer, prefix: str, count: int, timeout: float = 60) -> tuple[list[dict], float]:
    """Wait until `count` records for models starting with `prefix` are there and none is in flight;
    returns them and how long that took."""
    began = time.monotonic()

    def done():
        rows = server.records("original_model LIKE ?", (prefix + "%",))
        return rows if len(rows) >= count and all(row["outcome"] != "in_flight" for row in rows) else None

    rows = wait_until(done, timeout, every=0.25) or server.records("original_model LIKE ?", (prefix + "%",))
    return rows, round(time.monotonic() - began, 1)


def check_one_record_each(rows: list[dict], statuses: dict) -> None:
    """Exactly one record per request that got a response, each with the outcome its response had."""
    by_model = {}
    for row in rows:
        by_model.setdefault(row["original_model"], []).append(row)
    answered = {model for model, status in statuses.items() if status}
    assert not [row for row in rows if row["outcome"] == "in_flight"], "nothing stays in flight"
    assert sorted(by_model) == sorted(answered), "every answered request has its record"
    assert all(len(found) == 1 for found in by_model.values())
    for model in answered:
        expected = "complete" if statuses[model] == 200 else "interrupted"
        assert by_model[model][0]["outcome"] == expected, (model, by_model[model][0]["outcome"])


def worker_pids(server: GunicornServer) -> list[int]:
    output = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.process.pid)], capture_output=True, text=True)
    return [int(pid) for pid in output.stdout.split()]


def wait_for_workers(server: GunicornServer, count: int, timeout: float = 20) -> list[int]:
    def replaced():
        pids = worker_pids(server)
        return pids if len(pids) == count else None

    return wait_until(replaced, timeout)


# ---------------------------------------------------------------- Postgres

class Cluster(ThrowawayPostgres):
    """A private PostgreSQL that a test may stop and start again on the same port."""

    def start(self) -> str:
        url = super().start()
        self.port = int(url.rsplit(":", 1)[1])
        return url

    def halt(self) -> None:
        self._run([f"{self.folder}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"])

    def resume(self) -> None:
        self._run([f"{self.folder}/pg_ctl", "-D", self.data, "-w", "-l", f"{self.data}/log", "-o",
                   f"-p {self.port} -k {self.data} -h 127.0.0.1 -c fsync=off -c max_connections=200", "start"])


@pytest.fixture
def cluster():
    server = Cluster()
    server.start()
    yield server
    server.stop()


def app_database(server_url: str) -> tuple[str, str]:
    """A database owned by a role of its own that is no superuser (whose rights can be revoked)."""
    role = "app_" + uuid.uuid4().hex[:8]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'CREATE DATABASE "{role}" OWNER "{role}"')
    host = server_url.removeprefix("postgresql://postgres@")
    return f"postgresql://{role}@{host}/{role}", role


def admin(server_url: str, database: str, *statements: str) -> None:
    with psycopg.connect(f"{server_url}/{database}", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def role_connections(server_url: str, role: str) -> int:
    gc.collect()  # the test's own pooled connections (GunicornServer.records) closed
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone()[0]


@pytest.mark.postgres_only
def test_permission_revoked_mid_traffic_loses_nothing(cluster, _upstream_server, tmp_path):
    url, role = app_database(cluster.url)
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": url}, workers=2,
                            log_path=tmp_path / "gunicorn.log").start()
    try:
        _upstream_server.reset()
        watch = Watch(server)
        models = [f"claude-revoke-{n:03d}" for n in range(60)]
        revoked = threading.Event()

        def revoke_for_a_while():
            time.sleep(1.0)
            admin(cluster.url, role, "REVOKE INSERT, UPDATE ON request_log, request_body FROM " + f'"{role}"')
            revoked.set()
            time.sleep(OUTAGE)
            admin(cluster.url, role, "GRANT INSERT, UPDATE ON request_log, request_body TO " + f'"{role}"')

        outage = threading.Thread(target=revoke_for_a_while)
        outage.start()
        statuses = ask_many(server.url, models, workers=4, pause=0.25)
        during = recording(server)
        outage.join()
        rows, drained = settled(server, "claude-revoke-", 60)
        watch.stop()
        assert all(status == 200 for status in statuses.values())
        check_one_record_each(rows, statuses)
        assert watch.degraded and watch.peak_spool_bytes > 0, "/livez said records waited"
        assert during["status"] == "degraded" or watch.peak_oldest > 1
        assert metric(server, "proxy_record_write_failures_total") > 0
        assert metric(server, "proxy_records_dropped_total", part="record") == 0
        assert recording(server) == {"status": "ok", "oldest_unwritten_seconds": 0.0, "spool_bytes": 0, "dropped": 0}
        log = (tmp_path / "gunicorn.log").read_text()
        assert "Traceback" not in log
        assert log.count("the database refuses writes") <= 2, "one line per outage and worker"
        FIGURES.append(("permission revoked", {"requests": 60, "records": len(rows), "drain_s": drained,
                                              "peak_spool_bytes": watch.peak_spool_bytes,
                                              "peak_oldest_s": watch.peak_oldest}))
    finally:
        server.stop()


@pytest.mark.postgres_only
@pytest.mark.timeout(300)
def test_database_stopped_for_90_seconds_with_streams_open_loses_nothing(cluster, _upstream_server, tmp_path):
    url, role = app_database(cluster.url)
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": url}, workers=2,
                            log_path=tmp_path / "gunicorn.log").start()
    try:
        _upstream_server.reset()
        # Six streams that run across the outage's start (their in-flight rows are written first).
        _upstream_server.reply(*[Reply(chunks=message_events("claude-stopped"), content_type="text/event-stream",
                                       delay_between=0.5) for _ in range(6)])
        watch = Watch(server)
        long_models = [f"claude-stopped-long-{n}" for n in range(6)]
        long = {}
        streams = threading.Thread(target=lambda: long.update(ask_many(server.url, long_models, workers=6)))
        streams.start()
        time.sleep(1.5)
        cluster.halt()
        stopped_at = time.monotonic()
        # Spread over the outage: the last ones are sent more than a minute after it began.
        short = ask_many(server.url, [f"claude-stopped-short-{n:02d}" for n in range(30)], workers=4, pause=10.0)
        during = recording(server)
        time.sleep(max(0.0, LONG_OUTAGE - (time.monotonic() - stopped_at)))
        cluster.resume()
        streams.join(60)
        statuses = {**long, **short}
        rows, drained = settled(server, "claude-stopped-", len(statuses))
        watch.stop()
        assert all(status == 200 for status in statuses.values())
        check_one_record_each(rows, statuses)
        assert during["status"] == "degraded" and during["spool_bytes"] > 0
        assert metric(server, "proxy_records_dropped_total", part="record") == 0
        assert wait_until(lambda: recording(server)["status"] == "ok", 10)
        assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
        FIGURES.append(("postgres stopped", {"requests": len(statuses), "records": len(rows), "outage_s": LONG_OUTAGE,
                                            "drain_s": drained, "peak_spool_bytes": watch.peak_spool_bytes}))
    finally:
        server.stop()


@pytest.mark.postgres_only
def test_connection_slots_taken_by_another_client_lose_nothing(cluster, _upstream_server, tmp_path):
    url, role = app_database(cluster.url)
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": url},
                            log_path=tmp_path / "gunicorn.log").start()
    hog = []
    try:
        _upstream_server.reset()
        ask_many(server.url, ["claude-slots-warmup"], workers=1)
        requests.get(server.url + "/api/requests", timeout=5)  # the dashboard's queries share the pool
        time.sleep(1)
        assert role_connections(cluster.url, role) <= 2, "a worker holds at most 2 connections"
        # Another client takes every slot the role has: the proxy's connections are cut and cannot come back.
        admin(cluster.url, "postgres", f'ALTER ROLE "{role}" CONNECTION LIMIT 3')
        admin(cluster.url, "postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        while len(hog) < 3:
            try:
                hog.append(psycopg.connect(url, autocommit=True))
            except psycopg.OperationalError:
                admin(cluster.url, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                              f"WHERE usename = '{role}' AND pid NOT IN "
                                              f"({','.join(str(c.info.backend_pid) for c in hog) or 0})")
        watch = Watch(server)
        statuses = ask_many(server.url, [f"claude-slots-{n:03d}" for n in range(40)], workers=4)
        during = recording(server)
        time.sleep(OUTAGE)
        for conn in hog:
            conn.close()
        hog.clear()
        rows, drained = settled(server, "claude-slots-0", 40)
        watch.stop()
        assert all(status == 200 for status in statuses.values())
        check_one_record_each(rows, statuses)
        assert during["status"] == "degraded" and during["spool_bytes"] > 0
        assert metric(server, "proxy_records_dropped_total", part="record") == 0
        time.sleep(1)
        assert role_connections(cluster.url, role) <= 2
        FIGURES.append(("connection slots taken", {"requests": 40, "records": len(rows), "drain_s": drained,
                                                  "peak_spool_bytes": watch.peak_spool_bytes}))
    finally:
        for conn in hog:
            conn.close()
        server.stop()


# ---------------------------------------------------------------- both databases

@pytest.fixture
def database_for_server(request, tmp_path):
    """An SQLite file, or with TEST_DATABASE=postgres a database of the session's Postgres server."""
    if os.environ.get("TEST_DATABASE") == "postgres":
        return app_database(request.getfixturevalue("postgres_server"))[0]
    return f"sqlite:///{tmp_path}/proxy.db"


def test_a_worker_killed_with_streams_open_has_its_rows_marked_within_seconds(database_for_server, _upstream_server,
                                                                               tmp_path):
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": database_for_server},
                            workers=2, log_path=tmp_path / "gunicorn.log").start()
    try:
        _upstream_server.reset()
        done = ask_many(server.url, [f"claude-killed-done-{n}" for n in range(10)], workers=4)
        _upstream_server.reply(*[Reply(chunks=message_events("claude-killed") * 4, content_type="text/event-stream",
                                       delay_between=0.3) for _ in range(8)])
        cut = {}
        streams = threading.Thread(target=lambda: cut.update(
            ask_many(server.url, [f"claude-killed-cut-{n}" for n in range(8)], workers=8)))
        streams.start()
        time.sleep(2.0)  # every stream's in-flight row is written
        in_flight = server.records("outcome = 'in_flight'")
        assert len(in_flight) == 8
        os.kill(worker_pids(server)[0], signal.SIGKILL)  # one of the two: the other one lives on
        killed_at = time.monotonic()
        # One statement marks all the dead worker's rows: the first seen marked says when.
        assert wait_until(lambda: server.records("outcome = 'interrupted'"), 30, every=0.2)
        marked_after = round(time.monotonic() - killed_at, 1)
        streams.join(60)
        rows, _ = settled(server, "claude-killed-", 18, timeout=30)
        check_one_record_each(rows, {**done, **cut})
        interrupted = [row for row in rows if row["outcome"] == "interrupted"]
        assert interrupted and len(interrupted) == sum(1 for status in cut.values() if status != 200)
        assert marked_after < 30
        assert wait_for_workers(server, 2), "the master replaced it"
        FIGURES.append(("worker SIGKILL", {"streams_cut": len(interrupted), "records": len(rows),
                                          "orphans_marked_s": marked_after}))
    finally:
        server.stop()


def hold_sqlite(path: str) -> sqlite3.Connection:
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    return locker


@pytest.mark.sqlite_only
def test_sqlite_locked_with_streams_open_loses_nothing(tmp_path, _upstream_server):
    path = tmp_path / "proxy.db"
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{path}"},
                            log_path=tmp_path / "gunicorn.log").start()
    try:
        _upstream_server.reset()
        _upstream_server.reply(*[Reply(chunks=message_events("claude-locked"), content_type="text/event-stream",
                                       delay_between=0.5) for _ in range(4)])
        watch = Watch(server)
        long = {}
        streams = threading.Thread(target=lambda: long.update(
            ask_many(server.url, [f"claude-locked-long-{n}" for n in range(4)], workers=4)))
        streams.start()
        time.sleep(1.5)
        locker = hold_sqlite(str(path))
        locked_at = time.monotonic()
        short = ask_many(server.url, [f"claude-locked-short-{n:02d}" for n in range(30)], workers=4, pause=0.1)
        streams.join(60)
        during = {}
        assert wait_until(lambda: during.update(recording(server)) or (
            during["spool_bytes"] > 0 and during["oldest_unwritten_seconds"] > 0), 10)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - locked_at)))
        locker.execute("ROLLBACK")
        locker.close()
        statuses = {**long, **short}
        rows, drained = settled(server, "claude-locked-", len(statuses))
        watch.stop()
        assert all(status == 200 for status in statuses.values())
        check_one_record_each(rows, statuses)
        assert during["status"] == "degraded" and during["oldest_unwritten_seconds"] > 0
        assert metric(server, "proxy_record_spool_bytes") == 0
        assert wait_until(lambda: recording(server)["status"] == "ok", 10)
        FIGURES.append(("sqlite locked", {"requests": len(statuses), "records": len(rows), "drain_s": drained,
                                         "peak_spool_bytes": watch.peak_spool_bytes}))
    finally:
        server.stop()


@pytest.mark.sqlite_only
def test_a_whole_server_killed_with_records_in_the_spool_replays_them_when_restarted(tmp_path, _upstream_server):
    path, spool = tmp_path / "proxy.db", str(tmp_path / "spool")
    env = {"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{path}", "SPOOL_DIR": spool}
    server = GunicornServer(env, log_path=tmp_path / "first.log").start()
    _upstream_server.reset()
    locker = hold_sqlite(str(path))
    statuses = ask_many(server.url, [f"claude-crash-{n:02d}" for n in range(40)], workers=4)
    assert wait_until(lambda: recording(server)["spool_bytes"] > 0 and metric(server, "proxy_record_backlog") == 0,
                      20), "every record waits in the spool"
    spooled = recording(server)["spool_bytes"]
    workers = worker_pids(server)
    server.process.kill()  # the master first: it must not start a worker that replays at once
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    server.process.wait(10)
    locker.execute("ROLLBACK")
    locker.close()
    assert server.records("TRUE") == [], "nothing reached the database before the crash"
    assert sum(os.path.getsize(os.path.join(spool, name)) for name in os.listdir(spool)) >= spooled

    restarted_at = time.monotonic()
    again = GunicornServer(env, log_path=tmp_path / "second.log").start()
    try:
        rows, _ = settled(again, "claude-crash-", 40)
        drained = round(time.monotonic() - restarted_at, 1)
        assert all(status == 200 for status in statuses.values())
        check_one_record_each(rows, statuses)
        assert not [name for name in os.listdir(spool) if name.endswith(".spool")]
        FIGURES.append(("server SIGKILL + restart", {"requests": 40, "records": len(rows), "spool_bytes": spooled,
                                                    "replayed_within_s_of_restart": drained}))
    finally:
        again.stop()


@pytest.mark.sqlite_only
def test_a_full_spool_and_full_memory_drop_records_counted_and_said(tmp_path, _upstream_server):
    path = tmp_path / "proxy.db"
    # A spool too small for any batch: records wait in memory, and past its budget they are dropped.
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{path}",
                             "SPOOL_MAX_BYTES": "1000", "RECORD_QUEUE_BYTES": "60000"},
                            log_path=tmp_path / "gunicorn.log").start()
    try:
        _upstream_server.reset()
        locker = hold_sqlite(str(path))
        statuses = ask_many(server.url, [f"claude-full-{n:03d}" for n in range(60)], workers=4)
        assert wait_until(lambda: recording(server)["dropped"] > 0, 20)
        assert wait_until(lambda: "the spool refused" in (tmp_path / "gunicorn.log").read_text(), 20)
        during = recording(server)
        dropped = metric(server, "proxy_records_dropped_total", part="record")
        locker.execute("ROLLBACK")
        locker.close()
        rows, drained = settled(server, "claude-full-", 60 - during["dropped"])
        assert all(status == 200 for status in statuses.values()), "relaying never suffers"
        assert during["status"] == "degraded" and during["spool_bytes"] == 0
        assert dropped == during["dropped"] == recording(server)["dropped"]
        assert len(rows) + during["dropped"] == 60, "each record written or counted as dropped, none both"
        assert not [row for row in rows if row["outcome"] == "in_flight"]
        log = (tmp_path / "gunicorn.log").read_text()
        assert log.count("memory and spool are both full") == 1, "one line a minute"
        assert log.count("the spool refused") == 1, "one line a minute"
        FIGURES.append(("spool full", {"requests": 60, "records": len(rows), "dropped": during["dropped"],
                                      "drain_s": drained}))
    finally:
        server.stop()
