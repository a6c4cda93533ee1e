"""The processes a suite runs and watches: the fake upstream, the real gunicorn server, /proc readings."""
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may contain spaces: split after its closing parenthesis.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    """Resident set size of the process, in KB."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_KB


def host_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot; the difference of two readings gives the load."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def wait_for_quiet(max_busy_cores: float = 0.2, timeout: float = 10.0,
                   sample: float = 0.5) -> tuple[float, float]:
    """Wait (at most `timeout` s) until the machine is nearly idle; returns (busy cores, seconds waited).

    The machine may be shared: a test run elsewhere would otherwise land in one measurement only.
    """
    began = time.monotonic()
    while True:
        before = host_times()
        time.sleep(sample)
        after = host_times()
        busy = (after[0] - before[0]) / CLOCK_TICKS / sample
        waited = time.monotonic() - began
        if busy <= max_busy_cores or waited >= timeout:
            return busy, waited


def host_loop_ms(iterations: int = 500_000) -> float:
    """CPU ms a fixed pure-Python loop takes on this thread now.

    On a VM the same work takes up to twice as long while the host is busy elsewhere (seen here:
    63 ms in a fast phase, 110-130 ms in a slow one, switching within seconds or lasting minutes),
    and every CPU-bound figure of a run stretches with it. Read before and after each run."""
    started = time.thread_time()
    total = 0
    for number in range(iterations):
        total += number
    return (time.thread_time() - started) * 1000


def raise_priority(niceness: int = -10) -> int:
    """Run this process, and every process it starts, ahead of the machine's other work when allowed.

    On a shared machine others' jobs take the CPU in bursts; at equal priority such a burst lands
    in one run and not the next. Both modes, the client and the upstream run at the same niceness,
    so the comparison stays even. Returns the niceness in effect.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except PermissionError:
        pass  # not root: run at the priority we were given
    return os.getpriority(os.PRIO_PROCESS, 0)


def children(pid: int) -> list[int]:
    """Pids of the direct children of a process."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float) -> int | None:
    """SIGTERM a process we started and wait for it, SIGKILL if it outlives `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


class FakeUpstream:
    """`python -m bench.upstream` in its own process; `url` once started; with `digests`, keeping the
    digests of the bodies of each API call (bench.upstream's --digests)."""

    def __init__(self, digests: bool = False):
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.options = ["--digests"] if digests else []

    def __enter__(self) -> "FakeUpstream":
        self.process = subprocess.Popen([sys.executable, "-m", "bench.upstream", *self.options], cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True)
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=15):
                self.__exit__()
                raise RuntimeError("the fake upstream did not start within 15 s")
        line = self.process.stdout.readline().split()
        if line[:1] != ["READY"]:
            self.__exit__()
            raise RuntimeError(f"the fake upstream said {line!r} instead of READY")
        self.url = f"http://127.0.0.1:{line[1]}"
        return self

    @property
    def pid(self) -> int:
        """The upstream process id, for CPU readings."""
        return self.process.pid

    def stats(self) -> dict:
        """Connections that carried API calls, and API calls answered, so far."""
        with urllib.request.urlopen(self.url + "/bench/stats", timeout=5) as response:
            return json.loads(response.read())

    def digests(self) -> dict[str, list[str]]:
        """request-id -> [request, response] body digests of the API calls since the last call."""
        with urllib.request.urlopen(self.url + "/bench/digests", timeout=30) as response:
            return json.loads(response.read())

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop_process(self.process, 5)
            self.process.stdout.close()


class ProxyServer:
    """The real server, as `make run` starts it: init-db, then gunicorn with gunicorn.conf.py."""

    def __init__(self, upstream_url: str, database_path: Path, log_path: Path, launcher: tuple = (),
                 config: str | None = None, startup_timeout: float = 30.0, env: dict | None = None,
                 app: str = "app:create_app()", recording: bool = True):
        self.launcher = list(launcher)  # a command to run gunicorn under (valgrind)
        self.app = app  # another WSGI app for gunicorn to serve (bench.stack_floor's bare one)
        self.recording = recording  # every proxied request leaves a record (not so in a bare app)
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_path = database_path
        self.log_path = log_path
        self.env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1",
                    "UPSTREAM_URL": upstream_url, "DATABASE_URL": f"sqlite:///{database_path}", **(env or {})}
        self.process: subprocess.Popen | None = None
        self.worker_pid = 0
        # An investigation may point this at a wrapper of gunicorn.conf.py that adds probes.
        self.config = config or os.environ.get("BENCH_GUNICORN_CONF", "gunicorn.conf.py")

    def __enter__(self) -> "ProxyServer":
        subprocess.run([str(BIN / "python"), "app.py", "init-db"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=60)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.launcher + [str(BIN / "gunicorn"), "-c", self.config, self.app],
                                        cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy(timeout=self.startup_timeout)
            self.worker_pid = self._find_worker(timeout=10)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /health with 200 within {timeout} s")

    def _find_worker(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = children(self.process.pid)
            if len(workers) == 1:
                return workers[0]
            time.sleep(0.1)
        raise RuntimeError(f"expected one gunicorn worker, found {children(self.process.pid)}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.returncode = stop_process(self.process, 40)
            self._log.close()


class FloorRelay:
    """`python -m bench.floor_relay` in its own process: the cheapest relay, to measure the proxy against."""

    recording = False  # it keeps no records
    database_path = None

    def __init__(self, upstream_url: str, launcher: tuple = (), startup_timeout: float = 15.0,
                 env: dict | None = None):
        self.upstream_url = upstream_url
        self.launcher = list(launcher)
        self.startup_timeout = startup_timeout
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "FloorRelay":
        self.process = subprocess.Popen(self.launcher + [str(BIN / "python"), "-m", "bench.floor_relay",
                                                         "--upstream", self.upstream_url],
                                        cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True)
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=self.startup_timeout):
                self.__exit__()
                raise RuntimeError(f"the floor relay did not start within {self.startup_timeout} s")
        line = self.process.stdout.readline().split()
        if line[:1] != ["READY"]:
            self.__exit__()
            raise RuntimeError(f"the floor relay said {line!r} instead of READY")
        self.url = f"http://127.0.0.1:{line[1]}"
        return self

    @property
    def worker_pid(self) -> int:
        """The relay's process id (it is its own worker)."""
        return self.process.pid

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop_process(self.process, 10)
            self.process.stdout.close()
