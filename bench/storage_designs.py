"""Candidate designs for storing request bodies, measured on the synthetic 120-turn session.

`python -m bench.storage_designs [turns]` prints, per design, the bytes it would store per byte of
request body relayed, the CPU it spends per record to store, and the CPU to read the last body back.
Every design is checked byte-exact on every body. Designs:

- whole:  each body zstd-compressed on its own (no deduplication), the baseline.
- spans:  the JSON cut at its top-level `system` and `tools` values and at each `messages[i]`;
          each piece stored once under its BLAKE3 hash, zstd-compressed; a record keeps the list.
- cdc:    content-defined chunks of the raw bytes (FastCDC's gear hash, here in pure Python).
- delta:  zstd of each body with the session's previous body as a raw-content dictionary, a full
          copy every K bodies (a reader decompresses the chain from the last full copy).
"""
import sys
import time

import blake3
import msgspec
import zstandard

from bench.claude_session import session

HASH_BYTES = 32
ROW_BYTES = 40      # about what a row and its index entry add per stored piece (measured in the suite)
INLINE_BELOW = 64   # pieces this small sit in the record's list instead of a row of their own


def json_cuts(body: bytes) -> list[int]:
    """Offsets where the top-level system and tools values and each messages[i] start or end."""
    try:
        top = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, RecursionError):
        return []
    cuts, cursor = [], 0
    for key, raw in top.items():
        value = bytes(raw)
        start = body.find(value, cursor)
        if start < 0:
            return cuts
        if key == "messages" and value.startswith(b"["):
            inner = start
            for item in msgspec.json.decode(value, type=list[msgspec.Raw]):
                at = body.find(bytes(item), inner)
                cuts.append(at)
                inner = at + len(item)
        elif key in ("system", "tools"):
            cuts += [start, start + len(value)]
        cursor = start + len(value)
    return cuts


def pieces(body: bytes, cuts: list[int]) -> list[bytes]:
    """`body` cut at `cuts`: the pieces, which join back into `body` whatever the cuts."""
    points = [0] + sorted(set(c for c in cuts if 0 < c < len(body))) + [len(body)]
    return [body[a:b] for a, b in zip(points, points[1:])]


class PieceStore:
    """Content-addressed pieces, compressed once; counts what a database would hold."""

    def __init__(self, level: int = 3, dictionary: zstandard.ZstdCompressionDict | None = None,
                 key_bytes: int = HASH_BYTES):
        self.key_bytes = key_bytes
        self.compressor = zstandard.ZstdCompressor(level=level, dict_data=dictionary)
        self.decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)
        self.pieces: dict[bytes, bytes] = {}
        self.recipes: list[list] = []
        self.stored = 0

    def put(self, parts: list[bytes]) -> int:
        recipe = []
        for part in parts:
            if len(part) < INLINE_BELOW:
                recipe.append(part)
                self.stored += 2 + len(part)
                continue
            key = blake3.blake3(part).digest(self.key_bytes)
            if key not in self.pieces:
                self.pieces[key] = self.compressor.compress(part)
                self.stored += len(self.pieces[key]) + self.key_bytes + ROW_BYTES
            recipe.append(key)
            self.stored += 1 + self.key_bytes
        self.recipes.append(recipe)
        return len(self.recipes) - 1

    def get(self, index: int) -> bytes:
        out = []
        for entry in self.recipes[index]:
            if entry in self.pieces:
                data = self.decompressor.decompress(self.pieces[entry])
                assert blake3.blake3(data).digest(self.key_bytes) == entry
                out.append(data)
            else:
                out.append(entry)
        return b"".join(out)


def _gear() -> list[int]:
    import random
    rng = random.Random(42)
    return [rng.getrandbits(64) for _ in range(256)]


GEAR = _gear()


def cdc_cuts(body: bytes, low: int = 2048, average: int = 8192, high: int = 65536) -> list[int]:
    """FastCDC cut points (normalised chunking, two masks) over `body`."""
    hard, easy = (1 << 15) - 1 << 49, (1 << 11) - 1 << 53  # 15 and 11 bits: below and past the average
    cuts, start, n, mask64 = [], 0, len(body), (1 << 64) - 1
    while start < n:
        end, fp, i = min(start + high, n), 0, start + low
        cut = end
        while i < end:
            fp = ((fp << 1) + GEAR[body[i]]) & mask64
            if not fp & (hard if i - start < average else easy):
                cut = i + 1
                break
            i += 1
        cuts.append(cut)
        start = cut
    return cuts


