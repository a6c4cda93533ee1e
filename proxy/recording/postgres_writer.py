"""The recorder's Postgres writes on a native thread: the gevent hub hands a batch over and waits.

Only psycopg.pq runs on that thread, on its own libpq connection (libpq's calls release the GIL):
peewee, psycopg.Connection and logging take locks that are gevent's under the patch, which a
native thread must not touch.
"""
import functools

import peewee
from psycopg import pq
from psycopg.conninfo import make_conninfo

from models import record_statements, run_statements
from proxy.recording.native_writer import NativeWriter, gevent_worker_database

# What the recorder does next depends on the kind of error (see Recorder._write): it retries an
# OperationalError and writes the records one by one after the others.
_ERRORS_BY_SQLSTATE_CLASS = {"22": peewee.DataError, "23": peewee.IntegrityError,
                             "42": peewee.ProgrammingError}
_DONE = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


class _Refused(Exception):
    """A statement or connection failed in the writer's thread: its SQLSTATE and libpq's message."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate


class PostgresWriter(NativeWriter):
    """Writes batches of records to Postgres from its own native thread and libpq connection."""

    def __init__(self, conninfo: str):
        super().__init__()
        self.conninfo = conninfo

    def save(self, logs: list[dict], bodies: list[dict]) -> None:
        """Write a batch in one transaction; the calling greenlet waits, the other greenlets run."""
        self._commit_as_peewee(functools.partial(record_statements, logs, bodies, numbered=True))

    def execute(self, statements: list[tuple[str, list]]) -> list[int]:
        """Run SQL written with `?` markers in one transaction; the row count of each statement."""
        return self._commit_as_peewee([(_numbered(sql), parameters) for sql, parameters in statements])

    def _commit_as_peewee(self, statements) -> list[int]:
        try:
            return self.commit(statements)
        except _Refused as exc:  # as peewee's errors, which the recorder handles
            error = _ERRORS_BY_SQLSTATE_CLASS.get(exc.sqlstate[:2], peewee.OperationalError)
            raise error(f"{exc} (SQLSTATE {exc.sqlstate})") from None

    def _connect(self) -> pq.PGconn:
        connection = pq.PGconn.connect(self.conninfo.encode())
        if connection.status != pq.ConnStatus.OK:
            message = connection.error_message.decode("utf-8", "replace").strip()
            connection.finish()
            raise _Refused("08001", message)
        return connection

    def _write(self, connection: pq.PGconn, statements) -> list[int]:
        counts = []

        def execute(sql: str, parameters: list) -> list[tuple]:
            # Encoded here, on the writer's thread (see NativeWriter.commit).
            result = _run(connection, sql.encode(), [text_parameter(value) for value in parameters])
            counts.append(int(result.command_tuples or 0))
            # A SELECT's rows (for record_statements), each value in Postgres's binary format.
            return [tuple(result.get_value(row, column) for column in range(result.nfields))
                    for row in range(result.ntuples)]

        try:
            _run(connection, b"BEGIN")
            run_statements(statements, execute)
            _run(connection, b"COMMIT")
            return counts
        except _Refused:
            raise
        except Exception as exc:  # psycopg.pq's own errors: the connection broke
            raise _Refused("08000", f"{type(exc).__name__}: {exc}") from None

    def _disconnect(self, connection: pq.PGconn) -> None:
        connection.finish()


def _run(connection: pq.PGconn, sql: bytes, parameters: list | None = None) -> pq.PGresult:
    if parameters is None:
        result = connection.exec_(sql)
    else:
        result = connection.exec_params(sql, parameters, result_format=pq.Format.BINARY)
    if result.status not in _DONE:
        sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"08000").decode()
        raise _Refused(sqlstate, result.error_message.decode("utf-8", "replace").strip())
    return result


def _numbered(sql: str) -> str:
    """SQL written with `?` markers (none inside a literal) in libpq's $1, $2... form."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def text_parameter(value) -> bytes | None:
    """A column value in Postgres's text format (the server reads it as the column's type)."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        # Postgres text cannot hold NUL; psycopg refused the whole record (a binary upload's body).
        return (value.replace("\x00", "\ufffd") if "\x00" in value else value).encode()
    if kind is bytes:
        return b"\\x" + value.hex().encode()  # bytea's hex form
    if kind is bool:
        return b"t" if value else b"f"
    if kind is float:
        return repr(value).encode()  # round-trips exactly; nan and inf as Postgres spells them too
    return str(value).encode()


def postgres_writer_for(database) -> PostgresWriter | None:
    """A native writer for a gevent worker's Postgres database; None elsewhere."""
    db = gevent_worker_database(database)
    if not isinstance(db, peewee.PostgresqlDatabase):
        return None
    return PostgresWriter(make_conninfo(dbname=db.database, **db.connect_params))
