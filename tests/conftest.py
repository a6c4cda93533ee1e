"""Shared fixtures: the fake upstream, an app on a fresh SQLite file, a live proxy server, records."""
import threading

import pytest
from werkzeug.serving import make_server

import models
from app import Config, create_app
from tests.fake_upstream import FakeUpstream

pytest_plugins = ["tests.postgres"]


@pytest.fixture(scope="session")
def _upstream_server():
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(_upstream_server):
    """The fake Anthropic API, with no scripted replies and no requests seen."""
    _upstream_server.reset()
    return _upstream_server


@pytest.fixture
def config(upstream, tmp_path):
    """A config pointing at the fake upstream and a fresh SQLite file, with short timeouts."""
    return Config(upstream_url=upstream.url, database_url=f"sqlite:///{tmp_path}/proxy.db",
                  upstream_connect_timeout=2.0, upstream_read_timeout=2.0)


@pytest.fixture
def app(config):
    """The proxy app on a migrated database."""
    application = create_app(config)
    models.migrate()
    yield application
    service = application.extensions["proxy"]
    service.recorder.stop()
    service.upstream.close()
    models.database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_proxy(app):
    """The app served over real HTTP on 127.0.0.1 (threaded), as `http://127.0.0.1:PORT`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def records(app):
    """A function returning every record (flushed first), oldest first, as dicts."""

    def fetch() -> list[dict]:
        assert app.extensions["proxy"].recorder.flush(10), "records were not written in time"
        return list(models.RequestLog.select().order_by(models.RequestLog.timestamp_ms).dicts())

    return fetch