def measure_pieces(bodies: list[bytes], cut, **store_args) -> dict:
    store = PieceStore(**store_args)
    began = time.process_time()
    for body in bodies:
        store.put(pieces(body, cut(body)))
    cpu = time.process_time() - began
    read_began = time.perf_counter()
    last = store.get(len(bodies) - 1)
    read = time.perf_counter() - read_began
    assert last == bodies[-1] and all(store.get(i) == b for i, b in enumerate(bodies))
    return {"stored": store.stored, "cpu_ms": cpu * 1000 / len(bodies), "read_ms": read * 1000}


def measure_whole(bodies: list[bytes], level: int = 3) -> dict:
    compressor = zstandard.ZstdCompressor(level=level)
    began = time.process_time()
    stored = sum(len(compressor.compress(body)) for body in bodies)
    return {"stored": stored, "cpu_ms": (time.process_time() - began) * 1000 / len(bodies), "read_ms": None}


def measure_delta(bodies: list[bytes], every: int = 16, level: int = 3) -> dict:
    frames, began = [], time.process_time()
    for index, body in enumerate(bodies):
        if index % every == 0:
            frames.append(zstandard.ZstdCompressor(level=level).compress(body))
        else:
            dictionary = zstandard.ZstdCompressionDict(bodies[index - 1], dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            frames.append(zstandard.ZstdCompressor(level=level, dict_data=dictionary).compress(body))
    cpu = time.process_time() - began
    read_began = time.perf_counter()
    last = len(bodies) - 1
    text = b""
    for index in range(last - last % every, last + 1):
        if index % every == 0:
            text = zstandard.ZstdDecompressor().decompress(frames[index])
        else:
            dictionary = zstandard.ZstdCompressionDict(text, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            text = zstandard.ZstdDecompressor(dict_data=dictionary).decompress(frames[index])
    read = time.perf_counter() - read_began
    assert text == bodies[-1]
    return {"stored": sum(len(f) + ROW_BYTES for f in frames), "cpu_ms": cpu * 1000 / len(bodies),
            "read_ms": read * 1000}


def trained_dictionary(size: int = 32 * 1024) -> zstandard.ZstdCompressionDict:
    """A dictionary trained on the pieces of another session (another seed): Claude Code-shaped traffic."""
    samples = [part for call in session(60, seed=99) for part in pieces(call.request_body, json_cuts(call.request_body))
               if len(part) >= INLINE_BELOW]
    return zstandard.train_dictionary(size, samples)


def main(turns: int = 120) -> None:
    """Print the table for a `turns`-turn session."""
    bodies = [call.request_body for call in session(turns)]
    relayed = sum(len(b) for b in bodies)
    rows = {
        "whole zstd-3": measure_whole(bodies),
        "whole zstd-19": measure_whole(bodies, 19),
        "spans zstd-3": measure_pieces(bodies, json_cuts),
        "spans zstd-9": measure_pieces(bodies, json_cuts, level=9),
        "spans zstd-3 16-byte keys": measure_pieces(bodies, json_cuts, key_bytes=16),
        "spans zstd-3 + dict": measure_pieces(bodies, json_cuts, dictionary=trained_dictionary()),
        "cdc 8K zstd-3": measure_pieces(bodies, cdc_cuts),
        "delta K=16 zstd-3": measure_delta(bodies),
        "delta K=64 zstd-3": measure_delta(bodies, every=64),
    }
    print(f"{turns} turns, {relayed / 1e6:.1f} MB of request bodies relayed")
    print(f"{'design':26} {'stored/relayed':>15} {'CPU ms/record':>14} {'read last ms':>13}")
    for name, row in rows.items():
        read = f"{row['read_ms']:.2f}" if row["read_ms"] is not None else "-"
        print(f"{name:26} {row['stored'] / relayed:>14.2%} {row['cpu_ms']:>14.2f} {read:>13}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
