"""Inside a server run under callgrind: phases dumped as separate profiles, and optionally only one
stage of the relay counted in a phase (bench.callgrind_suite drives it over HTTP).

The server runs with `--collect-atstart=yes --separate-threads=yes`; the probe turns counting off
for the server's main thread (gevent's hub and every greenlet live there) and back on as a phase
asks. In a stage phase, instructions count only while a greenlet is inside that stage's functions,
and while the hub runs on its behalf (a read's wait and wake-up are part of the read); a switch to
any other greenlet stops the count until the hub or the staged greenlet runs again.
"""
import json
from urllib.parse import parse_qs, urlsplit

import gevent
import greenlet

from bench import valgrind_requests as valgrind

PROBE_PATH = "/__probe/"
# Stage -> what it counts, in the real proxy (the floor relay has only read, write and request).
STAGES = {
    "request": "the request up to its response head: body read, parsing, routing, upstream send and wait",
    "read": "upstream read: each next chunk of the upstream body, the hub's wait and wake-up included",
    "write": "client write: the socket relay's chunk writes, gunicorn's write path (the head, the first "
             "and last chunk)",
    "copy": "recording copy: the relayed chunk kept for the record (the socket relay's own list appends "
            "are in 'other')",
    "parse": "end-of-stream parse: the event stream (or JSON body) parsed into usage, stop reason, message",
    "handoff": "record hand-off: record rows, queue, metrics, access log; the recorder's batch on the hub",
}


class Probe:
    """Which stage counts now, and the toggles of callgrind's collection for the main thread."""

    def __init__(self, stages: bool):
        self.stage: str | None = None  # "all": everything; a STAGES key; None: nothing
        self.name = ""
        self.inside: set = set()  # greenlets inside the counted stage
        self.collecting = True  # --collect-atstart=yes
        self.entries = 0  # times counting was switched on during the phase
        self.hub = gevent.get_hub()
        self.set_collect(False)
        if stages:  # a trace call on every switch costs instructions: only where stages are counted
            greenlet.settrace(self._switched)

    def set_collect(self, on: bool) -> None:
        """Count the main thread's instructions from now on, or not."""
        if on != self.collecting:
            valgrind.toggle_collect()
            self.collecting = on
            if on:
                self.entries += 1

    def _switched(self, event, args) -> None:
        if self.inside and event in ("switch", "throw"):
            target = args[1]
            self.set_collect(target in self.inside or target is self.hub)

    def begin(self, stage: str, name: str) -> None:
        """Start a phase: zero every thread's counters; count everything, or the stage only."""
        self.set_collect(False)
        self.stage, self.name, self.entries = stage, name, 0
        self.inside.clear()
        valgrind.zero_stats()
        self.set_collect(stage == "all")

    def end(self) -> int:
        """End the phase: dump its counters under its name; returns how often counting was switched on."""
        self.set_collect(False)
        entries, self.stage = self.entries, None
        valgrind.dump_stats(self.name)
        return entries

    def calibrate(self, count: int) -> int:
        """A phase of `count` empty stage entries: what one entry and exit cost the count."""
        noop = self.staged("calibrate", lambda: None)
        self.begin("calibrate", "calibrate")
        for _ in range(count):
            noop()
        return self.end()

    def staged(self, stage: str, function):
        """`function`, counted when `stage` is the phase's stage."""
        probe = self

        def wrapper(*args, **kwargs):
            if probe.stage != stage:
                return function(*args, **kwargs)
            current = greenlet.getcurrent()
            if current in probe.inside:  # nested: already counted
                return function(*args, **kwargs)
            probe.inside.add(current)
            probe.set_collect(True)
            try:
                return function(*args, **kwargs)
            finally:
                probe.inside.discard(current)
                probe.set_collect(False)

        wrapper.__wrapped__ = function
        return wrapper

    def staged_iterator(self, stage: str, iterator):
        """An iterator whose every step is counted in `stage`."""
        return _StagedIterator(self.staged(stage, iterator.__next__))

    def control_request(self, target: str) -> bytes:
        """Answer `/__probe/begin?stage=&name=`, `/__probe/end` or `/__probe/calibrate?count=`."""
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        action = parts.path[len(PROBE_PATH):]
        if action == "begin":
            self.begin(query["stage"], query["name"])
            return b"{}"
        if action == "end":
            return json.dumps({"entries": self.end()}).encode()
        if action == "calibrate":
            return json.dumps({"entries": self.calibrate(int(query["count"]))}).encode()
        return json.dumps({"error": f"unknown action {action}"}).encode()


class _StagedIterator:
    __slots__ = ("_step",)

    def __init__(self, step):
        self._step = step

    def __iter__(self):
        return self

    def __next__(self):
        return self._step()


def install_worker(worker, stages: bool) -> Probe:
    """Probe a gunicorn worker: /__probe/ answered before the app, and each stage wrapped if `stages`."""
    probe = Probe(stages)
    app = worker.wsgi

    def probed_app(environ, start_response):
        if environ["PATH_INFO"].startswith(PROBE_PATH):
            target = environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", "")
            answer = probe.control_request(target)
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
            return [answer]
        return app(environ, start_response)

    probed_app.extensions = app.extensions  # gunicorn.conf.py's worker_exit reads them
    worker.wsgi = probed_app
    # Work driven by time, not requests (the settings poller's round every 0.5 s, the stall watch's
    # sweep), made the idle phases vary by tens of millions of instructions: off during the count.
    service = app.extensions.get("proxy")  # None in bench.stack_floor's bare app
    if service is not None:
        service.settings.stop()
        service.stall_watch.stop()
    if stages:
        _wrap_proxy(probe)
    return probe


def _wrap_proxy(probe: Probe) -> None:
    from gunicorn.http import wsgi

    import proxy.relay
    from proxy.exchange import Exchange
    from proxy.socket_relay import ChunkWriter, UpstreamReader
    from proxy.recording.recorder import Recorder
    from proxy.service import ProxyService

    body = proxy.relay.upstream_body
    proxy.relay.upstream_body = lambda upstream: probe.staged_iterator("read", iter(body(upstream)))
    UpstreamReader.read = probe.staged("read", UpstreamReader.read)
    wsgi.Response.write = probe.staged("write", wsgi.Response.write)
    ChunkWriter.write = probe.staged("write", ChunkWriter.write)
    wsgi.Response.close = probe.staged("write", wsgi.Response.close)
    Exchange.body_chunk = probe.staged("copy", Exchange.body_chunk)
    Exchange.conclude = probe.staged("parse", Exchange.conclude)
    ProxyService._record_finished = probe.staged("handoff", ProxyService._record_finished)
    Recorder._deliver = probe.staged("handoff", Recorder._deliver)
    ProxyService.forward = probe.staged("request", ProxyService.forward)


def install_floor(module, stages: bool) -> Probe:
    """Probe bench.floor_relay (its module object as it runs): its read, write and request stages."""
    probe = Probe(stages)
    if stages:
        module.read_upstream = probe.staged("read", module.read_upstream)
        module.write_client = probe.staged("write", module.write_client)
        module.open_exchange = probe.staged("request", module.open_exchange)
    return probe
