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
