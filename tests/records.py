"""Factories for record rows, for tests that write the database directly."""
import time

import models


def log_row(request_id: str, **fields) -> dict:
    """A complete RequestLog row with sensible defaults; `fields` override columns."""
    row = {field.name: field.default for field in models.RequestLog._meta.sorted_fields}
    row.update(id=request_id, timestamp_ms=int(time.time() * 1000), method="POST", endpoint="/v1/messages",
               query="", original_model="claude-test", routed_model="claude-test", outcome="complete")
    row.update(fields)
    return row


def body_row(request_id: str, **fields) -> dict:
    """A RequestBody row for `request_id`."""
    row = {"request": request_id, "request_headers": "{}", "request_body": "{}",
           "response_headers": None, "response_body": None, "response_message": None}
    row.update(fields)
    return row


def stored_body(request_id: str):
    """The record's headers and bodies as the API reads them back (models.record_bodies)."""
    from models.record_bodies import record_body
    return record_body(request_id)


def save_legacy_records(logs: list[dict], bodies: list[dict]) -> None:
    """Write rows as the schema before step 6 did: bodies as texts in RequestBody's own columns."""
    db = models.database
    for table, rows in (("request_log", logs), ("request_body", bodies)):
        present = {column.name for column in db.get_columns(table)}
        for row in rows:
            row = {("request_id" if key == "request" else key): value for key, value in row.items()}
            row = {key: value for key, value in row.items() if key in present}
            db.execute_sql(f'INSERT INTO "{table}" ({", ".join(chr(34) + k + chr(34) for k in row)}) '
                           f'VALUES ({", ".join([db.param] * len(row))})', list(row.values()))
