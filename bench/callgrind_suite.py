"""The callgrind suite: instructions per relayed event and per request, split by stage, for the proxy
and for the floor relay. Instruction counts barely move with the machine's load, unlike latency.

The server runs under `valgrind --tool=callgrind` with bench.callgrind_probe, and the load client
sends fixed workloads one request at a time, each one a phase dumped on its own:

  streams         STREAMS streams of 45 events, the 40 deltas 20 ms apart (each read holds one event)
  short streams   STREAMS streams of 6 events (one delta, 800 ms after the start: as long a stream)
  non-streaming   REQUESTS requests
  empty           no request for as long as the short streams take (the server's time-driven work)

Each phase is first cleared of the empty phase's instructions per second times its length. Per
relayed event (a delta arriving on its own) = (streams - short streams) / (STREAMS x 39); per stream,
its request and its 5 fixed events (which arrive in two bursts) = short streams / STREAMS - 1 x per
event, so a stream of 50 deltas costs per stream + 50 x per event; per non-streaming request =
non-streaming / REQUESTS. Records are written before a phase ends. Only the main thread is counted
(gevent's hub and every greenlet; a dump holds the calling thread's counters, so the native writer
thread's commits are left out). The totals run has no stage wrappers; the stages run
(BENCH_CALLGRIND_STAGES=0 skips it) counts one stage's functions per phase, less the probe's own
cost per entry (calibrated), and `other` is the rest of that run (gunicorn's request parsing, Flask,
WSGI iteration, the hub's idle turns). The `stack` target counts the fixed layers by themselves per
non-streaming request (bench.stack_floor): gunicorn serving a bare WSGI app (two empty phases of
different lengths and two non-streaming phases of different sizes, whose differences leave out what a
phase costs once), a bare Flask route and the upstream client (each in its own process).
BENCH_CALLGRIND_TARGETS=proxy,floor,stack chooses the targets.
"""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import report
from bench.callgrind_probe import STAGES
from bench.procs import BIN, ROOT, FakeUpstream, FloorRelay, ProxyServer, raise_priority
from bench.stack_floor import MEASURED
from bench.proxy_suite import RESULTS, run_client, wait_for_records

# Both kinds of stream last 0.8 s (the last delta 40 x 20 ms, or 1 x 800 ms after the start), so
# that time-driven work (the settings poller's 0.5 s round...) cancels out of their difference, and
# each ends before the recorder would write its in-flight row (1 s).
LONG_EVENTS, SHORT_EVENTS = 45, 6
LONG_INTERVAL_MS, SHORT_INTERVAL_MS = 20.0, 800.0
STARTUP_TIMEOUT = 600.0
LAYER_TIMEOUT = 900.0  # one of bench.stack_floor's in-process layers, start to end, under valgrind
WARM_UP = 20  # requests before the stack's gunicorn phases: imports, first reads
CALIBRATION_ENTRIES = 2000
VALGRIND = ("valgrind", "--tool=callgrind", "--separate-threads=yes", "--collect-atstart=yes",
            "--dump-line=no", "--dump-instr=no")
FLOOR_STAGES = ("request", "read", "write")


def workloads(quick: bool) -> dict[str, dict | None]:
    """Phase name -> the load client's spec (without the target), None for the empty phase."""
    streams, requests = (3, 10) if quick else (10, 30)

    def spec(count, streaming, events=30, interval_ms=0.0):
        return {"shape": "sequential", "count": count, "streaming": streaming, "events": events,
                "interval_ms": interval_ms, "ramp_s": 0, "run_timeout_s": 600, "request_timeout_s": 120}

    return {"empty": {"count": 0, "idle_s": streams * SHORT_INTERVAL_MS / 1000},
            "streams": spec(streams, True, LONG_EVENTS, LONG_INTERVAL_MS),
            "short streams": spec(streams, True, SHORT_EVENTS, SHORT_INTERVAL_MS),
            "non-streaming": spec(requests, False)}


