"""The stack's own cost per non-streaming request: gunicorn, Flask and requests with nothing of the
proxy in them, counted under callgrind (bench.callgrind_suite's `stack` target), to set the proxy's
per-request figure against what its fixed layers cost by themselves.

  gunicorn  `BareApp` in a gevent worker with the project's gunicorn.conf.py (its header deadline,
            its settings kept as attributes, gc.freeze): reads the body and answers the reply the
            fake upstream sends. Driven over HTTP by the load client, as the proxy is.
  flask     a Flask app with one blueprint route that does what any proxy view must (read the
            body, list the headers) and answers the same reply; called in-process.
  requests  the proxy's own upstream client (requests' adapter, urllib3's pool, http.client) sending
            the bench's request to the fake upstream and reading its reply; in-process.

The in-process two run as `python -m bench.stack_floor flask|requests UPSTREAM_URL COUNT` under
valgrind: after a warm-up, COUNT requests are counted in one dump named "measured".
"""
from gevent import monkey

if __name__ == "__main__":
    monkey.patch_all()  # as gunicorn's gevent worker does, before anything imports socket

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


def bare_flask():
    """A Flask app whose one blueprint route reads the body and the headers and answers the reply."""
    from flask import Blueprint, Flask, Response, request

    messages = Blueprint("messages", __name__)

    @messages.post("/v1/messages")
    def create_message():
        request.environ["wsgi.input"].read(request.content_length or 0)
        list(request.headers.items())
        return Response(REPLY, content_type="application/json")

    app = Flask(__name__)
    app.register_blueprint(messages)
    return app


def flask_requests(app):
    """A function that sends one bench request to `app` through WSGI and reads the response."""
    from werkzeug.test import EnvironBuilder

    body, headers = request_body(False), request_headers(30, 0)

    def environ():
        return EnvironBuilder(path="/v1/messages", query_string="beta=true", method="POST", data=body,
                              headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def send(prepared=None):
        response = app(prepared or environ(), lambda status, response_headers, exc_info=None: None)
        try:
            return b"".join(response)
        finally:
            getattr(response, "close", lambda: None)()

    send.environ = environ
    return send


def upstream_requests(upstream_url: str):
    """A function that sends one bench request upstream through the proxy's client and reads the reply."""
    from proxy.upstream.client import UpstreamClient

    client = UpstreamClient(upstream_url, 5, 60)
    body, headers = request_body(False), list(request_headers(30, 0).items())

    def send(prepared=None):
        response = client.send("POST", "/v1/messages", "beta=true", headers, body)
        try:
            return response.raw.read()
        finally:
            response.close()

    send.environ = lambda: None
    return send


def count(send, requests: int) -> None:
    """Warm up, then dump the instructions of `requests` sends as one profile."""
    for _ in range(WARM_UP):
        send()
    prepared = [send.environ() for _ in range(requests)]  # building a request is not counted
    valgrind.zero_stats()
    for one in prepared:
        send(one)
    valgrind.dump_stats(MEASURED)


def main(argv: list[str]) -> None:
    """`flask|requests UPSTREAM_URL COUNT`: count that layer's requests."""
    layer, upstream_url, requests = argv[0], argv[1], int(argv[2])
    send = flask_requests(bare_flask()) if layer == "flask" else upstream_requests(upstream_url)
    count(send, requests)


if __name__ == "__main__":
    main(sys.argv[1:])
