"""The fleet suite: the proxy suite's streaming scenarios through a real gunicorn with 4 gevent workers
on a throwaway PostgreSQL, 10,000 proxied streams in all, then every record checked in the database.

The streaming scenarios run in rounds, direct and through the fleet in turn, until, with the
warm-up, 10,000 streams have gone through the fleet. Direct runs in every round, as in the proxy
suite: this machine's speed drifts for minutes at a time, and a baseline read once would charge
the drift of the next five minutes to the proxy. Then the database must hold 10,000 rows, all
complete, each with the usage the fake upstream sent, and 10,000 bodies; each record's bodies, read
as the detail API reads them, must be the bytes the client sent and the fake upstream received and
sent (compared by digest, each record with the upstream's call of its request-id).
"""
import collections
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import psycopg

import models
from bench import proxy_suite
from bench.procs import ROOT, FakeUpstream, ProxyServer, children, cpu_seconds, raise_priority
from bench.proxy_figures import MODES, compare, evaluate, harness_notes, render, summarise
from bench.proxy_suite import RESULTS, Bench, Scenario
from bench.rounds import pooled
from bench.workload import USAGE, body_digest
from models.record_bodies import record_body
from tests.postgres import ThrowawayPostgres, create_database

# The fleet; BENCH_FLEET_WORKERS runs the same suite with another count, for comparison.
WORKERS = int(os.environ.get("BENCH_FLEET_WORKERS", "4"))
TOTAL = 10_000
QUICK_TOTAL = 300
RECORDS_TIMEOUT = 120.0     # seconds to wait for four recorders to write a scenario's records
# A team's database has its own server (Heroku Postgres, a managed instance). Here it shares the
# two cores with everything else, so it runs at the normal priority, below the suite's: its CPU
# then delays record writes, which the suite checks in the end, instead of every stream.
DATABASE_NICENESS = 0


