"""The app's own CPU per proxied request, measured inside one gevent-patched process.

Run as `python -m bench.cpu_probe OUT.json [--quick] [--profile]`. The app (create_app, recording on,
SQLite) is driven through WSGI, without gunicorn, against the fake upstream in its own process; the
figure is this process's CPU clock over batches of requests, so the other processes of a shared
machine barely move it (unlike latency). The minimum and median of the batches are reported.
With `--profile`, one more batch of each kind runs under cProfile (CPU clock) and its top
functions are written too.
"""
from gevent import monkey

if __name__ == "__main__":
    monkey.patch_all()  # as gunicorn's gevent worker does, before anything imports socket or threading

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.procs import BIN, ROOT, FakeUpstream  # noqa: E402
from bench.workload import request_body, request_headers  # noqa: E402

# name -> (streaming, events, interval between deltas in ms): a 1 ms interval makes every event
# arrive on its own, as in a real stream, so each pays its own wake-up and write.
KINDS = {"non-streaming": (False, 30, 0.0), "stream of 30 events": (True, 30, 1.0)}


def build_app(upstream_url: str, workdir: str):
    """The app as the server builds it: a migrated SQLite file, metrics folder, access log enabled."""
    database_url = f"sqlite:///{workdir}/cpu.db"
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = workdir  # read when prometheus_client is imported
    subprocess.run([str(BIN / "python"), "app.py", "init-db"], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": database_url}, timeout=60)
    # The access log is formatted and written as under gunicorn, to a file nobody reads.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))
    from app import Config, create_app

    return create_app(Config(upstream_url=upstream_url, database_url=database_url))


class Driver:
    """Sends prepared WSGI requests of one kind to the app and reads each response to its end."""

    def __init__(self, app, streaming: bool, events: int, interval_ms: float):
        from werkzeug.test import EnvironBuilder

        self.app = app
        self.recorder = app.extensions["proxy"].recorder
        body, headers = request_body(streaming), request_headers(events, interval_ms)
        self._builder = lambda: EnvironBuilder(
            path="/v1/messages", query_string="beta=true", method="POST", data=body, headers=headers,
            environ_base={"RAW_URI": "/v1/messages?beta=true", "REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def one(self, environ: dict) -> None:
        """One request, its body read whole, as a server would."""
        body = self.app(environ, lambda status, headers, exc_info=None: None)
        try:
            for _ in body:
                pass
        finally:
            body.close()

    def batch_cpu_ms(self, count: int, profiler: cProfile.Profile | None = None) -> float:
        """CPU ms per request over `count` requests, their records written (building requests not counted)."""
        environs = [self._builder() for _ in range(count)]
        self.recorder.flush()
        began = time.process_time()
        if profiler:
            profiler.enable()
        for environ in environs:
            self.one(environ)
        self.recorder.flush()  # writing the records is part of each request's cost
        if profiler:
            profiler.disable()
        return (time.process_time() - began) * 1000 / count


def top_functions(profiler: cProfile.Profile, limit: int = 30) -> str:
    """The profile's functions with the most cumulative CPU time, as pstats prints them."""
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def measure(app, batches: int, size: int, profile: bool) -> dict:
    """Per kind: CPU ms per request of every batch, kinds alternating; optionally a profile of each."""
    drivers = {name: Driver(app, *shape) for name, shape in KINDS.items()}
    for driver in drivers.values():
        driver.batch_cpu_ms(20)  # warm-up: the pool's connection, first writes, caches
    figures = {name: [] for name in drivers}
    for _ in range(batches):
        for name, driver in drivers.items():
            figures[name].append(driver.batch_cpu_ms(size))
    result = {"batches": figures, "profiles": {}}
    if profile:
        for name, driver in drivers.items():
            profiler = cProfile.Profile(time.process_time)
            driver.batch_cpu_ms(size, profiler)
            result["profiles"][name] = top_functions(profiler)
    return result


def main(argv=None) -> None:
    """Start the fake upstream, build the app, measure, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_probe")
    parser.add_argument("out")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as workdir, FakeUpstream() as upstream:
        app = build_app(upstream.url, workdir)
        try:
            result = measure(app, batches=3 if args.quick else 10, size=30 if args.quick else 100,
                             profile=args.profile)
        finally:
            app.extensions["proxy"].close()
    with open(args.out, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1:])
