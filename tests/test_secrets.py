"""No credential ever reaches the database or the logs; fingerprints still tell keys apart."""
import logging

import anthropic
import requests

import models

from proxy.headers import fingerprint
from tests.records import stored_body

API_KEY = "sk-ant-api03-SECRET-KEY-aaaaaaaaaaaa"
BEARER = "sk-ant-oat01-SECRET-TOKEN-bbbbbbbbbbb"
COOKIE = "session=SECRET-COOKIE-ccccccccc"


def test_no_secret_is_stored_or_logged(live_proxy, upstream, config, records, caplog):
    caplog.set_level(logging.DEBUG)
    sdk = anthropic.Anthropic(api_key=API_KEY, base_url=live_proxy, max_retries=0)
    sdk.messages.create(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    with sdk.messages.stream(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as s:
        s.get_final_message()
    requests.post(live_proxy + "/v1/messages", timeout=10, json={"model": "m", "messages": []},
                  headers={"authorization": f"Bearer {BEARER}", "cookie": COOKIE,
                           "proxy-authorization": "Basic U0VDUkVULVBST1hZ"}).content
    requests.post(live_proxy + "/v1/messages", timeout=10, data=b"{broken",
                  headers={"x-api-key": API_KEY}).content
    rows = records()
    assert len(rows) == 4

    dump = "\n".join(str(row) for model in (models.RequestLog, models.RequestBody, models.Setting)
                     for row in model.select().tuples())
    dump += "\n".join(str(stored_body(row.request_id)) for row in models.RequestBody.select())
    # The proxy's own logs (and the SQL it logs); the SDK client logs its own headers.
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.split(".")[0] in {"proxy", "models", "api", "app", "peewee", "werkzeug"})
    assert "/v1/messages" in ours
    for secret in (API_KEY, BEARER, "SECRET-COOKIE", "U0VDUkVULVBST1hZ", "fake-cookie"):
        assert secret not in dump
        assert secret not in ours
    fingerprints = [row["api_key_fingerprint"] for row in rows]
    assert fingerprints[0] == fingerprints[1] == fingerprints[3] == fingerprint(API_KEY)
    assert fingerprints[2] == fingerprint(BEARER)
    assert f"[redacted {fingerprint(API_KEY)}]" in dump