class FleetServer(ProxyServer):
    """The real server as the Procfile starts it, with `workers` gevent workers on Postgres."""

    def __init__(self, upstream_url: str, database_url: str, log_path: Path, workers: int = WORKERS):
        super().__init__(upstream_url, database_path=None, log_path=log_path)
        self.env.update(DATABASE_URL=database_url, WEB_CONCURRENCY=str(workers))
        self.database_url = database_url
        self.workers = workers
        self.worker_pids: list[int] = []

    def _find_worker(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.worker_pids = children(self.process.pid)
            if len(self.worker_pids) == self.workers:
                return self.worker_pids[0]  # the load client samples this one's RSS and CPU peak
            time.sleep(0.1)
        raise RuntimeError(f"expected {self.workers} gunicorn workers, found {children(self.process.pid)}")


def record_counts(database_url: str) -> dict[str, int]:
    """Rows of request_log per outcome."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return dict(conn.execute("SELECT outcome, COUNT(*) FROM request_log GROUP BY outcome").fetchall())


class FleetBench(Bench):
    """The proxy suite's bench, reading CPU from every worker and records from Postgres, and keeping
    the digests of the bodies of every call through the fleet."""

    def __init__(self, upstream: FakeUpstream, proxy: FleetServer, workdir: Path):
        super().__init__(upstream, proxy, workdir)
        self.upstream_calls: dict[str, list[str]] = {}  # request-id -> [received, sent] body digests
        self.client_bodies = collections.Counter()      # request body digest -> requests answered

    def load(self, scenario: Scenario, mode: str, measured: bool = True) -> dict:
        """The proxy suite's load, noting the bodies of the calls that went through the fleet."""
        raw = super().load(scenario, mode, measured)
        calls = self.upstream.digests()  # taken after every run, so a direct run's calls are dropped
        if mode == "proxy":
            self.upstream_calls.update(calls)
            self.client_bodies[raw["request_digest"]] += sum(r["error"] is None for r in raw["requests"])
        return raw

    def worker_cpu(self) -> float:
        """CPU seconds all workers have used so far."""
        return sum(cpu_seconds(pid) for pid in self.proxy.worker_pids)

    def settled_records(self) -> dict[str, int]:
        """Rows per outcome once every request proxied so far is recorded (or the wait timed out)."""
        deadline = time.monotonic() + RECORDS_TIMEOUT
        while True:
            counts = record_counts(self.proxy.database_url)
            if (counts.get("complete", 0) >= self.proxied and not counts.get("in_flight")) \
                    or time.monotonic() > deadline:
                return counts
            time.sleep(0.2)


def plan(total: int, quick: bool) -> tuple[Scenario, list[Scenario], int]:
    """The proxy suite's streaming scenarios, how many rounds of them, and a warm-up of streams that
    brings the proxied total to exactly `total`."""
    scenarios = [s for s in (proxy_suite.QUICK_SCENARIOS if quick else proxy_suite.SCENARIOS)
                 if s.streaming and s.in_fleet]
    per_round = sum(s.count for s in scenarios)
    rounds = (total - 20) // per_round  # keep at least 20 streams for the warm-up
    [warmup] = [s for s in proxy_suite.WARMUP if s.streaming]
    return dataclasses.replace(warmup, count=total - rounds * per_round), scenarios, rounds


def merged(raws: list[dict]) -> dict:
    """One scenario's raw figures over several rounds, as if it had run once: samples joined, costs added."""
    # Without the watched worker's RSS and CPU samples: one worker's would pass for all four's.
    return {**pooled(raws), "rss_samples": []}


def expected_output_tokens(scenarios: list[Scenario]) -> collections.Counter:
    """Rows expected per output_tokens value: the fake upstream reports 27 output tokens per event."""
    expected = collections.Counter()
    for scenario in scenarios:
        expected[27 * scenario.events] += scenario.count
    return expected


def verify_records(database_url: str, proxied: list[Scenario]) -> dict:
    """What the database holds against what was sent: rows, outcomes, usage, bodies."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows, complete, usage_right = conn.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome = 'complete' AND status_code = 200"
            " AND stop_reason = 'end_turn'), COUNT(*) FILTER (WHERE input_tokens = %s"
            " AND cache_creation_input_tokens = %s AND cache_read_input_tokens = %s) FROM request_log",
            (USAGE["input_tokens"], USAGE["cache_creation_input_tokens"], USAGE["cache_read_input_tokens"]),
        ).fetchone()
        by_output = dict(conn.execute("SELECT output_tokens, COUNT(*) FROM request_log GROUP BY output_tokens"))
        bodies, cut = conn.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE l.response_body_truncated OR l.request_body_truncated"
            " OR l.bodies_omitted IS NOT NULL) FROM request_body b JOIN request_log l ON l.id = b.request_id"
        ).fetchone()
    expected = expected_output_tokens(proxied)
    output_right = sum(min(by_output.get(tokens, 0), count) for tokens, count in expected.items())
    return {"expected": sum(expected.values()), "rows": rows, "complete": complete,
            "input_and_cache_usage_right": usage_right, "output_tokens_right": output_right,
            "output_tokens_seen": by_output, "bodies": bodies, "bodies_cut_or_omitted": cut}


def verify_bodies(database_url: str, upstream_calls: dict[str, list[str]],
                  client_bodies: collections.Counter) -> dict:
    """Every record's bodies, read as GET /api/requests/<id> reads them, against what the client sent
    and what the fake upstream received and sent under the record's request-id."""
    began = time.monotonic()
    models.init_db(database_url)
    try:
        rows = list(models.RequestLog.select(models.RequestLog.id, models.RequestLog.upstream_request_id).tuples())
        recorded, as_received, as_sent = collections.Counter(), 0, 0
        for record_id, request_id in rows:
            body = record_body(record_id, ("request_body", "response_body"))
            if body is None:
                continue  # no body row, or its pieces are damaged: it matches nothing
            request = body_digest(body.raw["request_body"] or b"").hexdigest()
            response = body_digest(body.raw["response_body"] or b"").hexdigest()
            received, sent = upstream_calls.get(request_id, (None, None))
            recorded[request] += 1
            as_received += request == received
            as_sent += response == sent
    finally:
        models.database.close()
    return {"upstream_calls": len(upstream_calls),
            "request_body_as_client_sent": sum((recorded & client_bodies).values()),
            "request_body_as_upstream_received": as_received, "response_body_as_upstream_sent": as_sent,
            "bodies_compared_in_s": round(time.monotonic() - began, 1)}


def database_targets(check: dict) -> list[dict]:
    """One target per fact the database must show: no record lost, none wrong."""
    expected = check["expected"]
    facts = [("rows in request_log", check["rows"]), ("complete with status 200 and end_turn", check["complete"]),
             ("input and cache usage as sent", check["input_and_cache_usage_right"]),
             ("output tokens as sent", check["output_tokens_right"]), ("bodies stored whole", check["bodies"]),
             ("request body as the client sent it", check["request_body_as_client_sent"]),
             ("request body as the upstream received it", check["request_body_as_upstream_received"]),
             ("response body as the upstream sent it", check["response_body_as_upstream_sent"])]
    return [{"target": f"records: {name} (of {expected})", "value": expected - value, "limit": 0,
             "unit": "missing", "pass": value == expected and (name != "bodies stored whole"
                                                              or check["bodies_cut_or_omitted"] == 0)}
            for name, value in facts]


def fleet_targets(runs: list[dict], records: dict, proxied: int) -> list[dict]:
    """The proxy suite's streaming targets; the RSS one needs one worker's streams alone, so it is left out."""
    return [t for t in evaluate(runs, records, proxied) if not t["target"].startswith("RSS")]


def run_all(bench: FleetBench, warmup: Scenario, scenarios: list[Scenario], rounds: int) -> list[dict]:
    """Warm up, then each scenario direct and through the fleet in turn, `rounds` times; the summarised runs."""
    for mode in MODES:
        bench.load(warmup, mode, measured=False)
    raws = {scenario.name: {"direct": [], "proxy": []} for scenario in scenarios}
    for round_number in range(rounds):
        for scenario in scenarios:
            for mode in MODES:
                print(f"round {round_number + 1}/{rounds}: {scenario.name} ({mode})...", file=sys.stderr, flush=True)
                raws[scenario.name][mode].append(bench.load(scenario, mode))
    runs = []
    for scenario in scenarios:
        run = {"scenario": scenario.name, "scenario_def": asdict(scenario), "round_count": rounds}
        for mode in MODES:
            # No RSS per stream: the load client counts the open streams of all four workers.
            run[mode] = summarise(scenario, mode, merged(raws[scenario.name][mode]), None)
        run["compare"] = compare(run["direct"], run["proxy"])
        runs.append(run)
    return runs


def set_server_niceness(postgres: ThrowawayPostgres, niceness: int) -> int | None:
    """Give the running cluster's server process this niceness (its backends, forked later, inherit it)."""
    pid = int(Path(postgres.data, "postmaster.pid").read_text().split()[0])
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except PermissionError:
        pass  # a server of another user, not root: it keeps the priority it has
    return os.getpriority(os.PRIO_PROCESS, pid)


@dataclasses.dataclass(frozen=True)
class FleetRun:
    """What one run of the fleet produced: the summarised runs, the records, the database's check."""

    warmup: Scenario
    rounds: int
    runs: list[dict]
    records: dict[str, int]
    proxied: int
    check: dict
    database_niceness: int | None


def run_fleet(quick: bool, log_path: Path) -> FleetRun:
    """Start PostgreSQL, the fake upstream and the fleet; run the scenarios; check what was recorded."""
    warmup, scenarios, rounds = plan(QUICK_TOTAL if quick else TOTAL, quick)
    postgres = ThrowawayPostgres()
    database_url = create_database(postgres.start())
    database_niceness = set_server_niceness(postgres, DATABASE_NICENESS)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp, FakeUpstream(digests=True) as upstream, \
                FleetServer(upstream.url, database_url, log_path) as fleet:
            bench = FleetBench(upstream, fleet, Path(tmp))
            runs = run_all(bench, warmup, scenarios, rounds)
            records, proxied = bench.settled_records(), bench.proxied
        check = {**verify_records(database_url, [warmup] + scenarios * rounds),
                 **verify_bodies(database_url, bench.upstream_calls, bench.client_bodies)}
    finally:
        postgres.stop()
    return FleetRun(warmup, rounds, runs, records, proxied, check, database_niceness)


def main(quick: bool = False) -> int:
    """Run the suite, print the report, write the JSON; 0 when every target passed."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"fleet-{stamp}-gunicorn.log"
    load_before = os.getloadavg()
    if not ThrowawayPostgres().available:
        print("the fleet suite needs PostgreSQL server binaries (initdb, pg_ctl)", file=sys.stderr)
        return 1
    niceness = raise_priority()  # the proxy suite's setting, for the client, upstream and workers
    fleet = run_fleet(quick, log_path)
    load_after = os.getloadavg()
    log_lines = proxy_suite._log_problems(log_path)
    targets = fleet_targets(fleet.runs, fleet.records, fleet.proxied) + database_targets(fleet.check)
    notes = harness_notes(fleet.runs)
    print(f"{WORKERS} gevent workers on PostgreSQL; {fleet.proxied} requests proxied: {fleet.warmup.count} warm-up "
          f"streams, then {fleet.rounds} rounds of the proxy suite's streaming scenarios (each row below joins its "
          f"rounds' samples). Worker CPU is the sum over all workers, as a share of one core; PostgreSQL's CPU counts "
          f"under others; suite processes at nice {niceness}, PostgreSQL at nice {fleet.database_niceness}. "
          f"Load average before {load_before[0]:.2f}, after "
          f"{load_after[0]:.2f} ({len(os.sched_getaffinity(0))} cores).\n")
    print(render(fleet.runs, targets, notes, fleet.records, log_lines))
    print(f"\nDatabase check: {json.dumps({k: v for k, v in fleet.check.items() if k != 'output_tokens_seen'})}")
    out = RESULTS / f"fleet-{stamp}.json"
    out.write_text(json.dumps({
        "suite": "fleet", "started": stamp, "quick": quick, "workers": WORKERS, "rounds": fleet.rounds,
        "niceness": niceness, "database_niceness": fleet.database_niceness,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": len(os.sched_getaffinity(0)), "loadavg_before": load_before,
                    "loadavg_after": load_after},
        "runs": fleet.runs, "records": fleet.records, "proxied": fleet.proxied, "database_check": fleet.check,
        "targets": targets,
        "harness_notes": notes, "gunicorn_log_problems": log_lines[:50],
    }, indent=2, default=str))
    print(f"\nresults: {out.relative_to(ROOT)}  gunicorn log: {log_path.relative_to(ROOT)}")
    return 0 if all(t["pass"] for t in targets) else 1
