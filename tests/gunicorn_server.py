"""Start the real server (`gunicorn -k gevent` with gunicorn.conf.py) for tests, as `make run` would."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GunicornServer:
    """A gunicorn master with gevent workers, its database migrated first like the Procfile does."""

    def __init__(self, env: dict, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # CONFIG_PATH: a developer's own proxy.yaml in the checkout must not route the tests' traffic.
        self.env = {**os.environ, "CONFIG_PATH": os.devnull, **env, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "WEB_CONCURRENCY": str(workers)}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> "GunicornServer":
        subprocess.run([sys.executable, "app.py", "init-db"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=60)
        self.log = open(ROOT / "test-artifacts" / f"gunicorn-{self.port}.log", "wb") \
            if (ROOT / "test-artifacts").is_dir() else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # refused, or the worker still booting
                time.sleep(0.1)
        self.process.kill()  # a server that never came up must not outlive the test
        self.process.wait(5)
        raise RuntimeError("gunicorn did not answer /health in time")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM the master and wait for it; returns its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)
