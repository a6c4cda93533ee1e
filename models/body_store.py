"""Deduplicated body storage: each distinct piece once, compressed, counted by the records that use it.

A body row keeps a list of its pieces' keys (`pieces`) instead of its texts. A piece's `refs` is
the number of records whose lists name it; a writer adds its records' counts in the same
transaction that writes their lists (only for a record whose stored list differs: writes are
idempotent per record, see `claim_statements`), and a sweep subtracts the counts of the records it deletes and
removes the pieces left at zero. A writer always sends a piece's bytes with its count, so a piece a
concurrent sweep removes is stored again by the writer's upsert (Postgres waits on the row lock and
then inserts); both lock pieces in key order, so they never deadlock.

Building the rows runs on the recorder's native writer thread: no logging, no locks, no peewee calls.
"""
import collections

import peewee
import zstandard

from models import body_pieces
from models.body_pieces import FIELDS, INLINE_BELOW, json_cuts, key_of, pack
from models.db import database

# A piece packed recently, by key: a session's history is re-sent (and would be re-compressed) every turn.
PACKED_CACHE_BYTES = 32 * 1024 * 1024
LOCK_BATCH = 1000  # pieces a sweep statement names at once
READ_BATCH = 30_000  # keys a SQLite read binds at once (its limit is 32,766)
# Decompressors not in use: reads reuse them (and their buffers); deque's pop and append are atomic.
_IDLE_DECOMPRESSORS = collections.deque()
_DEFAULTS = {"request_headers": "{}", "request_body": "", "response_headers": None, "response_body": None,
             "response_message": None}


class BodySegment(peewee.Model):
    """One distinct piece of a body or headers: its key, how many records use it, its stored bytes."""

    hash = peewee.BlobField(primary_key=True)
    refs = peewee.BigIntegerField(default=0)
    size = peewee.BigIntegerField()  # bytes before compression
    data = peewee.BlobField()        # a codec byte, then the (compressed) piece

    class Meta:
        database = database
        table_name = "body_segment"


class _PackedCache:
    """Packed pieces by key, oldest dropped first past `max_bytes`; used from one writer thread."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.held, self.items = max_bytes, 0, {}

    def get(self, key: bytes, piece: bytes, compressor) -> bytes:
        packed = self.items.get(key)
        if packed is None:
            packed = pack(piece, compressor)
            self.items[key] = packed
            self.held += len(packed)
            while self.held > self.max_bytes and self.items:
                self.held -= len(self.items.pop(next(iter(self.items))))
        return packed


_PACKED = _PackedCache(PACKED_CACHE_BYTES)


def stored_rows(bodies: list[dict]) -> tuple[list[dict], dict, dict]:
    """Body rows as stored (the texts left empty, `pieces` listing them), the pieces they name
    (key -> [size, stored bytes]) and each record's distinct keys (request id -> set)."""
    compressor = zstandard.ZstdCompressor(level=body_pieces.LEVEL)  # not thread-safe: one per batch
    packed: dict[bytes, list] = {}
    rows, keys_by_request = [], {}
    for body in bodies:
        fields, keys = [], set()
        for name in FIELDS:
            kind, data = body_pieces.as_bytes(body.get(name, _DEFAULTS[name]))
            entries = []
            for piece in body_pieces.pieces(data, json_cuts(data) if name == "request_body" else []):
                if len(piece) < INLINE_BELOW:
                    entries.append(piece)
                    continue
                key = key_of(piece)
                entries.append((key,))
                keys.add(key)
                if key not in packed:
                    packed[key] = [len(piece), _PACKED.get(key, piece, compressor)]
            fields.append((kind, entries))
        keys_by_request[body["request"]] = keys
        rows.append({"request": body["request"], "request_headers": "", "request_body": "",
                     "response_headers": None, "response_body": None, "response_message": None,
                     "pieces": body_pieces.encode_list(fields)})
    return rows, packed, keys_by_request


