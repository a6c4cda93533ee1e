"""Streams over TLS: an HTTPS upstream, clients of a gunicorn serving HTTPS, and both at once.

The socket relay writes to the client's OS socket and reads the upstream's directly, except where
either is TLS: then the bytes must go through the SSL objects. A real gunicorn (--certfile), a fake
upstream serving HTTPS, certificates from a throwaway CA; the client must receive the upstream's
bytes exactly, event by event, and the record must hold them.
"""
import ssl

import pytest
import requests
import trustme

import models
from models.record_bodies import record_body
from tests.fake_upstream import FakeUpstream, Reply, message_events
from tests.gunicorn_server import GunicornServer

pytestmark = pytest.mark.sqlite_only  # the server's database is a file of this test's own


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    """A CA and a certificate for 127.0.0.1: (certificate file, key file, CA file, server context)."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(cert)
    issued.private_key_pem.write_to_path(key)
    ca.cert_pem.write_to_path(ca_file)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    return str(cert), str(key), str(ca_file), context


@pytest.mark.parametrize("client_tls, upstream_tls", [(False, True), (True, False), (True, True)],
                         ids=["https-upstream", "https-client", "both"])
def test_a_stream_over_tls_arrives_byte_for_byte_and_is_recorded(authority, tmp_path, client_tls, upstream_tls):
    cert, key, ca_file, context = authority
    upstream = FakeUpstream(tls=context if upstream_tls else None).start()
    database_url = f"sqlite:///{tmp_path / 'proxy.db'}"
    server = GunicornServer({"UPSTREAM_URL": upstream.url, "DATABASE_URL": database_url,
                             "REQUESTS_CA_BUNDLE": ca_file},  # how the proxy comes to trust the upstream
                            tls=(cert, key, ca_file) if client_tls else None).start()
    events = message_events("claude-tls", text="Over TLS, event by event: " + "é👋 " * 40)
    try:
        upstream.reply(Reply(chunks=events, content_type="text/event-stream", delay_between=0.005))
        response = requests.post(server.url + "/v1/messages", verify=ca_file, stream=True, timeout=30,
                                 headers={"x-api-key": "sk-ant-tls", "content-type": "application/json"},
                                 json={"model": "claude-tls", "max_tokens": 64, "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 200, response.text
        received = b"".join(response.iter_content(chunk_size=None))
        [row] = server.wait_for_records("original_model = ?", ("claude-tls",))
    finally:
        assert server.stop() == 0
        upstream.stop()
    assert received == b"".join(events)
    assert len(upstream.seen) == 1
    assert (row["outcome"], row["status_code"], row["output_tokens"]) == ("complete", 200, 42)
    previous = models.database.obj
    models.init_db(database_url)
    try:
        assert record_body(row["id"]).response_body.encode() == b"".join(events)
    finally:
        models.database.close()
        models.database.initialize(previous)
