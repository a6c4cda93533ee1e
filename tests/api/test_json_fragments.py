"""Stored JSON embedded as it is in the detail answer: callers read the same values as when it was
parsed and encoded again, and anything json.loads reads differently takes that slower way."""
import json

import pytest

import models
from api.json_fragments import fragment
from tests.records import body_row, log_row

BODIES = [
    '{"model": "m", "messages": [{"role": "user", "content": "h\\u00e9 \\"quoted\\" \\\\ é 👋"}], "n": 1.50}',
    '  {"b": [1, -0, 1e400, 123456789012345678901234567890], "a": {"z": null, "y": true}}\n',
    '{"a": 1, "a": 2}',              # json.loads keeps the last value, as callers' parsers do
    '[NaN, Infinity]',               # only json.loads takes these: parsed and encoded again
    '{"a": "\\ud800"}',              # a lone surrogate escape: the same
    '\ufeff{"a": 1}',                # a BOM: the text, as before
    'event: ping\ndata: {}\n\n',     # not JSON: the text
    '{"a": ',                        # cut JSON: the text
    '',
]


def expected(text: str):
    """What the detail answer held when every stored text was parsed and encoded again."""
    try:
        return json.loads(json.dumps(json.loads(text))) if text else text
    except ValueError:
        return text


@pytest.mark.parametrize("text", BODIES)
def test_the_detail_answer_reads_as_if_the_body_were_parsed_and_encoded_again(client, text):
    models.save_records([log_row("r1")], [body_row("r1", request_body=text, response_body=text,
                                                   response_message=text or None)])
    answer = json.loads(client.get("/api/requests/r1").data)["request"]  # json.loads reads NaN too
    assert answer["body"] == answer["response"]["body"] == expected(text)
    assert answer["requestId"] == "r1" and answer["response"]["outcome"] == "complete"


def test_bytes_that_are_not_utf8_are_read_as_text_with_replacement_characters(client):
    models.save_records([log_row("r1")], [body_row("r1", request_body=b'{"a": "\xff\xfe"}')])
    assert client.get("/api/requests/r1").json["request"]["body"] == {"a": "\ufffd\ufffd"}


def test_only_json_that_json_loads_reads_the_same_way_is_embedded():
    assert fragment(b'{"a": [1, 2]}') is not None
    assert fragment(b'[NaN]') is None and fragment(b'"\\ud800"') is None and fragment(b'"\xff"') is None
    assert fragment(b"[" * 257 + b"]" * 257) is None and fragment(b"[" * 256 + b"]" * 256) is not None