def piece_statements(bodies: list[dict], marker: str, numbered: bool, max_parameters: int):
    """A generator of the statements that store the pieces of `bodies` and count them, to which the
    rows of its SELECT are sent back; returns the body rows as stored."""
    rows, packed, keys_by_request = stored_rows(bodies)
    stored = {}
    ids = sorted(row["request"] for row in rows)  # locked in id order: two batches never deadlock
    for sql, parameters in claim_statements(ids, marker, numbered, max_parameters):
        read = yield sql, parameters
        # libpq's binary rows (the Postgres writer) give the id as bytes
        stored.update((request_id if isinstance(request_id, str) else bytes(request_id).decode(), pieces)
                      for request_id, pieces in read or ())
    for statement in segment_statements(reference_changes(rows, keys_by_request, stored), packed, marker, numbered,
                                        max_parameters):
        yield statement  # not `yield from`: that would hand the writer's replies to a list
    return rows


def claim_statements(ids: list[str], marker: str, numbered: bool, max_parameters: int) -> list[tuple[str, list]]:
    """Take the records' body rows (a placeholder for a new one) and lock them, then read their lists.

    Holding the rows makes counting idempotent per record: a replayed write, or two workers writing
    one record, finds the list already stored and adds nothing; a sweep deleting the row waits."""
    statements = []
    for start in range(0, len(ids), max_parameters):
        part = ids[start:start + max_parameters]
        rows = ", ".join(f"({value}, '', '')" for value in _markers(len(part), marker, numbered))
        statements.append(('INSERT INTO "request_body" ("request_id", "request_headers", "request_body") VALUES '
                           + rows + ' ON CONFLICT ("request_id") DO UPDATE SET "pieces" = "request_body"."pieces"',
                           part))
    for start in range(0, len(ids), max_parameters):
        part = ids[start:start + max_parameters]
        statements.append(('SELECT "request_id", "pieces" FROM "request_body" WHERE "request_id" IN ('
                           + ", ".join(_markers(len(part), marker, numbered)) + ")", part))
    return statements


def reference_changes(rows: list[dict], keys_by_request: dict, stored: dict) -> collections.Counter:
    """How each piece's count changes when `rows` replace the lists `stored` (request id -> list or
    None): a new record adds its pieces, a changed one swaps them, one stored as it is changes nothing."""
    changes = collections.Counter()
    for row in rows:
        old = stored.get(row["request"])
        if old is not None and bytes(old) == row["pieces"]:
            continue  # written before (a replayed write): its pieces are counted already
        changes.update(keys_by_request[row["request"]])
        if old is not None:
            changes.subtract(body_pieces.keys_in(bytes(old)))
    return changes


