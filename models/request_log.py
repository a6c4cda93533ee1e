"""The record of one proxied request: typed columns for everything filtered or summed, bodies apart."""
import functools
import operator

import peewee

from models import body_store
from models.db import database

# What became of a request. `in_flight` rows are being proxied right now;
# `interrupted` rows were left unfinished by a process that died.
OUTCOMES = (
    "in_flight", "complete", "upstream_error", "stream_error", "upstream_dropped",
    "upstream_timeout", "client_disconnected", "rejected", "proxy_error", "shutdown", "interrupted",
)
# Why a record has no bodies: the body capture setting left them out, the record queue was over
# its byte budget (a long database outage) and dropped them to keep the typed row, or the database
# refused the record as it was and it was stored repaired (texts escaped to ASCII) without them,
# or BODY_RETENTION_DAYS removed them (with the headers) from a record kept for its typed columns.
BODIES_OMITTED = ("capture", "backlog", "refused", "retention")


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class RequestLog(BaseModel):
    """One row per proxied request; timestamps are UTC epoch milliseconds."""

    id = peewee.CharField(primary_key=True, max_length=32)
    timestamp_ms = peewee.BigIntegerField()  # indexed by schema step 3's covering indexes
    method = peewee.CharField(max_length=16)
    endpoint = peewee.CharField(max_length=512)
    query = peewee.TextField(default="")
    original_model = peewee.CharField(max_length=200, null=True)
    routed_model = peewee.CharField(max_length=200, null=True)
    provider = peewee.CharField(max_length=100, null=True)
    routing_rule = peewee.CharField(max_length=200, null=True)
    user_agent = peewee.TextField(null=True)
    content_type = peewee.CharField(max_length=200, null=True)
    conversation_hash = peewee.CharField(max_length=32, null=True, index=True)
    message_count = peewee.IntegerField(null=True)
    session_id = peewee.CharField(max_length=100, null=True, index=True)
    agent_id = peewee.CharField(max_length=100, null=True)
    api_key_fingerprint = peewee.CharField(max_length=32, null=True)
    is_streaming = peewee.BooleanField(default=False)
    request_bytes = peewee.IntegerField(default=0)

    outcome = peewee.CharField(max_length=24, default="in_flight", index=True)
    status_code = peewee.IntegerField(null=True)
    ttfb_ms = peewee.IntegerField(null=True)
    response_time_ms = peewee.IntegerField(null=True)
    completed_at_ms = peewee.BigIntegerField(null=True)
    response_bytes = peewee.IntegerField(null=True)
    upstream_request_id = peewee.CharField(max_length=100, null=True)
    stream_error = peewee.TextField(null=True)
    stop_reason = peewee.CharField(max_length=40, null=True)
    # Added by schema step 4. A truncated body is stored cut at the body size cap; request_bytes
    # and response_bytes keep the full sizes.
    request_body_truncated = peewee.BooleanField(default=False)
    response_body_truncated = peewee.BooleanField(default=False)
    bodies_omitted = peewee.CharField(max_length=16, null=True)
    instance_id = peewee.CharField(max_length=32, null=True)  # the process that wrote it (schema step 4)

    input_tokens = peewee.BigIntegerField(default=0)
    output_tokens = peewee.BigIntegerField(default=0)
    cache_creation_input_tokens = peewee.BigIntegerField(default=0)
    cache_read_input_tokens = peewee.BigIntegerField(default=0)
    service_tier = peewee.CharField(max_length=40, null=True)
    # Added by schema step 7. The cache write split is None on rows recorded before it (and on
    # responses without `cache_creation`): their writes are priced as 5-minute writes, marked estimated.
    cache_write_5m_tokens = peewee.BigIntegerField(null=True)
    cache_write_1h_tokens = peewee.BigIntegerField(null=True)
    web_search_requests = peewee.IntegerField(default=0)
    web_fetch_requests = peewee.IntegerField(default=0)
    inference_geo = peewee.CharField(max_length=40, null=True)
    speed = peewee.CharField(max_length=40, null=True)
    iterations = peewee.TextField(null=True)  # JSON: advisor / fallback iterations, each with its model
    iteration_count = peewee.SmallIntegerField(default=0)  # how many: indexable, where the JSON is not

    organization_id = peewee.CharField(max_length=100, null=True)
    requests_limit = peewee.IntegerField(null=True)
    requests_remaining = peewee.IntegerField(null=True)
    requests_reset = peewee.CharField(max_length=40, null=True)
    tokens_limit = peewee.BigIntegerField(null=True)
    tokens_remaining = peewee.BigIntegerField(null=True)
    tokens_reset = peewee.CharField(max_length=40, null=True)
    unified_status = peewee.CharField(max_length=40, null=True)
    unified_5h_utilization = peewee.FloatField(null=True)
    unified_5h_reset = peewee.CharField(max_length=40, null=True)
    unified_7d_utilization = peewee.FloatField(null=True)
    unified_7d_reset = peewee.CharField(max_length=40, null=True)


class RequestBody(BaseModel):
    """The bulky half of a record (redacted headers and bodies), kept apart so stats scan narrow rows.

    Rows written since schema step 6 leave the text columns empty and list their pieces in `pieces`
    (models.body_store); older rows keep their texts in the columns."""

    request = peewee.ForeignKeyField(RequestLog, primary_key=True, on_delete="CASCADE", backref="body")
    request_headers = peewee.TextField(default="{}")
    request_body = peewee.TextField(default="")
    response_headers = peewee.TextField(null=True)
    response_body = peewee.TextField(null=True)
    response_message = peewee.TextField(null=True)
    pieces = peewee.BlobField(null=True)


