"""Fixtures binding the models to the test database (see `database_url` in tests/conftest.py)."""
import pytest

import models


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
