"""The fuzz suite's one live server: gunicorn -k gevent on a fresh database (SQLite, or Postgres with
TEST_DATABASE=postgres), relaying to its own fake upstream, beside the sentinel listener."""
import os

import pytest

from tests.fuzz.live_proxy import LiveProxy
from tests.postgres import create_database, drop_database


@pytest.fixture(scope="session")
def new_fuzz_database(request, tmp_path_factory):
    """A function returning the URL of a new, empty database at each call (all dropped at the end)."""
    made = []
    server = request.getfixturevalue("postgres_server") if os.environ.get("TEST_DATABASE") == "postgres" else None

    def new() -> str:
        url = create_database(server) if server else f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/proxy.db"
        made.append(url)
        return url

    yield new
    for url in made if server else ():
        drop_database(url)


@pytest.fixture(scope="session")
def proxy_under_fuzz(new_fuzz_database):
    """The server under fuzz, started once for every fuzz test (and again after one breaks it)."""
    proxy = LiveProxy(new_fuzz_database)
    yield proxy
    assert proxy.stop() == 0, "gunicorn did not stop cleanly after the fuzzing"
