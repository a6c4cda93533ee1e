"""The gate for where a request may go: only an origin-form target under /v1/ is relayed.

Pure: takes the WSGI environ's strings, returns the raw path to send upstream or the reason to
refuse. A target that is not origin-form (`http://host/...`, `host:port`, `*`, `v1%2F@host/x`)
once reached another host: werkzeug routed its decoded path while the raw one was sent.
"""
from urllib.parse import quote, unquote

API_PREFIX = "/v1/"
ORIGIN_FORM_ONLY = "the request target must be a path starting with / (origin-form), not a URL or a host"


class InvalidTarget(ValueError):
    """The request target may not be relayed: `title` names the problem, the message says why."""

    def __init__(self, title: str, details: str):
        super().__init__(details)
        self.title = title


def raw_target(environ) -> str:
    """The request target (path and query) exactly as the client sent it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw.split("#", 1)[0]  # a fragment is the client's own; it never goes upstream
    # A server that keeps no raw target (a WSGI test harness): the decoded path, quoted again.
    query = environ.get("QUERY_STRING")
    path = quote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"))
    return f"{path}?{query}" if query else path


def is_origin_form(target: str) -> bool:
    """True for `/path?query`, the only form a client talking to this server (not through it) sends."""
    return target.startswith("/") and not target.startswith("//")


def aims_at_api(target: str, decoded_path: str) -> bool:
    """True when the raw or the decoded path is under /v1/: the proxy's to check and record."""
    return target.startswith(API_PREFIX) or decoded_path.startswith(API_PREFIX)


def upstream_path(target: str, decoded_path: str) -> str:
    """The raw path to send upstream, or InvalidTarget: origin-form, under /v1/ both as sent and as
    decoded, no `.` or `..` segment, no backslash (some servers read it as a separator)."""
    if not is_origin_form(target):
        raise InvalidTarget("Invalid request target", ORIGIN_FORM_ONLY)
    path = target.split("?", 1)[0]
    if not (path.startswith(API_PREFIX) and decoded_path.startswith(API_PREFIX)):
        raise InvalidTarget("Invalid path", "the path must start with /v1/ as sent, not only once decoded")
    for form in (path, unquote(path), decoded_path):
        if "\\" in form:
            raise InvalidTarget("Invalid path", "paths may not contain backslashes")
        if any(segment in (".", "..") for segment in form.split("/")):
            raise InvalidTarget("Invalid path", "paths may not contain . or .. segments")
    return path