class Target:
    """One server under callgrind, driven phase by phase."""

    def __init__(self, server, workdir: Path, out_dir: Path):
        self.server = server
        self.workdir = workdir
        self.out_dir = out_dir
        self.sent = 0  # requests sent through it so far (each leaves a record, for the proxy)

    def control(self, action: str) -> dict:
        """Ask the probe for a phase action (begin, end, calibrate)."""
        with urllib.request.urlopen(f"{self.server.url}/__probe/{action}", timeout=600) as response:
            return json.loads(response.read())

    def send(self, spec: dict) -> None:
        """Run one workload and wait for its records."""
        if not spec["count"]:
            time.sleep(spec.get("idle_s", 0))
            return
        port = int(self.server.url.rsplit(":", 1)[1])
        raw = run_client({**spec, "host": "127.0.0.1", "port": port}, self.workdir)
        errors = [r["error"] for r in raw["requests"] if r["error"]]
        if errors:
            raise RuntimeError(f"{len(errors)} of {spec['count']} requests failed, e.g. {errors[0]}")
        self.sent += spec["count"]
        if self.server.recording:
            wait_for_records(self.server.database_path, self.sent, timeout=300)

    def phase(self, stage: str, name: str, spec: dict) -> tuple[int, float]:
        """One dumped phase; returns how often the probe switched counting on in it, and its seconds."""
        self.control(f"begin?stage={stage}&name={name.replace(' ', '+')}")
        began = time.monotonic()
        self.send(spec)
        wall = time.monotonic() - began
        return self.control("end")["entries"], wall


def dumps(out_dir: Path, pid: int) -> dict[str, dict[int, int]]:
    """Dump name -> thread number -> instructions, from the callgrind files of process `pid`."""
    found: dict[str, dict[int, int]] = {}
    for path in out_dir.glob(f"cg.{pid}*"):
        name, thread, total = None, 1, None
        with open(path, errors="replace") as text:
            for line in text:
                if line.startswith("desc: Trigger: Client Request: "):
                    name = line.removeprefix("desc: Trigger: Client Request: ").strip()
                elif line.startswith("thread: "):
                    thread = int(line.split()[1])
                elif line.startswith("summary: ") or (line.startswith("totals: ") and total is None):
                    # `summary:` is the dump's own count (callgrind_annotate's PROGRAM TOTALS). The
                    # `totals:` after it also holds costs from before the dump's zeroing: 35M instead
                    # of 1.6M for the first (idle) phase, whose rate is taken off every other phase.
                    total = int(line.split()[1])
        if name is not None and total is not None:
            found.setdefault(name, {})[thread] = total
    return found


def derive(phases: dict[str, float], walls: dict[str, float], count: dict[str, int]) -> dict:
    """Instructions per relayed delta, per stream (its request and its 5 other events) and per
    non-streaming request."""
    rate = phases["empty"] / walls["empty"]  # the server's own instructions per second, idle
    net = {name: value - rate * walls[name] for name, value in phases.items()}
    per_event = (net["streams"] - net["short streams"]) / (count["streams"] * (LONG_EVENTS - SHORT_EVENTS))
    # The short stream's one delta arrives alone like every long stream's; its other 5 events come
    # in two bursts (head and first two events, last three), part of a stream's fixed cost.
    per_stream = net["short streams"] / count["streams"] - per_event
    per_request = net["non-streaming"] / count["non-streaming"]
    return {"per_event": per_event, "per_stream": per_stream, "per_request": per_request}


def per_request_between(phases: dict[str, float], walls: dict[str, float], count: dict[str, int]) -> float:
    """Instructions per request from phases that differ in one thing each: "empty" and "longer empty"
    give the idle rate, "few" and "many" requests the cost per request; what a phase costs once
    (the probe's own requests, the load client's connection) cancels out of both differences."""
    rate = (phases["longer empty"] - phases["empty"]) / (walls["longer empty"] - walls["empty"])
    added = phases["many"] - phases["few"] - rate * (walls["many"] - walls["few"])
    return added / (count["many"] - count["few"])


