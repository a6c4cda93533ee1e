"""What SQL a block of code runs, and how SQLite plans it: for tests that hold a query to an index."""
from contextlib import contextmanager


@contextmanager
def statements(database):
    """Collects (sql, params) of every statement `database` runs inside the block."""
    captured = []
    execute = database.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        captured.append((sql, params))
        return execute(sql, params, *args, **kwargs)

    database.execute_sql = spy
    try:
        yield captured
    finally:
        del database.execute_sql


def query_plan(database, sql: str, params) -> str:
    """SQLite's EXPLAIN QUERY PLAN of `sql`, as one line."""
    return " ".join(str(row) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
