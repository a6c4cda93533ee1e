"""The CPU suite: the app's own CPU per request (bench.cpu_probe), a figure the machine's noise barely moves.

Latency on a shared 2-core machine swings with the neighbours' load; CPU time spent per request
does not, so a change to the request path is judged here first and confirmed by the proxy suite.
It has no target of its own (the issue's targets are latencies); it reports and saves the figures.
`BENCH_PROFILE=1` adds the top functions of a cProfile run (CPU clock) for each kind of request.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.procs import ROOT, raise_priority

RESULTS = ROOT / "bench" / "results"


def main(quick: bool = False) -> int:
    """Run the probe in its own (gevent-patched) process, print the table, write the JSON; always 0."""
    niceness = raise_priority()
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp:
        out = Path(tmp) / "cpu.json"
        command = [sys.executable, "-m", "bench.cpu_probe", str(out)] + ["--quick"] * quick
        if os.environ.get("BENCH_PROFILE") == "1":
            command.append("--profile")
        subprocess.run(command, cwd=ROOT, check=True, timeout=600)
        result = json.loads(out.read_text())
    rows = []
    for kind, batches in result["batches"].items():
        ordered = sorted(batches)
        rows.append([kind, len(batches), report.fmt(ordered[0], 3), report.fmt(report.percentile(ordered, 50), 3),
                     report.fmt(ordered[-1], 3)])
    print(f"App CPU per request, in-process through WSGI (no gunicorn), records written; nice {niceness}, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(report.table(["request", "batches", "min ms", "median ms", "max ms"], rows))
    for kind, text in result["profiles"].items():
        print(f"\nProfile of one batch ({kind}), by cumulative CPU time:\n{text}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"cpu-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"suite": "cpu", "quick": quick, "niceness": niceness, **result}, indent=2))
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0
