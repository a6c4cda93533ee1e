"""`python -m bench.capture_export URL OUT`: a running proxy's recorded requests as a captures file.

OUT is a JSON array of the proxy's answers to GET /api/requests/<id>, each written as it came (a
stored JSON body inside it keeps its exact bytes, newlines included, which rules out one a line).
`make bench BENCH_ARGS="storage --captures OUT"` replays it (bench/captures.py reads it).
"""
import argparse
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

PAGE = 10_000  # the summary's largest page


def _get(url: str, password: str | None) -> bytes:
    request = urllib.request.Request(url)
    if password:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"export:{password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def record_ids(base_url: str, password: str | None = None, start: str | None = None,
               end: str | None = None) -> list[str]:
    """The ids of the recorded requests (between `start` and `end`, ISO 8601, when given)."""
    ids, offset, window = [], 0, {key: value for key, value in (("start", start), ("end", end)) if value}
    while True:
        query = urllib.parse.urlencode({"offset": offset, "limit": PAGE, **window})
        page = json.loads(_get(f"{base_url}/api/requests/summary?{query}", password))
        ids += [row["requestId"] for row in page["requests"]]
        offset += len(page["requests"])
        if not page["requests"] or offset >= page["total"]:
            return list(dict.fromkeys(ids))  # a record written while paging may shift one into two pages


def export(base_url: str, out: Path, password: str | None = None, start: str | None = None,
           end: str | None = None) -> int:
    """Write the records' detail answers to `out` as one JSON array; returns how many."""
    ids = record_ids(base_url.rstrip("/"), password, start, end)
    with open(out, "wb") as file:
        file.write(b"[")
        for n, record_id in enumerate(ids):
            answer = _get(f"{base_url.rstrip('/')}/api/requests/{record_id}", password)
            file.write((b",\n" if n else b"") + answer.rstrip())
        file.write(b"]\n")
    return len(ids)


def main(argv=None) -> int:
    """Parse the command line and export; a clear message, not a traceback, when the proxy cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m bench.capture_export", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the proxy, e.g. http://127.0.0.1:8000")
    parser.add_argument("out", type=Path, help="the captures file to write (a JSON array)")
    parser.add_argument("--password", help="the dashboard's password (DASHBOARD_PASSWORD), if it has one")
    parser.add_argument("--start", help="only records from this time on (ISO 8601)")
    parser.add_argument("--end", help="only records before this time (ISO 8601)")
    args = parser.parse_args(argv)
    try:
        count = export(args.url, args.out, args.password, args.start, args.end)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"capture_export: cannot export from {args.url}: {exc}", file=sys.stderr)
        return 1
    print(f"{count} recorded requests written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
