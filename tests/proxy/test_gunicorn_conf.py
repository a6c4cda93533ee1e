"""gunicorn.conf.py: the worker hooks it defines, run in the test process."""
import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_worker_freezes_the_loaded_app_out_of_the_collectors_sight():
    conf = runpy.run_path(str(CONF))
    try:
        conf["post_worker_init"](None)
        assert gc.get_freeze_count() > 0, "objects loaded before serving must be frozen"
    finally:
        gc.unfreeze()