def segment_statements(changes: collections.Counter, packed: dict, marker: str, numbered: bool,
                       max_parameters: int) -> list[tuple[str, list]]:
    """Multi-row upserts adding counts, stored bytes sent for a piece removed meanwhile, in key order;
    then the counts a changed record gave back, and the pieces left at zero removed."""
    added = [[key, changes[key], *packed[key]] for key in sorted(changes) if changes[key] > 0]
    statements, per_statement = [], max(1, max_parameters // 4)
    for start in range(0, len(added), per_statement):
        part = added[start:start + per_statement]
        markers = _markers(4 * len(part), marker, numbered)
        groups = [f"({', '.join(markers[4 * i:4 * i + 4])})" for i in range(len(part))]
        sql = ('INSERT INTO "body_segment" ("hash", "refs", "size", "data") VALUES ' + ", ".join(groups)
               + ' ON CONFLICT ("hash") DO UPDATE SET "refs" = "body_segment"."refs" + EXCLUDED."refs"')
        statements.append((sql, [value for row in part for value in row]))
    given_back = sorted(key for key in changes if changes[key] < 0)  # only a record written anew, changed
    update = ('UPDATE "body_segment" SET "refs" = "refs" - {} WHERE "hash" = {}'
              .format(*_markers(2, marker, numbered)))
    statements += [(update, [-changes[key], key]) for key in given_back]
    for start in range(0, len(given_back), max_parameters):
        part = given_back[start:start + max_parameters]
        statements.append(('DELETE FROM "body_segment" WHERE "refs" <= 0 AND "hash" IN ('
                           + ", ".join(_markers(len(part), marker, numbered)) + ")", part))
    return statements


def _markers(count: int, marker: str, numbered: bool) -> list[str]:
    """`count` parameter markers: the driver's, or libpq's $1, $2..."""
    return [f"${n}" for n in range(1, count + 1)] if numbered else [marker] * count


def load(blob: bytes, names: tuple = FIELDS) -> dict:
    """The fields `names` of a stored body row from its list, each as (kind, the exact bytes stored);
    BodyCorrupt when a piece is missing or altered."""
    fields = dict(zip(FIELDS, body_pieces.decode_list(blob)))
    wanted = [(name, *fields[name]) for name in names]
    stored = _stored_pieces(sorted({entry[0] for _, _, entries in wanted for entry in entries
                                    if isinstance(entry, tuple)}))
    decompressor = _IDLE_DECOMPRESSORS.pop() if _IDLE_DECOMPRESSORS else zstandard.ZstdDecompressor()
    try:
        values = {}
        for name, kind, entries in wanted:
            parts = []
            for entry in entries:
                if not isinstance(entry, tuple):
                    parts.append(entry)
                elif entry[0] in stored:
                    parts.append(body_pieces.unpack(stored[entry[0]], entry[0], decompressor))
                else:
                    raise body_pieces.BodyCorrupt(f"piece {entry[0].hex()} is missing")
            values[name] = (kind, b"".join(parts))
        return values
    finally:
        _IDLE_DECOMPRESSORS.append(decompressor)


def _stored_pieces(keys: list[bytes]) -> dict[bytes, bytes]:
    """The stored values of the pieces `keys` that exist, by key: one query for a record's pieces."""
    stored = {}
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        # One array parameter (a short statement psycopg prepares once), bytea sent in binary.
        cursor = database.cursor()
        cursor.execute('SELECT "hash", "data" FROM "body_segment" WHERE "hash" = ANY(%s)', [keys], binary=True)
        batches = [cursor.fetchall()]
    else:  # plain SQL: peewee's builder spent milliseconds on a list of hundreds of keys
        batches = (database.execute_sql('SELECT "hash", "data" FROM "body_segment" WHERE "hash" IN ('
                                        + ", ".join([database.param] * len(keys[start:start + READ_BATCH])) + ")",
                                        keys[start:start + READ_BATCH]).fetchall()
                   for start in range(0, len(keys), READ_BATCH))
    for rows in batches:
        for key, data in rows:
            stored[bytes(key)] = bytes(data)
    return stored


def release(blobs: list[bytes]) -> int:
    """Subtract the counts of the records whose lists are `blobs` (being deleted in the caller's
    transaction) and remove the pieces no record uses any more; returns how many were removed."""
    counts = collections.Counter()
    for blob in blobs:
        if blob is not None:
            counts.update(body_pieces.keys_in(blob))
    ordered, removed = sorted(counts), 0
    postgres = isinstance(database.obj, peewee.PostgresqlDatabase)
    for start in range(0, len(ordered), LOCK_BATCH):
        chunk = ordered[start:start + LOCK_BATCH]
        if postgres:  # in key order, as writers take them: no deadlock
            list(BodySegment.select(BodySegment.hash).where(BodySegment.hash.in_(chunk))
                 .order_by(BodySegment.hash).for_update().tuples())
        by_amount = collections.defaultdict(list)
        for key in chunk:
            by_amount[counts[key]].append(key)
        for amount, keys in by_amount.items():
            BodySegment.update(refs=BodySegment.refs - amount).where(BodySegment.hash.in_(keys)).execute()
        removed += BodySegment.delete().where(BodySegment.hash.in_(chunk), BodySegment.refs <= 0).execute()
    return removed
