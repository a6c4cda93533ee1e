"""gunicorn settings. Imports nothing of the app: the gevent worker patches the standard library
before loading it, and anything imported here (peewee, requests) would miss the patch."""
import gc
import os
import shutil
import signal
import socket
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '3001')}"
worker_class = "gevent"
# One worker suits SQLite (two writers on one file slow every stream); use Postgres for more.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "1000"))
preload_app = False
# gevent's default resolver runs getaddrinfo in a thread that waits for the GIL while the worker
# is busy, so under load each new upstream connection waited for it. The proxy resolves a
# few upstream hosts, rarely (proxy.upstream.address_cache remembers them and renews them off the hub), so
# resolving inline is cheaper.
os.environ.setdefault("GEVENT_RESOLVER", "block")
# Every worker writes its metrics to this folder and /metrics adds them up (prometheus-client's
# multiprocess mode); a fresh folder per server start, so no figures of a previous run linger.
_METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="ccp-metrics-"))
# Routers keep idle connections open for 90 s or more; gunicorn's default of 2 s would drop them.
keepalive = 95
# gevent workers notify the arbiter from their own loop, so long streams never hit this timeout.
timeout = 30
graceful_timeout = int(os.environ.get("DRAIN_TIMEOUT", "25")) + 5
# gunicorn 27's control socket lives at one fixed path per user; several instances would collide.
control_socket_disable = True
accesslog = "-" if os.environ.get("ACCESS_LOG") else None
# gunicorn's default format has the Basic-auth user (%(u)s), and all of a Basic value without a
# colon: a credential in the log. The same line without it.
access_log_format = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
# Seconds a client has, from its request's first byte, to send the request line and headers. The
# idle wait between two requests of a keep-alive connection stays `keepalive`.
CLIENT_HEADER_TIMEOUT = float(os.environ.get("CLIENT_HEADER_TIMEOUT") or 10)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def when_ready(server):
    """Warn when the dashboard is reachable beyond this machine without a password."""
    # The addresses actually bound (a --bind on the command line overrides HOST).
    exposed = [address for address in server.cfg.bind
               if address.rsplit(":", 1)[0].strip("[]") not in ("127.0.0.1", "localhost", "::1")]
    if exposed and not os.environ.get("DASHBOARD_PASSWORD"):
        server.log.warning("listening on %s without DASHBOARD_PASSWORD: the dashboard answers only "
                           "to localhost until you set one.", ", ".join(exposed))


def child_exit(server, worker):
    """Forget a dead worker's live gauges (in flight, record backlog)."""
    from prometheus_client import multiprocess  # in the master, after the workers forked

    multiprocess.mark_process_dead(worker.pid, _METRICS_DIR)


def on_exit(server):
    """Remove the metrics folder this server made."""
    if _METRICS_DIR.startswith(tempfile.gettempdir()) and "ccp-metrics-" in _METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)


def post_worker_init(worker):
    """Freeze the loaded app out of the garbage collector's sight; take over SIGTERM for the drain."""
    # A full collection walks every tracked object, the loaded app's included, and stalls every
    # stream of the worker meanwhile. Objects that live as long as the worker never become
    # garbage; frozen, they are skipped.
    gc.freeze()
    # A full collection still walks every open stream's objects, a stall of every stream. The
    # streams make little cyclic garbage, so full collections may wait for 100 younger ones
    # instead of 10.
    gc.set_threshold(*gc.get_threshold()[:2], 100)
    _settings_as_attributes(worker.cfg)
    _bound_header_time(CLIENT_HEADER_TIMEOUT)
    _take_over_sigterm(worker)


def _settings_as_attributes(cfg):
    """Each setting's value kept on the worker's config object, where an attribute lookup finds it.

    gunicorn reads its settings (`cfg.strip_header_spaces`...) through `Config.__getattr__`, which
    runs only once the ordinary lookup has failed and built an AttributeError: dozens of times a
    request, in its request parser and response writer. A worker's settings never change (a reload
    starts new workers); names the class defines itself (properties such as `is_ssl`) are left alone.
    """
    for name, setting in cfg.settings.items():
        if not hasattr(type(cfg), name):
            cfg.__dict__[name] = setting.get()  # Config.__setattr__ refuses setting names


def _bound_header_time(seconds):
    """A request whose head takes longer than `seconds` from its first byte ends its connection.

    gunicorn bounds only the whole wait for a request (keepalive, 95 s), so a client sending a
    byte every few seconds held a connection that long: this sets the deadline from the first byte.
    """
    import gevent  # in the worker, after its monkey-patching
    from gunicorn.http.parser import RequestParser

    request_class = RequestParser.mesg_class

    class DeadlineRequest(request_class):
        def __init__(self, cfg, unreader, *args, **kwargs):
            first = unreader.read(1)  # idle until the request begins, as long as keepalive allows
            unreader.unread(first)
            if b"\r\n\r\n" in unreader.buf.getvalue():
                # The whole head came with the first read: parsing it cannot wait on the client,
                # and a timer armed and cancelled for nothing was dear per request.
                super().__init__(cfg, unreader, *args, **kwargs)
                return
            try:
                with gevent.Timeout(seconds):
                    super().__init__(cfg, unreader, *args, **kwargs)
            except gevent.Timeout:
                raise StopIteration("request head not received within CLIENT_HEADER_TIMEOUT") from None

    RequestParser.mesg_class = DeadlineRequest


def _take_over_sigterm(worker):
    """SIGTERM starts the app's drain: /health says 503 at once, new requests are served for
    DRAIN_DELAY, then gunicorn stops accepting; idle keep-alive connections are closed so they do
    not hold the worker until graceful_timeout; streams left near DRAIN_TIMEOUT are cut by the app."""
    drain = worker.wsgi.extensions["drain"]
    busy = {}  # client socket -> serving a request right now?
    handle, handle_request = worker.handle, worker.handle_request

    def tracked_handle(listener, client, addr):
        busy[client] = False
        try:
            handle(listener, client, addr)
        finally:
            busy.pop(client, None)

    def tracked_handle_request(listener_name, req, client, addr):
        busy[client] = True
        try:
            return handle_request(listener_name, req, client, addr)
        finally:
            if client in busy:
                busy[client] = False

    def stop_accepting():
        worker.alive = False  # what gunicorn's own SIGTERM handler does; busy connections close after
        for client, serving in list(busy.items()):
            if not serving:
                try:
                    # The real socket's shutdown: its reader wakes to a clean end of stream, where
                    # gevent's own would cancel the wait with an error gunicorn logs as a traceback.
                    getattr(client, "_sock", client).shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    worker.handle, worker.handle_request = tracked_handle, tracked_handle_request
    import gevent  # in the worker, long after its monkey-patching: fine here, unlike at the top

    # Signal handlers run inside the event loop, where nothing may block: start the drain in a
    # greenlet, as gunicorn's own gevent worker does for SIGQUIT.
    signal.signal(signal.SIGTERM, lambda signum, frame: gevent.spawn(drain.begin, stop_accepting))


def worker_exit(server, worker):
    """Write every queued record before the worker exits."""
    service = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("proxy")
    if service is not None:
        service.close(timeout=3)
