"""The database handle: one DatabaseProxy, bound once at start-up from a URL."""
from urllib.parse import parse_qsl, unquote, urlparse

import peewee
from playhouse.pool import PooledPostgresqlDatabase

database = peewee.DatabaseProxy()

# WAL lets the dashboard read while the recorder writes. The busy timeout is short
# on purpose: under gevent a waiting SQLite call blocks the whole worker, so the
# recorder retries with cooperative sleeps instead of letting SQLite spin.
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1}
SQLITE_BUSY_TIMEOUT = 0.1


def open_database(url: str, pool_size: int = 8) -> peewee.Database:
    """Build a Peewee database from `sqlite:///path` or `postgres[ql]://...` (Heroku's form too)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        return peewee.SqliteDatabase(
            path or ":memory:", pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT,
            check_same_thread=False,
        )
    if parsed.scheme in ("postgres", "postgresql"):
        # Query parameters are libpq settings (sslmode=require, sslrootcert, application_name...):
        # managed databases need them, and they override the defaults here.
        settings = {"user": unquote(parsed.username) if parsed.username else None,
                    "password": unquote(parsed.password) if parsed.password else None,
                    "host": parsed.hostname, "port": parsed.port, "connect_timeout": 5,
                    **dict(parse_qsl(parsed.query))}
        return PooledPostgresqlDatabase(unquote(parsed.path[1:]), max_connections=pool_size,
                                        stale_timeout=300, timeout=10, **settings)
    raise ValueError(f"unsupported DATABASE_URL scheme {parsed.scheme!r}: use sqlite:/// or postgres://")


def init_db(url: str, pool_size: int = 8) -> peewee.Database:
    """Bind the shared database handle to the database at `url` and return it."""
    db = open_database(url, pool_size)
    database.initialize(db)
    return db
