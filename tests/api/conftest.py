"""The API tests run against SQLite and against a real PostgreSQL."""
import dataclasses

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def config(request, config):
    if request.param == "sqlite":
        return config
    return dataclasses.replace(config, database_url=request.getfixturevalue("postgres_url"))