def run_target(kind: str, upstream: FakeUpstream, workdir: Path, stages: bool, quick: bool) -> dict:
    """One valgrind run of the proxy or the floor: every phase of every stage asked for; the figures."""
    out_dir = workdir / f"{kind}-{'stages' if stages else 'totals'}"
    out_dir.mkdir()
    launcher = VALGRIND + (f"--callgrind-out-file={out_dir}/cg.%p",)
    env = {"BENCH_CALLGRIND_PROBE": "1", "BENCH_CALLGRIND_STAGES": "1" if stages else "0"}
    if kind == "proxy":
        server = ProxyServer(upstream.url, out_dir / "bench.db", out_dir / "gunicorn.log", launcher=launcher,
                             config="bench/callgrind_conf.py", startup_timeout=STARTUP_TIMEOUT, env=env)
    else:
        server = FloorRelay(upstream.url, launcher=launcher, startup_timeout=STARTUP_TIMEOUT, env=env)
    loads = workloads(quick)
    counts = {name: spec["count"] for name, spec in loads.items()}
    plan = ["all"] + ([s for s in STAGES if kind == "proxy" or s in FLOOR_STAGES] if stages else [])
    entries: dict[str, int] = {}
    walls: dict[str, float] = {}
    began = time.monotonic()
    with server:
        target = Target(server, workdir, out_dir)
        for spec in loads.values():  # warm-up: pools, first writes, lazily built caches
            target.send({**spec, "count": min(spec["count"], 2), "idle_s": 0})
        if stages:
            entries["calibrate"] = target.control(f"calibrate?count={CALIBRATION_ENTRIES}")["entries"]
        for stage in plan:
            for name, spec in loads.items():
                print(f"callgrind {kind}: stage {stage}, {name}...", flush=True)
                entries[f"{stage}:{name}"], walls[f"{stage}:{name}"] = target.phase(stage, f"{stage}:{name}", spec)
        pid = server.worker_pid
    found = dumps(out_dir, pid)
    result = {"kind": kind, "stages_run": stages, "wall_s": time.monotonic() - began, "entries": entries,
              "walls": walls, "dumps": {name: threads for name, threads in found.items()}}
    if stages:
        entry_cost = found["calibrate"][1] / CALIBRATION_ENTRIES
        result["entry_cost"] = entry_cost
        figures = {}
        for stage in plan:
            main_thread = {name: found[f"{stage}:{name}"].get(1, 0) for name in loads}
            if stage != "all":
                main_thread = {name: value - entries[f"{stage}:{name}"] * entry_cost
                               for name, value in main_thread.items()}
            figures[stage] = derive(main_thread, {name: walls[f"{stage}:{name}"] for name in loads}, counts)
        staged = [s for s in plan if s != "all"]
        figures["other"] = {key: figures["all"][key] - sum(figures[s][key] for s in staged)
                            for key in figures["all"]}
        result["stages"] = figures
    else:
        # A client request dumps the calling thread's counters only: the main thread, where gevent's
        # hub and every greenlet run (the native writer thread's commits are not in these figures).
        main_thread = {name: found[f"all:{name}"].get(1, 0) for name in loads}
        result["totals"] = {"main thread": derive(main_thread, {name: walls[f"all:{name}"] for name in loads},
                                                  counts)}
    return result


