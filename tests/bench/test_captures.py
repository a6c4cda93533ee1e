"""Reading a captures file (bench/captures.py): bodies as relayed, recorded order, clear errors."""
import json
import subprocess
import sys

import pytest

from bench.captures import CapturesError, read_captures
from bench.procs import ROOT

BODY = b'{"model":"claude-x",  "messages":[{"role":"user","content":"gr\xc3\xbc\xc3\x9fe\\n"}],"stream":true}'
SSE = 'event: message_start\ndata: {"type":"message_start"}\n\n'


def _answer(timestamp: str, body: bytes = BODY, sse: str = SSE, whole: bool = True) -> bytes:
    """A detail answer as the API writes it, the stored JSON body embedded as its bytes."""
    record = (b'{"timestamp":"' + timestamp.encode() + b'","headers":{"x-app":"cli"},"body":' + body
              + b',"requestBodyTruncated":false,"response":{"headers":{"request-id":"req_1"},"body":'
              + json.dumps(sse).encode() + b',"message":{"type":"message"}}}')
    return b'{"fullId":"abc","request":' + record + b"}" if whole else record


def test_an_array_is_read_oldest_first_with_the_bodies_as_relayed(tmp_path):
    path = tmp_path / "captures.json"
    later = BODY.replace(b"claude-x", b"claude-y")
    path.write_bytes(b"[" + _answer("2026-12-06T10:00:01.000Z", later) + b",\n" + _answer("2026-12-06T10:00:00.500Z")
                     + b"]")
    captures = read_captures(path)
    assert [c.request_body for c in captures.calls] == [BODY, later]
    assert captures.calls[0].response_body == SSE.encode()
    assert json.loads(captures.calls[0].request_headers) == {"x-app": "cli"}
    assert json.loads(captures.calls[0].response_message) == {"type": "message"}


def test_one_answer_a_line_and_the_bare_record_are_read_too(tmp_path):
    path = tmp_path / "captures.ndjson"
    path.write_bytes(_answer("2026-12-06T10:00:02Z", whole=False) + b"\n\n" + _answer("2026-12-06T10:00:01Z") + b"\n")
    assert [c.request_body for c in read_captures(path).calls] == [BODY, BODY]


def test_stored_text_with_a_lone_surrogate_keeps_it(tmp_path):
    path = tmp_path / "captures.ndjson"
    sse = 'data: {"text": "cut \udc80"}\n\n'  # stored as text, as records before schema 6 kept theirs
    path.write_bytes(_answer("2026-12-06T10:00:00Z", sse=sse))
    assert read_captures(path).calls[0].response_body == sse.encode("utf-8", "surrogatepass")


def test_records_without_a_request_body_are_counted_not_replayed(tmp_path):
    path = tmp_path / "captures.ndjson"
    path.write_bytes(_answer("2026-12-06T10:00:00Z", body=b'""') + b"\n" + _answer("2026-12-06T10:00:01Z"))
    captures = read_captures(path)
    assert (len(captures.calls), captures.without_body) == (1, 1)


@pytest.mark.parametrize("content, message", [
    (b"", "holds no recorded requests"),
    (_answer("2026-12-06T10:00:00Z") + b"\n{not json\n", "line 2: not JSON"),
    (b'{"request": {"body": {}}}\n', "line 1: not a recorded request as GET /api/requests/<id> answers it"),
    (_answer("yesterday") + b"\n", "line 1: timestamp is not ISO 8601"),
    (b"[" + _answer("2026-12-06T10:00:00Z"), "starts as a JSON array but is not one"),
    (b"[1]", "item 1: not a recorded request"),
    (_answer("2026-12-06T10:00:00Z", body=b"null") + b"\n", "none of its 1 records kept its request body"),
])
def test_a_malformed_file_says_where_and_why(tmp_path, content, message):
    path = tmp_path / "captures.ndjson"
    path.write_bytes(content)
    with pytest.raises(CapturesError) as raised:
        read_captures(path)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(CapturesError, match="cannot read it"):
        read_captures(tmp_path / "nowhere.json")


def test_the_storage_suite_refuses_a_malformed_file_before_measuring_without_a_traceback(tmp_path):
    path = tmp_path / "captures.ndjson"
    path.write_bytes(b"{not json\n")
    run = subprocess.run([sys.executable, "-m", "bench", "storage", "--captures", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert f"storage: {path} line 1: not JSON" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == ""  # nothing measured


def test_captures_belong_to_the_storage_suite(tmp_path):
    run = subprocess.run([sys.executable, "-m", "bench", "proxy", "--captures", str(tmp_path / "c.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--captures is an option of the storage suite" in run.stderr
