"""Every body a real server recorded reads back as the bytes the client sent and the upstream answered.

The real server (gunicorn, gevent workers, the native writer) on SQLite or Postgres (TEST_DATABASE),
Claude Code-shaped conversations growing turn by turn through the official SDK, streamed and not,
and bodies that are not UTF-8 at all.
"""
import json

import anthropic
import requests

import models
from bench.claude_session import session
from models.record_bodies import record_body
from tests.fake_upstream import Reply, session_reply
from tests.gunicorn_server import GunicornServer

TURNS = 14  # per conversation; two conversations, one streamed, one not, and the odd bodies


def _sdk(url: str, sent: dict) -> anthropic.Anthropic:
    """An SDK client that keeps the bytes of each request it sends, by the model it names."""
    def keep(request) -> None:
        sent[json.loads(request.content)["model"]] = request.content
    return anthropic.Anthropic(api_key="sk-ant-exact", base_url=url, max_retries=0,
                               http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [keep]}))


def _conversation(sdk, upstream, tag: str, stream: bool, answered: dict) -> None:
    """A growing Claude Code conversation; the fake upstream answers each call with the session's reply."""
    for turn, call in enumerate(session(TURNS, seed=11 if stream else 12)):
        body = json.loads(call.request_body)
        model = f"claude-exact-{tag}-{turn:02d}"
        reply = session_reply(call, stream)
        upstream.reply(reply)
        answered[model] = b"".join(reply.chunks)
        extra = {key: body[key] for key in ("metadata", "thinking") if key in body}
        reply = sdk.messages.create(model=model, max_tokens=body["max_tokens"] if stream else 4096, system=body["system"],
                                    tools=body["tools"], messages=body["messages"], stream=stream, extra_body=extra)
        if stream:
            assert [event.type for event in reply][-1] == "message_stop"


def _odd_bodies(url: str, upstream, sent: dict, answered: dict) -> None:
    """Bodies that are not UTF-8 (a binary upload, latin-1 answers) and a NUL escaped in JSON."""
    odd = {"/v1/files": b"PK\x03\x04\x00\xff\xfe binary \x80\x81",
           "/v1/messages/count_tokens": '{"model": "m", "messages": [{"role": "user", "content": "nul \\u0000 é"}]}'.encode()}
    for path, data in odd.items():
        answer = b'{"id": "file_1", "note": "latin-1 \xe9\xe8 and \x00"}'
        upstream.reply(Reply(chunks=[answer], content_type="application/octet-stream", framing="length"))
        response = requests.post(url + path, data=data, timeout=10,
                                 headers={"x-api-key": "sk-ant-exact", "content-type": "application/octet-stream"})
        assert response.content == answer
        sent[path], answered[path] = data, answer


def test_every_recorded_body_reads_back_byte_for_byte(database_url, _upstream_server, upstream):
    workers = 1 if database_url.startswith("sqlite") else 2
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": database_url},
                            workers=workers).start()
    sent, answered = {}, {}
    try:
        sdk = _sdk(server.url, sent)
        _conversation(sdk, upstream, "s", True, answered)
        _conversation(sdk, upstream, "n", False, answered)
        sdk.close()
        _odd_bodies(server.url, upstream, sent, answered)
    finally:
        assert server.stop() == 0  # every queued record is written before the workers exit
    assert [seen.body for seen in upstream.seen] == list(sent.values()), "relayed to the upstream unchanged"
    previous = models.database.obj
    models.init_db(database_url)
    try:
        rows = {row.original_model if row.endpoint == "/v1/messages" else row.endpoint: row.id
                for row in models.RequestLog.select()}
        assert len(rows) == len(sent) == 2 * TURNS + 2
        for name, record_id in rows.items():
            body = record_body(record_id)
            assert body.raw["request_body"] == sent[name], name
            assert body.raw["response_body"] == answered[name], name
    finally:
        models.database.close()
        models.database.initialize(previous)
