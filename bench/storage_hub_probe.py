"""Hub CPU per record under gevent (run by bench.storage_suite in its own process): the calling
greenlet's thread time around SqliteWriter.save, for the 120-turn session's records.

"text, on the hub" builds the statements the way the writers did before body pieces (texts in the
body row's columns, statements built on the hub); "pieces, on the writer" is the code as it is."""
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import models  # noqa: E402
from bench.claude_session import session  # noqa: E402
from bench.report import summary  # noqa: E402
from models import request_log  # noqa: E402
from proxy.recording.sqlite_writer import SqliteWriter  # noqa: E402
from tests.records import body_row, log_row  # noqa: E402


def _text_statements(logs, bodies):
    statements = []
    for model, rows in ((request_log.RequestLog, logs), (request_log.RequestBody, bodies)):
        part = request_log._parameter_rows(model, rows)
        statements.append((request_log._upsert_sql(model, len(part)), [v for row in part for v in row]))
    return statements


def main() -> None:
    calls = session(120)
    results = {}
    for name in ("text, on the hub", "pieces, on the writer"):
        path = tempfile.mktemp(suffix=".db")
        models.init_db(f"sqlite:///{path}")
        models.migrate()
        writer = SqliteWriter(path)
        writer.start()
        samples = []
        for index, call in enumerate(calls):
            logs = [log_row(f"h{index}")]
            bodies = [body_row(f"h{index}", request_headers=call.request_headers,
                               request_body=call.request_body.decode(), response_headers=call.response_headers,
                               response_body=call.response_body.decode(), response_message=call.response_message)]
            began = time.thread_time()
            if name.startswith("text"):
                writer.commit(_text_statements(logs, bodies))
            else:
                writer.save(logs, bodies)
            samples.append((time.thread_time() - began) * 1e6)
        writer.stop()
        results[name] = summary(samples)  # µs of the hub's thread per record
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
