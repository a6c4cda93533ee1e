"""The Procfile, run by honcho as Heroku would: migrate, then gunicorn on $PORT, proxying at once."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.gunicorn_server import ROOT, free_port

pytestmark = pytest.mark.sqlite_only  # one run is enough: the database is a throwaway SQLite file


def test_honcho_runs_the_procfile_like_heroku(_upstream_server, tmp_path):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path}/heroku.db",
           "UPSTREAM_URL": _upstream_server.url, "DASHBOARD_PASSWORD": "pw",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    log = tmp_path / "honcho.log"
    honcho = subprocess.Popen([str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
                              cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # refused, or the worker still booting
                time.sleep(0.2)
        else:
            pytest.fail("the Procfile's web process did not answer /health")
        response = requests.post(f"http://127.0.0.1:{port}/v1/messages/count_tokens", timeout=5,
                                 json={"model": "m", "messages": []}, headers={"x-api-key": "sk-ant-x"})
        assert response.json() == {"input_tokens": 1234}
        assert requests.get(f"http://127.0.0.1:{port}/api/requests", timeout=5).status_code == 401
    finally:
        honcho.send_signal(signal.SIGTERM)  # honcho passes it on to the web process
        honcho.wait(timeout=45)
    output = log.read_text()
    assert "schema at version" in output
    assert "Listening at: http://0.0.0.0:" in output
