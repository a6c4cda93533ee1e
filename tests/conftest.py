"""Shared fixtures: the fake upstream, apps on fresh databases, live proxy servers, records.

The suite runs twice in `make test`: on SQLite, then with TEST_DATABASE=postgres on a throwaway
PostgreSQL (tests marked `sqlite_only` examine an SQLite file and run in the first pass only;
`postgres_only` ones fault Postgres clusters of their own and run in the second pass only).
"""
import dataclasses
import os
import threading
import time

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
def database_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or with TEST_DATABASE=postgres a Postgres database."""
    if os.environ.get("TEST_DATABASE") == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path}/proxy.db"


@pytest.fixture
def config(upstream, database_url, tmp_path):
    """A config pointing at the fake upstream, a fresh database and an empty transcript folder, with
    short timeouts."""
    return Config(upstream_url=upstream.url, database_url=database_url,
                  upstream_connect_timeout=2.0, upstream_read_timeout=2.0,
                  claude_projects_dir=str(tmp_path / "claude-projects"), spool_dir=str(tmp_path / "spool"))


@pytest.fixture
def make_app(config):
    """Build an app on a migrated database, from the test config with some fields replaced."""
    built = []

    def build(migrate=True, **overrides):
        application = create_app(dataclasses.replace(config, **overrides))
        if migrate:
            models.migrate()
        built.append(application)
        return application

    yield build
    for application in built:
        application.extensions["proxy"].close(timeout=2)
        if "retention" in application.extensions:
            application.extensions["retention"].stop()
    models.database.close()


@pytest.fixture
def app(make_app):
    """The proxy app on a migrated database."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def serve():
    """Serve an app over real HTTP on 127.0.0.1 (threaded); returns its base URL."""
    servers = []

    def start(application) -> str:
        server = make_server("127.0.0.1", 0, application, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_proxy(app, serve):
    """The app served over real HTTP, as `http://127.0.0.1:PORT`."""
    return serve(app)


@pytest.fixture
def records(app):
    """A function returning every record (flushed first), oldest first, as dicts."""

    def fetch(settle: bool = True) -> list[dict]:
        service = app.extensions["proxy"]
        # A client can have the whole body before the server thread closes the response and
        # submits the final record: let requests that are settling finish first.
        deadline = time.monotonic() + 2
        while settle and service.traffic.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.recorder.flush(10), "records were not written in time"
        return list(models.RequestLog.select().order_by(models.RequestLog.timestamp_ms).dicts())

    return fetch
