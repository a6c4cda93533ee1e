"""Deduplicated body storage: each distinct piece once, compressed, counted by the records that use it.

A body row keeps a list of its pieces' keys (`pieces`) instead of its texts. A piece's `refs` is
the number of records whose lists name it; a writer adds its records' counts in the same
transaction that writes their lists, and a sweep subtracts the counts of the records it deletes and
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


def stored_rows(bodies: list[dict]) -> tuple[list[dict], list[list]]:
    """Body rows as stored (the texts left empty, `pieces` listing them) and the segment rows
    [key, refs, size, data] they add, in key order."""
    compressor = zstandard.ZstdCompressor(level=body_pieces.LEVEL)  # not thread-safe: one per batch
    segments: dict[bytes, list] = {}
    rows = []
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
                if key in keys:
                    continue
                keys.add(key)
                if key in segments:
                    segments[key][1] += 1
                else:
                    segments[key] = [key, 1, len(piece), _PACKED.get(key, piece, compressor)]
            fields.append((kind, entries))
        rows.append({"request": body["request"], "request_headers": "", "request_body": "",
                     "response_headers": None, "response_body": None, "response_message": None,
                     "pieces": body_pieces.encode_list(fields)})
    return rows, [segments[key] for key in sorted(segments)]


def segment_statements(segments: list[list], marker: str, numbered: bool, max_parameters: int):
    """Multi-row upserts adding the segments' counts, stored bytes sent for a piece removed meanwhile."""
    statements, per_statement = [], max(1, max_parameters // 4)
    for start in range(0, len(segments), per_statement):
        part = segments[start:start + per_statement]
        if numbered:
            groups = [f"(${4 * i + 1}, ${4 * i + 2}, ${4 * i + 3}, ${4 * i + 4})" for i in range(len(part))]
        else:
            groups = [f"({marker}, {marker}, {marker}, {marker})"] * len(part)
        sql = ('INSERT INTO "body_segment" ("hash", "refs", "size", "data") VALUES ' + ", ".join(groups)
               + ' ON CONFLICT ("hash") DO UPDATE SET "refs" = "body_segment"."refs" + EXCLUDED."refs"')
        statements.append((sql, [value for row in part for value in row]))
    return statements


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
