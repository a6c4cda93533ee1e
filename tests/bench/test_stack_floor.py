"""The stack-floor layers answer the bench's request as the load client expects, count only the
requests asked for, and the per-request figure leaves out what a phase costs once."""
import json
import urllib.request

import pytest

from bench import stack_floor
from bench.callgrind_suite import per_request_between
from bench.procs import FakeUpstream, ProxyServer
from bench.workload import request_body, request_headers


def test_the_bare_flask_route_reads_the_whole_body_and_answers_the_reply():
    layer = stack_floor.FlaskLayer()
    environ = layer.prepare()
    assert json.loads(layer.send(environ))["type"] == "message"
    assert environ["wsgi.input"].tell() == len(request_body(False))


def test_the_upstream_layer_sends_the_bench_request_on_one_pooled_connection():
    with FakeUpstream() as upstream:
        layer = stack_floor.UpstreamLayer(upstream.url)
        replies = [json.loads(layer.send(layer.prepare())) for _ in range(3)]
        assert [reply["usage"]["output_tokens"] for reply in replies] == [540] * 3
        assert upstream.stats()["connections"] == 1


def test_count_builds_and_warms_up_before_zeroing_and_dumps_after_the_counted_sends(monkeypatch):
    steps = []
    monkeypatch.setattr(stack_floor.valgrind, "zero_stats", lambda: steps.append("zero"))
    monkeypatch.setattr(stack_floor.valgrind, "dump_stats", lambda name: steps.append(f"dump {name}"))

    class Layer:
        built = 0

        def prepare(self):
            self.built += 1
            steps.append("build")
            return self.built

        def send(self, prepared):
            steps.append(f"send {prepared}")

    stack_floor.count(Layer(), 3)
    warm_up = [step for n in range(1, stack_floor.WARM_UP + 1) for step in ("build", f"send {n}")]
    counted = ["build"] * 3 + ["zero"] + [f"send {stack_floor.WARM_UP + n}" for n in (1, 2, 3)] + ["dump measured"]
    assert steps == warm_up + counted


def test_a_phases_one_off_cost_and_the_idle_rate_are_left_out_of_the_per_request_figure():
    per_request, per_second, once = 800_000, 200_000, 3_000_000  # once: the probe's requests, a connection
    walls = {"empty": 8.0, "longer empty": 16.0, "few": 0.5, "many": 1.4}
    counts = {"empty": 0, "longer empty": 0, "few": 10, "many": 30}
    phases = {name: per_second * walls[name] + counts[name] * per_request + once for name in walls}
    assert round(per_request_between(phases, walls, counts)) == per_request


def test_gunicorn_serves_the_bare_app_with_the_projects_settings_and_the_probe(tmp_path):
    with FakeUpstream() as upstream:
        server = ProxyServer(upstream.url, tmp_path / "bench.db", tmp_path / "gunicorn.log",
                             config="bench/callgrind_conf.py", env={"BENCH_CALLGRIND_PROBE": "1"},
                             app="bench.stack_floor:BareApp()", recording=False)
        with server:
            request = urllib.request.Request(f"{server.url}/v1/messages?beta=true", data=request_body(False),
                                             headers=request_headers(30, 0), method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["content-length"] == str(len(stack_floor.REPLY))
                assert json.loads(response.read())["type"] == "message"
            with urllib.request.urlopen(f"{server.url}/__probe/begin?stage=all&name=x", timeout=10) as response:
                assert json.loads(response.read()) == {}
            with urllib.request.urlopen(f"{server.url}/__probe/end", timeout=10) as response:
                assert "entries" in json.loads(response.read())
    assert server.returncode == 0
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in log and "Exception" not in log


@pytest.mark.parametrize("argv", [["upstream", "3"], ["nginx", "3"]])
def test_the_command_line_refuses_a_missing_url_or_an_unknown_layer(argv):
    with pytest.raises(SystemExit) as exited:
        stack_floor.main(argv)
    assert exited.value.code == 2
