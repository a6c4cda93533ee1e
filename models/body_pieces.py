"""How a record's bodies are cut into content-addressed pieces, packed, and listed again. Pure, no I/O.

A request body is cut where its top-level `system` and `tools` values start and end and where each
`messages[i]` starts: Claude Code re-sends the whole conversation every turn, so all but the newest
pieces were stored by an earlier turn (bench/storage_designs.py measured the alternatives). The
pieces of a value always join back into its exact bytes, wherever the cuts fall.
"""
import blake3
import msgspec
import zstandard

KEY_BYTES = 16       # BLAKE3 output kept as a piece's key: 2^64 work for a collision, 2^128 to hit a given piece
INLINE_BELOW = 64    # a piece this small sits in the record's list, not in a row of its own
LEVEL = 3            # zstd level; 9 saved 1 % more at the same ratio (bench/storage_designs.py)
VERSION = 1          # first byte of a record's list
# The body row's columns whose values are stored as pieces, in the order the list holds them.
FIELDS = ("request_headers", "request_body", "response_headers", "response_body", "response_message")
NONE, TEXT, BYTES = 0, 1, 2  # what a field held: nothing, text (read back as text), relayed bytes
_RAW, _ZSTD = b"\x00", b"\x01"  # first byte of a stored piece


class BodyCorrupt(ValueError):
    """A stored piece is missing or does not hash to its key."""


def key_of(piece: bytes) -> bytes:
    """The piece's key: its BLAKE3 hash, cut to KEY_BYTES."""
    return blake3.blake3(piece).digest(KEY_BYTES)


def json_cuts(body: bytes) -> list[int]:
    """Offsets where a JSON object's top-level system and tools values start and end, and each
    messages[i] starts; none for anything else."""
    if not body.startswith(b"{"):
        return []
    try:
        top = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
        cuts, cursor = [], 0
        for name, raw in top.items():
            value = bytes(raw)
            start = body.find(value, cursor)  # values come in document order; a cut is only a hint
            if start < 0:
                break
            if name == "messages" and value.startswith(b"["):
                inner = start
                for item in msgspec.json.decode(value, type=list[msgspec.Raw]):
                    inner = body.find(bytes(item), inner)
                    cuts.append(inner)
                    inner += len(item)
            elif name in ("system", "tools"):
                cuts += [start, start + len(value)]
            cursor = start + len(value)
        return cuts
    except (msgspec.DecodeError, RecursionError, ValueError):
        return []


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at `cuts` (any offsets): the pieces join back into `data`."""
    points = [0, *sorted({cut for cut in cuts if 0 < cut < len(data)}), len(data)]
    return [data[start:end] for start, end in zip(points, points[1:])]


def pack(piece: bytes, compressor: zstandard.ZstdCompressor) -> bytes:
    """A piece as stored: zstd-compressed, or raw when that is no smaller."""
    compressed = compressor.compress(piece)
    return _ZSTD + compressed if len(compressed) < len(piece) else _RAW + piece


def unpack(stored: bytes, key: bytes, decompressor: zstandard.ZstdDecompressor) -> bytes:
    """The piece a stored value holds, checked against its key."""
    piece = stored[1:] if stored[:1] == _RAW else decompressor.decompress(stored[1:])
    if key_of(piece) != key:
        raise BodyCorrupt(f"piece {key.hex()} does not match its key")
    return piece


def as_bytes(value) -> tuple[int, bytes]:
    """A column value as (kind, bytes): text round-trips exactly, lone surrogates included."""
    if value is None:
        return NONE, b""
    if isinstance(value, str):
        return TEXT, value.encode("utf-8", "surrogatepass")
    return BYTES, bytes(value)


def _varint(out: bytearray, number: int) -> None:
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)


def _read_varint(blob: bytes, at: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        byte = blob[at]
        at += 1
        number |= (byte & 0x7F) << shift
        if byte < 0x80:
            return number, at
        shift += 7


def encode_list(fields: list[tuple[int, list[bytes | tuple]]]) -> bytes:
    """A record's list: per field its kind and entries, each a key (a 1-tuple) or a literal piece."""
    out = bytearray([VERSION])
    for kind, entries in fields:
        out.append(kind)
        if kind == NONE:
            continue
        _varint(out, len(entries))
        for entry in entries:
            if isinstance(entry, tuple):
                out.append(0)
                out += entry[0]
            else:
                _varint(out, len(entry) + 1)
                out += entry
    return bytes(out)


def decode_list(blob: bytes) -> list[tuple[int, list[bytes | tuple]]]:
    """The fields `encode_list` wrote."""
    blob = bytes(blob)
    if not blob or blob[0] != VERSION:
        raise BodyCorrupt(f"unknown list format {blob[:1]!r}")
    fields, at = [], 1
    for _ in FIELDS:
        kind = blob[at]
        at += 1
        entries = []
        if kind != NONE:
            count, at = _read_varint(blob, at)
            for _ in range(count):
                size, at = _read_varint(blob, at)
                if size == 0:
                    entries.append((blob[at:at + KEY_BYTES],))
                    at += KEY_BYTES
                else:
                    entries.append(blob[at:at + size - 1])
                    at += size - 1
        fields.append((kind, entries))
    return fields


def keys_in(blob: bytes) -> set[bytes]:
    """The distinct keys a record's list refers to."""
    return {entry[0] for _, entries in decode_list(blob) for entry in entries if isinstance(entry, tuple)}
