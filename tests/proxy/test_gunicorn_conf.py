"""gunicorn.conf.py: the worker hooks it defines, run in the test process."""
import gc
import logging
import runpy
import socket
from pathlib import Path

from gunicorn.config import Config

from tests.gunicorn_server import free_port

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def load_conf(monkeypatch) -> dict:
    """Run gunicorn.conf.py here, undoing what it sets in os.environ for the servers it starts."""
    for name in ("PROMETHEUS_MULTIPROC_DIR", "GEVENT_RESOLVER"):
        monkeypatch.setenv(name, "")  # remembers the original value (or its absence) for undo
        monkeypatch.delenv(name)
    return runpy.run_path(str(CONF))


def test_worker_freezes_the_loaded_app_and_spaces_out_full_collections(monkeypatch):
    hook = load_conf(monkeypatch)["post_worker_init"]
    taken_over = []
    # The SIGTERM take-over needs a real worker (and would replace this process's handler).
    hook.__globals__["_take_over_sigterm"] = taken_over.append
    thresholds = gc.get_threshold()
    try:
        hook("worker")
        assert gc.get_freeze_count() > 0, "objects loaded before serving must be frozen"
        assert gc.get_threshold() == (*thresholds[:2], 100), "full collections wait for 100 younger ones"
        assert taken_over == ["worker"]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


class StartingServer:
    """What on_starting reads of gunicorn's arbiter: its config and its log."""

    def __init__(self, *binds):
        self.cfg = Config()
        self.cfg.set("bind", list(binds))
        self.cfg.set("reuse_port", True)
        self.log = logging.getLogger("test-arbiter")


def listens_per_worker(monkeypatch, *binds) -> bool:
    server = StartingServer(*binds)
    load_conf(monkeypatch)["on_starting"](server)
    return server.cfg.reuse_port


def test_workers_listen_on_a_socket_each_on_a_free_fixed_tcp_port(monkeypatch, caplog):
    caplog.set_level(logging.INFO, "test-arbiter")
    port = free_port()
    assert listens_per_worker(monkeypatch, f"127.0.0.1:{port}")
    assert f"Each worker listens at 127.0.0.1:{port}" in caplog.text


def test_workers_share_one_socket_where_a_socket_each_would_misbehave(monkeypatch, tmp_path):
    assert not listens_per_worker(monkeypatch, "127.0.0.1:0"), "each worker would get its own random port"
    assert not listens_per_worker(monkeypatch, f"unix:{tmp_path}/proxy.sock"), "each would unlink the last's"
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert not listens_per_worker(monkeypatch, f"127.0.0.1:{free_port()}"), "systemd's socket must be served"


def test_a_port_another_server_listens_on_is_not_shared_with_it(monkeypatch):
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        # gunicorn then binds without SO_REUSEPORT, fails and says the address is in use.
        assert not listens_per_worker(monkeypatch, f"127.0.0.1:{other.getsockname()[1]}")