def run_stack(upstream: FakeUpstream, workdir: Path, quick: bool) -> dict:
    """Instructions per non-streaming request of gunicorn, Flask and the upstream client by themselves."""
    out_dir = workdir / "stack"
    out_dir.mkdir()
    loads = workloads(quick)
    empty, non_streaming = loads["empty"], loads["non-streaming"]
    requests = non_streaming["count"]
    phases = {"empty": empty, "longer empty": empty | {"idle_s": 2 * empty["idle_s"]},
              "few": non_streaming | {"count": requests // 3}, "many": non_streaming}
    counts = {name: spec["count"] for name, spec in phases.items()}
    server = ProxyServer(upstream.url, out_dir / "bench.db", out_dir / "gunicorn.log",
                         launcher=VALGRIND + (f"--callgrind-out-file={out_dir}/cg.%p",),
                         config="bench/callgrind_conf.py", startup_timeout=STARTUP_TIMEOUT,
                         env={"BENCH_CALLGRIND_PROBE": "1", "BENCH_CALLGRIND_STAGES": "0"},
                         app="bench.stack_floor:BareApp()", recording=False)
    walls: dict[str, float] = {}
    with server:
        target = Target(server, workdir, out_dir)
        target.send(non_streaming | {"count": WARM_UP})
        for name, spec in phases.items():
            print(f"callgrind stack: gunicorn, {name}...", flush=True)
            walls[name] = target.phase("all", f"all:{name}", spec)[1]
        pid = server.worker_pid
    found = dumps(out_dir, pid)
    main_thread = {name: found[f"all:{name}"].get(1, 0) for name in phases}
    figures = {"gunicorn": per_request_between(main_thread, walls, counts)}
    for layer in ("flask", "upstream"):
        print(f"callgrind stack: {layer}...", flush=True)
        figures[layer] = _count_in_process(layer, upstream.url, requests, out_dir / layer)
    return {"kind": "stack", "walls": walls, "main_thread": main_thread, "per_request": figures}


def _count_in_process(layer: str, upstream_url: str, requests: int, out_dir: Path) -> float:
    """Instructions per request of one of bench.stack_floor's in-process layers, run under valgrind."""
    out_dir.mkdir()
    process = subprocess.Popen(
        VALGRIND + (f"--callgrind-out-file={out_dir}/cg.%p", str(BIN / "python"), "-m", "bench.stack_floor",
                    layer, str(requests), "--upstream", upstream_url),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, errors = process.communicate(timeout=LAYER_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    if process.returncode:
        raise RuntimeError(f"bench.stack_floor {layer} exited with {process.returncode}: {errors[-2000:]!r}")
    return dumps(out_dir, process.pid)[MEASURED][1] / requests


def _k(value) -> str:
    return "-" if value is None else f"{value / 1000:,.1f}k"


def render(results: dict) -> str:
    """The tables: totals per target, then the stages side by side with the floor's."""
    lines = []
    rows = []
    for kind, result in results.items():
        for scope, figures in (result.get("totals") or {}).items():
            rows.append([f"{kind} ({scope})", _k(figures["per_event"]), _k(figures["per_stream"]),
                         _k(figures["per_request"])])
    if rows:
        lines += ["Instructions (thousands) per relayed event, per stream (its request and 5 fixed events) and "
                  "per non-streaming request",
                  report.table(["target", "per event", "per stream", "per non-streaming request"], rows), ""]
    stack = results.get("stack", {}).get("per_request")
    if stack:
        together = sum(stack.values())
        proxy_request = results.get("proxy", {}).get("totals", {}).get("main thread", {}).get("per_request")
        names = {"gunicorn": "gunicorn (a bare WSGI app)", "flask": "Flask (a bare blueprint route)",
                 "upstream": "upstream client (requests, urllib3, http.client)"}
        rows = [[names[layer], _k(value)] for layer, value in stack.items()] + [["together", _k(together)]]
        if proxy_request:
            rows.append(["the proxy", f"{_k(proxy_request)} (its layers: {100 * together / proxy_request:.0f} %)"])
        lines += ["The stack's own layers per non-streaming request (bench.stack_floor), main thread",
                  report.table(["layer", "per non-streaming request"], rows), ""]
    proxy, floor = (results.get(kind, {}).get("stages") for kind in ("proxy", "floor"))
    if proxy or floor:
        lines.append("By stage, main thread (probe cost removed; 'other' = the rest of the main thread; "
                     "floor: its own read, write and request)")
        rows = []
        for stage in list(STAGES) + ["other", "all"]:
            row = [stage]
            for key in ("per_event", "per_stream", "per_request"):
                mine = proxy and proxy.get(stage, {}).get(key)
                theirs = floor and floor.get(stage, {}).get(key)
                above = f" (+{_k(mine - theirs)})" if mine is not None and theirs is not None else ""
                row.append(f"{_k(mine)} / {_k(theirs)}{above}")
            rows.append(row)
        lines.append(report.table(["stage", "per event: proxy / floor", "per stream", "per non-streaming request"],
                                  rows))
    return "\n".join(lines)


def main(quick: bool = False) -> int:
    """Run the targets under callgrind, print the tables, write the JSON; always 0 (no targets)."""
    niceness = raise_priority()
    kinds = [k.strip() for k in os.environ.get("BENCH_CALLGRIND_TARGETS", "proxy,floor,stack").split(",")
             if k.strip()]
    stages = os.environ.get("BENCH_CALLGRIND_STAGES", "1") != "0"
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp, FakeUpstream() as upstream:
        # BENCH_CALLGRIND_KEEP=folder keeps the callgrind files there, for callgrind_annotate.
        workdir = Path(os.environ.get("BENCH_CALLGRIND_KEEP") or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            if kind == "stack":
                results[kind] = run_stack(upstream, workdir, quick)
                continue
            result = run_target(kind, upstream, workdir, stages=False, quick=quick)
            if stages:
                stage_run = run_target(kind, upstream, workdir, True, quick)
                result.update({key: value for key, value in stage_run.items()
                               if key in ("stages", "entry_cost")} | {"stages_run_detail": {
                key: value for key, value in stage_run.items() if key in ("entries", "walls", "dumps")}})
            results[kind] = result
    text = render(results)
    print(f"callgrind, nice {niceness}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"callgrind-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": "callgrind", "quick": quick, "results": results}, indent=2))
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0
