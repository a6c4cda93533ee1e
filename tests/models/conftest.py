"""The model tests run against SQLite and against a real PostgreSQL."""
import pytest

import models


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/models.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def db(database_url):
    """The bound database, with no schema yet."""
    database = models.init_db(database_url)
    yield database
    database.close()
    if hasattr(database, "close_all"):
        database.close_all()


@pytest.fixture
def migrated(db):
    """The bound database at the latest schema version."""
    models.migrate()
    return db
