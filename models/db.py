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
        settings = {"user": unquote(parsed.username) if parsed.username else None,
                    "password": unquote(parsed.password) if parsed.password else None,
                    "host": parsed.hostname, "port": parsed.port, "connect_timeout": 5,
                    **libpq_settings(parsed.query)}
        name = settings.pop("dbname", None) or unquote(parsed.path[1:])
        return PooledPostgresqlDatabase(name, max_connections=pool_size, stale_timeout=300, timeout=10,
                                        **settings)
    raise ValueError(f"unsupported DATABASE_URL scheme {parsed.scheme!r}: use sqlite:/// or postgres://")


def libpq_settings(query: str) -> dict[str, str]:
    """A Postgres URL's query parameters: libpq settings (sslmode=require, application_name...)."""
    from psycopg import pq  # Postgres users only

    settings = dict(parse_qsl(query))
    known = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    # Anything else would reach the pool as one of its own arguments, or fail later, in one
    # connection and not the other: a typo is an error at start-up.
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"DATABASE_URL has parameters libpq does not know: {', '.join(unknown)}")
    return settings


def init_db(url: str, pool_size: int = 8) -> peewee.Database:
    """Bind the shared database handle to the database at `url` and return it."""
    db = open_database(url, pool_size)
    database.initialize(db)
    return db
