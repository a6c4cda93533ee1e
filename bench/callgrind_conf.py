"""gunicorn.conf.py plus the callgrind probe (bench.callgrind_probe), for bench.callgrind_suite.

Everything of gunicorn.conf.py applies; under valgrind the worker loads ~50 times slower, so the
worker timeout is raised, and once the worker is ready the probe is installed.
"""
import os

_CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gunicorn.conf.py")
with open(_CONF) as _file:
    exec(compile(_file.read(), _CONF, "exec"))

timeout = 900
_post_worker_init = post_worker_init  # noqa: F821 - defined by gunicorn.conf.py above


def post_worker_init(worker):
    """gunicorn.conf.py's hook, then the probe (imported here: after the worker's monkey-patching)."""
    _post_worker_init(worker)
    from bench import callgrind_probe

    callgrind_probe.install_worker(worker, stages=os.environ.get("BENCH_CALLGRIND_STAGES") == "1")
