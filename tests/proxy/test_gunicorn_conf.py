"""gunicorn.conf.py: the worker hooks it defines, run in the test process."""
import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

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
    worker = SimpleNamespace(cfg=Config())
    try:
        hook(worker)
        assert gc.get_freeze_count() > 0, "objects loaded before serving must be frozen"
        assert gc.get_threshold() == (*thresholds[:2], 100), "full collections wait for 100 younger ones"
        assert taken_over == [worker]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_worker_settings_are_read_as_plain_attributes_with_the_values_gunicorn_gives(monkeypatch):
    settings_as_attributes = load_conf(monkeypatch)["_settings_as_attributes"]
    cfg = Config()
    cfg.set("keepalive", 95)
    expected = {name: getattr(cfg, name) for name in cfg.settings}
    settings_as_attributes(cfg)
    assert {name: getattr(cfg, name) for name in cfg.settings} == expected
    assert "keepalive" in vars(cfg) and "is_ssl" not in vars(cfg), "properties of Config stay computed"
    # The copy stands in for Config.__getattr__'s lookup: if gunicorn stores or reads its settings
    # another way, mend _settings_as_attributes (gunicorn is pinned below 28 in setup.cfg).
    assert "__getattr__" in vars(Config) and not isinstance(vars(Config).get("keepalive"), property)
    assert Config.__getattr__(cfg, "keepalive") == cfg.keepalive == 95
