"""The stack-floor layers answer the bench's request as the load client expects, and count only the
requests asked for."""
import json
import urllib.request

import pytest

from bench import stack_floor
from bench.procs import FakeUpstream, ProxyServer
from bench.workload import request_body, request_headers


@pytest.fixture(scope="module")
def upstream():
    with FakeUpstream() as server:
        yield server


def test_the_bare_flask_route_reads_the_body_and_answers_the_reply():
    seen = {}
    app = stack_floor.bare_flask()

    @app.before_request
    def _length():
        from flask import request

        seen["length"] = request.content_length

    send = stack_floor.flask_requests(app)
    assert json.loads(send())["type"] == "message"
    assert seen["length"] == len(request_body(False))


def test_the_upstream_layer_sends_the_bench_request_through_the_proxys_client(upstream):
    send = stack_floor.upstream_requests(upstream.url)
    reply = json.loads(send())
    assert reply["type"] == "message" and reply["usage"]["output_tokens"] == 540


def test_count_sends_the_warm_up_then_exactly_the_counted_requests():
    sent, built = [], []

    def send(prepared=None):
        sent.append(prepared)

    send.environ = lambda: built.append(1) or len(built)
    stack_floor.count(send, 3)
    assert sent == [None] * stack_floor.WARM_UP + [1, 2, 3]


def test_gunicorn_serves_the_bare_app_with_the_projects_settings_and_stops_on_sigterm(upstream, tmp_path):
    server = ProxyServer(upstream.url, tmp_path / "bench.db", tmp_path / "gunicorn.log",
                         app="bench.stack_floor:BareApp()")
    with server:
        request = urllib.request.Request(f"{server.url}/v1/messages?beta=true", data=request_body(False),
                                         headers=request_headers(30, 0), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["content-length"] == str(len(stack_floor.REPLY))
            assert json.loads(response.read())["type"] == "message"
    assert server.returncode == 0
    assert b"Traceback" not in (tmp_path / "gunicorn.log").read_bytes()
