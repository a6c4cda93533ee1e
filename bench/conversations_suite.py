"""Conversation-list benchmark: 2,000 generated sessions (500 MB of transcripts) and recorded sessions,
served by the real gunicorn gevent worker; cold (first call) and warm timings, and how long the
worker's other requests wait while a cold list parses."""
import http.client
import json
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import models
from bench import transcript_tree
from bench.procs import ProxyServer, rss_kb, wait_for_quiet
from bench.report import fmt, summary, table

RESULTS = Path(__file__).with_name("results")
WARM_TARGET_MS, COLD_TARGET_MS = 300, 10_000
REPEAT = 30
MIB = 1024 * 1024


class Client:
    """One keep-alive HTTP connection; `get` returns (ms, status, JSON body)."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    def get(self, path: str) -> tuple[float, int, dict]:
        began = time.perf_counter()
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        return (time.perf_counter() - began) * 1000, response.status, json.loads(body)


class HealthProbe(threading.Thread):
    """Asks /health over and over while something else runs: how long the worker left others waiting."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.client, self.samples, self.running = Client(url), [], True

    def run(self):
        while self.running:
            self.samples.append(self.client.get("/health")[0])
            time.sleep(0.005)

    def stop(self) -> dict:
        self.running = False
        self.join(10)
        return summary(self.samples)


def _timed(client: Client, path: str, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        elapsed, status, body = client.get(path)
        assert status == 200, (path, body)
        samples.append(elapsed)
    return summary(samples)


def _biggest_session(root: Path) -> tuple[str, str]:
    files = [path for path in root.glob("*/*.jsonl")]
    biggest = max(files, key=lambda path: path.stat().st_size)
    return biggest.parent.name, biggest.stem


def _append_turns(root: Path, count: int) -> int:
    """Append one finished turn to `count` sessions, as Claude Code does while they run; returns bytes."""
    added = 0
    for path in sorted(root.glob("*/*.jsonl"))[:count]:
        line = json.dumps({"type": "assistant", "uuid": f"append-{path.stem}", "timestamp": "2026-11-18T12:00:00Z",
                           "message": {"id": f"msg_append_{path.stem}", "model": "claude-opus-4-5",
                                       "role": "assistant", "content": [{"type": "text", "text": "more"}]}}) + "\n"
        with open(path, "a") as file:
            file.write(line)
        added += len(line)
    return added


def run(folder: Path, sessions: int, total_bytes: int, recorded: int) -> dict:
    """Generate the tree and records, start gunicorn, and time every call."""
    tree, database = folder / "projects", folder / "proxy.db"
    began = time.perf_counter()
    generated = transcript_tree.write_tree(tree, sessions=sessions, total_bytes=total_bytes)
    models.init_db(f"sqlite:///{database}")
    models.migrate()
    generated["records"] = transcript_tree.record_sessions(sessions=recorded)
    generated["recorded_sessions"] = recorded
    models.database.close()
    generated["generate_s"] = time.perf_counter() - began
    results = {"tree": generated, "calls": {}, "cold": {}}
    project, session_id = _biggest_session(tree)
    page = "/api/conversations?limit=50"
    for run_name, evict in (("files on disk", True), ("files in page cache", False)):
        if evict:
            transcript_tree.evict_from_page_cache(tree)
        server = ProxyServer("http://127.0.0.1:9", database, folder / f"gunicorn-{len(results['cold'])}.log")
        server.env["CLAUDE_PROJECTS_DIR"] = str(tree)
        with server:
            wait_for_quiet(timeout=20)
            client, probe = Client(server.url), HealthProbe(server.url)
            probe.start()
            elapsed, status, body = client.get(page)
            results["cold"][run_name] = {"ms": elapsed, "health_while_parsing": probe.stop(),
                                         "rss_mb": rss_kb(server.worker_pid) / 1024, "total": body["total"]}
            assert status == 200 and body["total"] >= sessions, body
            if not evict:
                continue
            calls = results["calls"]
            calls["list, page 1 of 50"] = _timed(client, page, REPEAT)
            calls["list, page 20 of 50"] = _timed(client, "/api/conversations?limit=50&page=20", REPEAT)
            calls["list, model=haiku"] = _timed(client, "/api/conversations?model=haiku", REPEAT)
            calls["one project"] = _timed(client, "/api/conversations/project?project=-home-dev-work-project-07",
                                          REPEAT)
            added = _append_turns(tree, 20)
            calls[f"list after 20 files grew ({added // 1024} KB)"] = _timed(client, page, 1)
            detail = f"/api/conversations/{session_id}?project={project}"
            size_mb = (tree / project / f"{session_id}.jsonl").stat().st_size / MIB
            calls[f"biggest session ({size_mb:.0f} MB), first"] = _timed(client, detail, 1)
            calls[f"biggest session ({size_mb:.0f} MB), cached"] = _timed(client, detail, 10)
            results["rss_mb_after_warm"] = rss_kb(server.worker_pid) / 1024
    return results


def render(results: dict) -> str:
    """The cold table and the warm table."""
    cold = [[f"cold list ({name})", str(COLD_TARGET_MS), fmt(run["ms"], 0),
             f"{fmt(run['health_while_parsing']['p50'], 1)} / {fmt(run['health_while_parsing']['max'], 1)}",
             fmt(run["rss_mb"], 0)] for name, run in results["cold"].items()]
    warm = [[label, str(WARM_TARGET_MS) if label.startswith("list, ") else "-",
             f"{fmt(stats['p50'], 1)} / {fmt(stats['p95'], 1)} / {fmt(stats['max'], 1)}", str(stats["n"])]
            for label, stats in results["calls"].items()]
    return (table(["call", "target ms", "ms", "/health meanwhile p50 / max ms", "worker RSS MB"], cold) + "\n\n"
            + table(["warm call", "target ms", "p50 / p95 / max ms", "n"], warm))


def main(quick: bool = False) -> int:
    """Run the suite; 0 when the cold list takes <= 10 s and every warm list's p95 <= 300 ms."""
    sessions, total, recorded = (200, 50 * MIB, 200) if quick else (2000, 500 * MIB, 2000)
    with tempfile.TemporaryDirectory(prefix="conversations-bench-") as folder:
        results = run(Path(folder), sessions, total, recorded)
    tree = results["tree"]
    print(f"\nConversations over {tree['sessions']:,} sessions, {tree['bytes'] / MIB:,.0f} MB of transcripts, "
          f"{tree['records']:,} recorded calls of {tree['recorded_sessions']:,} more sessions without a transcript "
          f"(generated in {tree['generate_s']:.0f} s; worker RSS after the warm calls "
          f"{results['rss_mb_after_warm']:.0f} MB)")
    print(render(results))
    checks = [(f"cold list ({name}) <= {COLD_TARGET_MS} ms", run["ms"] <= COLD_TARGET_MS)
              for name, run in results["cold"].items()]
    checks += [(f"{label}: p95 <= {WARM_TARGET_MS} ms", stats["p95"] <= WARM_TARGET_MS)
               for label, stats in results["calls"].items() if label.startswith("list, ")]
    for label, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"conversations-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    return 0 if all(passed for _, passed in checks) else 1