def _upsert_sql(model, rows: int = 1, numbered: bool = False) -> str:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE of `rows` rows for every column of `model`
    (SQLite 3.24+ and Postgres); `numbered` writes libpq's $1, $2... instead of the driver's marker."""
    if numbered:
        return _numbered_upsert_sql(model, rows)
    width = len(model._meta.sorted_fields)
    return _upsert_sql_with(model, ["(" + ", ".join([database.param] * width) + ")"] * rows)


@functools.lru_cache(maxsize=512)
def _numbered_upsert_sql(model, rows: int) -> str:
    # Cached: a batch's statement numbers thousands of markers, all on the gevent hub.
    width = len(model._meta.sorted_fields)
    return _upsert_sql_with(model, ["(" + ", ".join(f"${row * width + n}" for n in range(1, width + 1)) + ")"
                                    for row in range(rows)])


def _upsert_sql_with(model, groups: list[str]) -> str:
    key_column = model._meta.primary_key.column_name
    columns = [field.column_name for field in model._meta.sorted_fields]
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != key_column)
    table = model._meta.table_name
    # A record replayed late (from the spool, or after a retry) never turns a finished row back
    # into an in-flight one: an in-flight row only fills a gap.
    keep_finished = (f' WHERE "{table}"."outcome" = \'in_flight\' OR EXCLUDED."outcome" != \'in_flight\''
                     if model is RequestLog else "")
    return (f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
            f'VALUES {", ".join(groups)} ON CONFLICT ("{key_column}") DO UPDATE SET {updates}{keep_finished}')


class _Columns:
    """A model's columns as a batch writes them: names in order, defaults, and the length limits."""

    def __init__(self, model):
        fields = model._meta.sorted_fields
        # What a row that leaves a column out stores there (in-flight rows carry no capture flags).
        self.defaults = {field.name: field.default for field in fields}
        self.values = operator.itemgetter(*self.defaults)
        # Clients choose several of these values (model, path, session and agent ids): one too long
        # for its column made Postgres refuse the whole batch.
        self.limits = [(index, field.max_length) for index, field in enumerate(fields)
                       if isinstance(field, peewee.CharField) and field.max_length]
        # The narrow row's texts, many parsed from a client's JSON, are made storable (see
        # `storable_text`); the bodies are decoded from bytes, which never yields a lone surrogate.
        self.texts = [index for index, field in enumerate(fields)
                      if isinstance(field, (peewee.CharField, peewee.TextField))] if model is RequestLog else []


_COLUMNS = {model: _Columns(model) for model in (RequestLog, RequestBody)}


# Values bound per multi-row statement (SQLite allows 32,766 since 3.32).
MAX_PARAMETERS = 30_000


def storable_text(value: str) -> str:
    """`value` as every database stores it: a lone surrogate (JSON's "\\ud800") written as its escape,
    NUL as U+FFFD. Either made a whole batch fail to encode, and with it other clients' records."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _parameter_rows(model, rows: list[dict]) -> list[list]:
    # Every column of every row of a batch passes here on the gevent hub: one C-level lookup a row,
    # then a look at the text columns (short, in the narrow row) and the length limits.
    columns = _COLUMNS[model]
    parameters = []
    for row in rows:
        values = list(columns.values({**columns.defaults, **row}))
        for index in columns.texts:
            value = values[index]
            if type(value) is str and (not value.isascii() or "\x00" in value):
                values[index] = storable_text(value)
        for index, limit in columns.limits:
            value = values[index]
            if type(value) is str and len(value) > limit:
                values[index] = value[:limit]
        parameters.append(values)
    return parameters


def record_statements(logs: list[dict], bodies: list[dict], numbered: bool = False):
    """The same batch as a few multi-row upserts: a generator of (SQL, parameters), to which the rows
    of each SELECT are sent back (see `run_statements`); the last row given for an id wins. For the
    native writers, to which each statement costs a hand-over of the GIL; `numbered` for libpq's $n
    markers (the Postgres writer)."""
    # Not through psycopg's cursors: psycopg parses a statement this long anew each time (it caches
    # only short ones), which cost a worker more than the rows saved.
    for model, rows in ((RequestLog, logs), (RequestBody, bodies)):
        key = model._meta.primary_key.name
        rows = list({row[key]: row for row in rows}.values())
        if model is RequestBody and rows:  # the pieces first, counted once per record (a generator too)
            rows = yield from body_store.piece_statements(rows, database.param, numbered, MAX_PARAMETERS)
        per_statement = max(1, MAX_PARAMETERS // len(model._meta.sorted_fields))
        for start in range(0, len(rows), per_statement):
            part = _parameter_rows(model, rows[start:start + per_statement])
            yield _upsert_sql(model, len(part), numbered), [value for row in part for value in row]


def run_statements(statements, execute) -> None:
    """Run `record_statements` (or a list of statements) through `execute(sql, parameters)`, which
    returns a SELECT's rows."""
    if not hasattr(statements, "send"):
        for sql, parameters in statements:
            execute(sql, parameters)
        return
    rows = None
    while True:
        try:
            sql, parameters = statements.send(rows)
        except StopIteration:
            return
        rows = execute(sql, parameters)


def save_records(logs: list[dict], bodies: list[dict]) -> None:
    """Write a batch of records in one transaction; a later row for an id replaces the earlier one;
    a column a row leaves out gets the model's default."""
    # Hand-built SQL (the native writers' statements): peewee's query builder is slow per record,
    # and all of it blocks every stream of a gevent worker.
    # The wrapper turns driver errors into peewee's, which the recorder retries.
    with peewee.__exception_wrapper__, database.atomic():
        cursor = database.cursor()

        def execute(sql: str, parameters: list):
            cursor.execute(sql, parameters)
            return cursor.fetchall() if sql.startswith("SELECT") else None

        run_statements(record_statements(logs, bodies), execute)
