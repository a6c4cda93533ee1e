"""The stack's own cost per non-streaming request: gunicorn, Flask and the upstream client by
themselves, counted under callgrind (bench.callgrind_suite's `stack` target), to set the proxy's
per-request figure against what its fixed layers cost with none of its own work in them.

  gunicorn  `BareApp` in a gevent worker with the project's gunicorn.conf.py (its header deadline,
            its settings kept as attributes, gc.freeze): reads the body and answers the reply the
            fake upstream sends. Driven over HTTP by the load client, as the proxy is.
  flask     `FlaskLayer`: a Flask app with one blueprint route that does what any proxy view must
            (read the body, list the headers) and answers the same reply; called in-process.
  upstream  `UpstreamLayer`: the proxy's upstream client (proxy/upstream/client.py over requests'
            adapter, urllib3's pool and http.client) sending the bench's request to the fake
            upstream and reading its reply; in-process.

The in-process two run as `python -m bench.stack_floor flask|upstream COUNT [--upstream URL]` under
valgrind: after a warm-up, COUNT requests are counted in one dump named "measured".
"""
from gevent import monkey

if __name__ == "__main__":
    monkey.patch_all()  # as gunicorn's gevent worker does, before anything imports socket

import argparse  # noqa: E402
import gc  # noqa: E402
import sys  # noqa: E402

from bench import valgrind_requests as valgrind  # noqa: E402
from bench.workload import message_json, request_body, request_headers  # noqa: E402

MEASURED = "measured"
WARM_UP = 20
REPLY = message_json()


class BareApp:
    """A WSGI app that reads the request body and answers the bench's Messages reply."""

    def __init__(self):
        from proxy.runtime.drain import Drain
        from proxy.runtime.traffic import Traffic

        # gunicorn.conf.py's post_worker_init hands SIGTERM to the app's drain.
        self.extensions = {"drain": Drain(Traffic(), delay=0.0, timeout=5.0)}

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(REPLY)))])
        return [REPLY]


class FlaskLayer:
    """A bare Flask app, one blueprint route, sent the bench's request through WSGI."""

    def __init__(self):
        from flask import Blueprint, Flask, Response, request

        messages = Blueprint("messages", __name__)

        @messages.post("/v1/messages")
        def create_message():
            request.environ["wsgi.input"].read(request.content_length or 0)
            list(request.headers.items())
            return Response(REPLY, content_type="application/json")

        self.app = Flask(__name__)
        self.app.register_blueprint(messages)
        self.body, self.headers = request_body(False), request_headers(30, 0)

    def prepare(self) -> dict:
        """A fresh WSGI environ of the bench's request (a body stream can be read once)."""
        from werkzeug.test import EnvironBuilder

        return EnvironBuilder(path="/v1/messages", query_string="beta=true", method="POST", data=self.body,
                              headers=self.headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def send(self, environ: dict) -> bytes:
        """The app's whole response body to `environ`."""
        response = self.app(environ, lambda status, headers, exc_info=None: None)
        try:
            return b"".join(response)
        finally:
            response.close()


class UpstreamLayer:
    """The proxy's upstream client, sending the bench's request and reading the reply."""

    def __init__(self, upstream_url: str):
        from proxy.upstream.client import UpstreamClient

        self.client = UpstreamClient(upstream_url, 5, 60)
        self.headers = list(request_headers(30, 0).items())
        self.body = request_body(False)

    def prepare(self) -> bytes:
        """The request body (the same bytes every time: nothing to build per request)."""
        return self.body

    def send(self, body: bytes) -> bytes:
        """The upstream's whole reply body to `body`."""
        response = self.client.send("POST", "/v1/messages", "beta=true", self.headers, body)
        try:
            return response.raw.read()
        finally:
            response.close()


def count(layer, requests: int) -> None:
    """Warm up, then dump the instructions of `requests` sends as one profile (building them not counted)."""
    for _ in range(WARM_UP):
        layer.send(layer.prepare())
    prepared = [layer.prepare() for _ in range(requests)]
    gc.freeze()  # as gunicorn.conf.py's post_worker_init does in a worker, with its threshold
    gc.set_threshold(*gc.get_threshold()[:2], 100)
    valgrind.zero_stats()
    for one in prepared:
        layer.send(one)
    valgrind.dump_stats(MEASURED)


def main(argv: list[str]) -> None:
    """`flask|upstream COUNT [--upstream URL]`: count that layer's requests."""
    parser = argparse.ArgumentParser(prog="python -m bench.stack_floor")
    parser.add_argument("layer", choices=("flask", "upstream"))
    parser.add_argument("count", type=int)
    parser.add_argument("--upstream", help="the fake upstream's URL (the upstream layer)")
    args = parser.parse_args(argv)
    if args.layer == "upstream" and not args.upstream:
        parser.error("the upstream layer needs --upstream URL")
    count(FlaskLayer() if args.layer == "flask" else UpstreamLayer(args.upstream), args.count)


if __name__ == "__main__":
    main(sys.argv[1:])
