"""The load client: gevent greenlets on raw sockets, timing first bytes and each SSE event's arrival.

Run as its own process: `python -m bench.load SPEC.json OUT.json`. The spec names the target, the
shape (sequential; concurrent, `count` requests over `concurrency` keep-alive connections; or
`count` streams whose starts are spread evenly over `ramp_s`) and the stream (events, interval);
the output holds raw samples in microseconds for the suite to summarise.
"""
import gc
import json
import os
import resource
import socket as stdlib_socket
import sys
import time

import gevent
from gevent import socket

from bench.workload import SEQ_KEY, STAMP_KEY, body_digest, event_names, request_body, request_headers

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
RSS_EVERY = 0.02  # seconds between samples of the watched process
LAG_EVERY = 0.005  # seconds between the client's own loop-lag probes
RAMP_LEAD_IN = 0.05  # seconds between spawning the ramp's greenlets and its first start


class Failed(Exception):
    """A response that was not what the workload expects; the message says how."""


class Reader:
    """Buffered reads from one connection, noting the monotonic time of the latest recv."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.arrived = 0  # monotonic ns of the recv that last added bytes

    def fill(self) -> None:
        """Read what the peer sent next; Failed if it closed the connection."""
        data = self.sock.recv(262144)
        self.arrived = time.monotonic_ns()
        if not data:
            raise Failed("connection closed mid-response")
        self.buf += data

    def line(self) -> bytes:
        """The next CRLF-terminated line, without its terminator."""
        while (end := self.buf.find(b"\r\n")) < 0:
            self.fill()
        line = bytes(self.buf[:end])
        del self.buf[:end + 2]
        return line

    def exactly(self, size: int) -> bytes:
        """The next `size` bytes."""
        while len(self.buf) < size:
            self.fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data


class Client:
    """Sends the workload to one target and keeps every sample."""

    def __init__(self, spec: dict):
        self.spec = spec
        headers = request_headers(spec["events"], spec["interval_ms"])
        body = request_body(spec["streaming"], spec.get("body_bytes", 50_000))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.request = (f"POST /v1/messages?beta=true HTTP/1.1\r\nhost: {spec['host']}:{spec['port']}\r\n"
                        f"{head}content-length: {len(body)}\r\n\r\n").encode() + body
        self.body_digest = body_digest(body).hexdigest()  # every request sends this body
        self.expected = event_names(spec["events"])
        self.timeout = spec.get("request_timeout_s", 30.0)
        self.results: list[dict] = []
        self.delays: list[int] = []      # per event: arrival minus upstream send stamp, µs
        self.start_lag: list[int] = []   # per ramped stream: actual minus scheduled start, µs
        self.open_streams = 0
        # (s since start, open streams, RSS KB, CPU clock ticks) of the watched process
        self.rss_samples: list[tuple[float, int, int, int]] = []
        self.loop_lag: list[tuple[float, int]] = []  # (s since start, µs a timer fired late)

    def connect(self):
        """A new connection to the target, Nagle off like any latency-minded HTTP client."""
        # An IP literal and a plain connect: create_connection would resolve the name in gevent's
        # thread pool, whose hand-offs stalled the whole client loop for tens of ms at 250 streams.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        try:
            sock.connect((self.spec["host"], self.spec["port"]))
        except BaseException:
            sock.close()
            raise
        return sock

    def one(self, sock, started_ns: int) -> tuple[dict, bool]:
        """Send one request on `sock` and read its whole response; returns (sample, keep_alive)."""
        # started_ns places a slow first byte in time, beside a probe's record of the server's stalls.
        result = {"ttfb_us": None, "total_us": None, "error": None, "started_ns": started_ns}
        reader = Reader(sock)
        sock.sendall(self.request)
        reader.fill()
        result["ttfb_us"] = (reader.arrived - started_ns) // 1000
        opened = self.spec["streaming"]
        if opened:
            self.open_streams += 1
        try:
            status = reader.line()
            headers = {}
            while line := reader.line():
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if not status.startswith(b"HTTP/1.1 200"):
                raise Failed(f"status {status.decode('latin-1', 'replace')}")
            if "chunked" in headers.get("transfer-encoding", ""):
                body = self._chunked(reader) if self.spec["streaming"] else b"".join(self._chunks(reader))
            elif "content-length" in headers:
                body = reader.exactly(int(headers["content-length"]))
            else:
                raise Failed("response has neither chunked framing nor a length")
            if not self.spec["streaming"]:
                message = json.loads(body)
                if message.get("type") != "message":
                    raise Failed(f"unexpected body {body[:100]!r}")
            result["total_us"] = (reader.arrived - started_ns) // 1000
        finally:
            if opened:
                self.open_streams -= 1
        return result, headers.get("connection", "").lower() != "close"

    def _chunks(self, reader: Reader):
        """Yield the decoded chunks of a chunked body as they complete."""
        while True:
            size = int(reader.line().split(b";", 1)[0], 16)
            if size == 0:
                while reader.line():  # trailers, up to the blank line
                    pass
                return
            chunk = reader.exactly(size)
            if reader.exactly(2) != b"\r\n":
                raise Failed("chunk not followed by CRLF")
            yield chunk

    def _chunked(self, reader: Reader) -> bytes:
        """Parse the SSE stream as it arrives, timing each event; Failed unless it is complete."""
        pending = bytearray()
        seen = 0
        delays = []
        for chunk in self._chunks(reader):
            arrived = reader.arrived
            pending += chunk
            # Our upstream frames events with LF only and the proxy must relay bytes unchanged.
            while (end := pending.find(b"\n\n")) >= 0:
                raw = bytes(pending[:end])
                del pending[:end + 2]
                name_line, _, data_line = raw.partition(b"\n")
                if not name_line.startswith(b"event: ") or not data_line.startswith(b"data: "):
                    raise Failed(f"malformed event {raw[:80]!r}")
                data = json.loads(data_line[6:])
                name = name_line[7:].decode()
                if seen >= len(self.expected) or name != self.expected[seen] or data.get(SEQ_KEY) != seen:
                    raise Failed(f"event {seen} is {name} seq {data.get(SEQ_KEY)}")
                delays.append((arrived - data[STAMP_KEY]) // 1000)
                seen += 1
        if pending.strip() or seen != len(self.expected):
            raise Failed(f"stream incomplete: {seen}/{len(self.expected)} events")
        self.delays.extend(delays)
        return b""

    def attempt(self, sock):
        """One request with its bookkeeping; returns the socket to reuse, or None."""
        started = time.monotonic_ns()
        try:
            if sock is None:
                sock = self.connect()
            result, keep = self.one(sock, started)
        except (Failed, OSError, ValueError, gevent.Timeout) as exc:
            self.results.append({"ttfb_us": None, "total_us": None, "error": f"{type(exc).__name__}: {exc}"})
            if sock is not None:
                sock.close()
            return None
        self.results.append(result)
        if not keep:
            sock.close()
            return None
        return sock

    def sequential(self) -> None:
        """`count` requests one after another on one keep-alive connection."""
        sock = None
        for _ in range(self.spec["count"]):
            sock = self.attempt(sock)
        if sock is not None:
            sock.close()

    def concurrent(self) -> None:
        """`count` requests over `concurrency` keep-alive connections, each sending its next as soon
        as the previous one ends (a closed connection is replaced)."""
        remaining = [self.spec["count"]]

        def connection() -> None:
            sock = None
            while remaining[0] > 0:
                remaining[0] -= 1
                sock = self.attempt(sock)
            if sock is not None:
                sock.close()

        greenlets = [gevent.spawn(connection) for _ in range(self.spec.get("concurrency", 1))]
        gevent.joinall(greenlets, timeout=self.spec.get("run_timeout_s", 120))
        gevent.killall(greenlets, timeout=2)

    def ramped(self, began: float) -> None:
        """`count` requests on their own connections, starts spread evenly over `ramp_s`."""
        count, ramp = self.spec["count"], self.spec["ramp_s"]
        # Spawning every greenlet takes a few ms: start the ramp after it, not during it.
        began += RAMP_LEAD_IN

        def stream(index: int) -> None:
            scheduled = began + ramp * index / count
            delay = scheduled - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            self.start_lag.append(int((time.monotonic() - scheduled) * 1e6))
            sock = self.attempt(None)
            if sock is not None:
                sock.close()

        greenlets = [gevent.spawn(stream, index) for index in range(count)]
        gevent.joinall(greenlets, timeout=ramp + self.spec.get("run_timeout_s", 120))
        gevent.killall(greenlets, timeout=2)

    def watch_process(self, pid: int, began: float) -> None:
        """Sample the watched process's RSS and CPU time with the number of streams open, until killed."""
        while True:
            try:
                with open(f"/proc/{pid}/statm", "rb") as statm:
                    resident = int(statm.read().split()[1]) * PAGE_KB
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                return  # the process is gone: the failed requests will say so
            self.rss_samples.append((round(time.monotonic() - began, 3), self.open_streams, resident,
                                     int(fields[11]) + int(fields[12])))
            gevent.sleep(RSS_EVERY)

    def watch_loop(self, began: float) -> None:
        """Note how late a periodic timer fires: a busy client loop delays every sample it takes."""
        while True:
            due = time.monotonic() + LAG_EVERY
            gevent.sleep(LAG_EVERY)
            now = time.monotonic()
            self.loop_lag.append((round(now - began, 3), int((now - due) * 1e6)))

    def run(self) -> dict:
        """Run the spec; return the samples, the client's own CPU time and the wall time."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        began = time.monotonic()
        watchers = [gevent.spawn(self.watch_loop, began)]
        if self.spec.get("watch_pid"):
            watchers.append(gevent.spawn(self.watch_process, self.spec["watch_pid"], began))
        if self.spec["shape"] == "sequential":
            runner = gevent.spawn(self.sequential)
            runner.join(timeout=self.spec.get("run_timeout_s", 120))
            runner.kill(timeout=2)
        elif self.spec["shape"] == "concurrent":
            self.concurrent()
        else:
            self.ramped(began)
        wall = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_SELF)
        # A request cut short by the run timeout left no sample: count it as an error.
        missing = self.spec["count"] - len(self.results)
        self.results.extend([{"ttfb_us": None, "total_us": None, "error": "client run timeout"}] * missing)
        gevent.killall(watchers, timeout=2)
        return {
            "requests": self.results, "delays_us": self.delays, "start_lag_us": self.start_lag,
            "rss_samples": self.rss_samples, "loop_lag": self.loop_lag, "wall_s": wall,
            "request_digest": self.body_digest,
            "cpu_s": (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime),
        }


def main(argv=None) -> None:
    """Read the spec file, run it, write the results file."""
    spec_path, out_path = (argv or sys.argv[1:])[:2]
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    # A full collection walks every greenlet's stack: tens of ms with hundreds of streams, which
    # would be charged to the proxy. This process lives for one run, so its garbage can wait.
    gc.disable()
    results = Client(spec).run()
    with open(out_path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
