"""nginx as a third target of the proxy suite: a config written per run, one worker, started and stopped.

The config is the plain reverse proxy the issue compared with (Debian's nginx, `proxy_buffering
off`): HTTP/1.1 and kept-alive connections to the fake upstream, no buffering either way, no
access log. The master stays in the foreground (`daemon off`) so the suite owns its process, and
`master_process on` as nginx is deployed: the one worker does all the relaying, and its CPU alone
is read, as the gunicorn worker's is without its arbiter.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.procs import children, free_port, stop_process

INSTALL_HINT = "apt-get install nginx"
# Debian installs it in /usr/sbin, which a non-root PATH often lacks.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
# As the proxy's upstream pool (app.py's upstream_pool_size): every connection a ramp opened is kept.
UPSTREAM_KEEPALIVE = 1000
# Each open stream holds two connections (client and upstream), plus the idle kept-alive ones.
WORKER_CONNECTIONS = 4096


def nginx_binary(search_path: str = SEARCH_PATH) -> str | None:
    """The nginx executable to run, or None when none is installed."""
    return shutil.which("nginx", path=search_path)


def nginx_version(binary: str) -> str:
    """What `nginx -v` says (it says it on stderr), e.g. `nginx/1.22.1`."""
    said = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    return (said.stderr or said.stdout).strip().removeprefix("nginx version: ")


def nginx_config(workdir: Path, port: int, upstream_port: int) -> str:
    """nginx.conf: listen on 127.0.0.1:`port`, relay everything to the fake upstream unbuffered."""
    # Temp paths point into workdir: the compiled-in ones (/var/lib/nginx) may not exist or be ours.
    temp_paths = "\n".join(f"    {kind}_temp_path {workdir / (kind + '_temp')};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""worker_processes 1;
daemon off;
master_process on;
pid {workdir / 'nginx.pid'};
error_log {workdir / 'error.log'} warn;

events {{
    worker_connections {WORKER_CONNECTIONS};
}}

http {{
    access_log off;
{temp_paths}

    upstream fake_upstream {{
        server 127.0.0.1:{upstream_port};
        keepalive {UPSTREAM_KEEPALIVE};
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            proxy_pass http://fake_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";  # keep the upstream connection alive, not `close`
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""


class NginxRelay:
    """nginx in the foreground on a free port, relaying to the fake upstream; `worker_pid` once started."""

    recording = False  # it keeps no records

    def __init__(self, binary: str, upstream_url: str, startup_timeout: float = 15.0):
        self.binary = binary
        self.upstream_port = int(upstream_url.rsplit(":", 1)[1])
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.worker_pid = 0
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.log_lines: list[str] = []  # the error log's, read when it stops

    @property
    def error_log(self) -> Path:
        """The error log, in the run's temp dir."""
        return Path(self._tmp.name) / "error.log"

    def __enter__(self) -> "NginxRelay":
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-nginx-")
        workdir = Path(self._tmp.name)
        # Run as root, the worker drops to `nobody`: it must be able to enter its temp paths.
        workdir.chmod(0o755)
        (workdir / "nginx.conf").write_text(nginx_config(workdir, self.port, self.upstream_port))
        # -e: the compiled-in error log is opened before the config is read; -p: relative paths.
        self.process = subprocess.Popen([self.binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                                         "-e", str(self.error_log)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._wait_listening()
            self.worker_pid = self._find_worker()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _failed(self, what: str) -> RuntimeError:
        said = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        if self.process.poll() is not None:
            said += self.process.stderr.read().decode(errors="replace")
        return RuntimeError(f"nginx {what}: {said.strip()[-500:] or 'it said nothing'}")

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failed(f"exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise self._failed(f"did not listen within {self.startup_timeout} s")

    def _find_worker(self) -> int:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            workers = children(self.process.pid)
            if len(workers) == 1:
                return workers[0]
            time.sleep(0.05)
        raise self._failed(f"expected one worker, found {children(self.process.pid)}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop_process(self.process, 10)  # SIGTERM: nginx's fast shutdown, the worker with it
            self.process.stderr.close()
        if self._tmp is not None:
            # Its lines are at warn level or worse (the config's error_log): kept for the report.
            self.log_lines = self.error_log.read_text(errors="replace").splitlines() if self.error_log.exists() else []
            self._tmp.cleanup()


def nginx_target(binary: str | None, upstream_url: str):
    """An NginxRelay to enter, or, without a binary, a context that gives None."""
    return NginxRelay(binary, upstream_url) if binary else contextlib.nullcontext()


def nginx_status(binary: str | None) -> str:
    """One line for the report: which nginx was measured, or that none was and how to add it."""
    if binary is None:
        return (f"nginx: not installed, so measured direct and proxy only (to measure nginx beside them: "
                f"{INSTALL_HINT})")
    return (f"nginx: {nginx_version(binary)} ({binary}), 1 worker, proxy_buffering off, "
            f"upstream keepalive {UPSTREAM_KEEPALIVE}")
